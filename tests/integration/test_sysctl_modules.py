# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ephemeral_range and reserved_ports through ansible-playbook on a real
kernel: each test host is a fresh network namespace with private, empty
sysctl.d directories."""

from __future__ import annotations

import pytest

RANGE = 'net.ipv4.ip_local_port_range'
RESERVED = 'net.ipv4.ip_local_reserved_ports'
DROPIN = '/etc/sysctl.d/90-portwarden.conf'


def kernel_range(host):
    return tuple(int(x) for x in host.sysctl(RANGE).split())


def four_steps(host, module, args):
    """check predicts a change, apply changes, check predicts none, apply changes nothing."""
    results = []
    for check in (True, False, True, False):
        result = host.module(module, args, check=check)
        assert result['rc'] == 0, result
        results.append(result)
    assert [r['changed'] for r in results] == [True, True, False, False]
    return results


def test_ephemeral_range_four_steps_and_dropin(nshost):
    assert kernel_range(nshost) == (32768, 60999)
    nshost.write_file(DROPIN, '# site settings\nvm.swappiness = 10\n')
    args = {'start': 40000, 'end': 50001}

    check = nshost.module('portwarden.ports.ephemeral_range', args, check=True)
    assert check['changed'] and check['rc'] == 0
    assert check['after'] == {'start': 40000, 'end': 50001, 'size': 10002}
    assert kernel_range(nshost) == (32768, 60999), 'check mode changed the kernel'
    assert nshost.read_file(DROPIN) == '# site settings\nvm.swappiness = 10\n', 'check mode changed the file'

    results = four_steps(nshost, 'portwarden.ports.ephemeral_range', args)
    assert kernel_range(nshost) == (40000, 50001)
    assert nshost.read_file(DROPIN) == ('# site settings\nvm.swappiness = 10\n'
                                        'net.ipv4.ip_local_port_range = 40000 50001\n')
    applied = results[1]
    assert applied['before'] == {'start': 32768, 'end': 60999, 'size': 28232}
    assert applied['sysctl_file'] == DROPIN
    assert applied.get('warnings', []) == []
    diff = applied['diff']
    assert diff[0]['before'] == '32768 60999\n' and diff[0]['after'] == '40000 50001\n'
    assert diff[1]['after'].endswith('net.ipv4.ip_local_port_range = 40000 50001\n')


def test_ephemeral_range_with_reserve_sets_both_keys_in_one_task(nshost):
    nshost.set_sysctl(RESERVED, '22')
    nshost.write_file(DROPIN, '# site settings\nvm.swappiness = 10\n')
    args = {'start': 40000, 'end': 50001, 'reserve': ['45000', '9100-9101']}

    check = nshost.module('portwarden.ports.ephemeral_range', args, check=True)
    assert check['changed'] and check['rc'] == 0
    assert check['reserved'] == {'before': {'ports': '22', 'list': [22]},
                                 'after': {'ports': '22,9100-9101,45000', 'list': [22, '9100-9101', 45000]},
                                 'added': ['9100-9101', 45000], 'changed': True}
    assert kernel_range(nshost) == (32768, 60999) and nshost.sysctl(RESERVED) == '22', 'check mode changed the kernel'
    assert nshost.read_file(DROPIN) == '# site settings\nvm.swappiness = 10\n', 'check mode changed the file'

    results = four_steps(nshost, 'portwarden.ports.ephemeral_range', args)
    assert kernel_range(nshost) == (40000, 50001)
    assert nshost.sysctl(RESERVED) == '22,9100-9101,45000'
    final = nshost.read_file(DROPIN)
    assert final == ('# site settings\nvm.swappiness = 10\n'
                     'net.ipv4.ip_local_reserved_ports = 22,9100-9101,45000\n'
                     'net.ipv4.ip_local_port_range = 40000 50001\n')
    # The check predicted the same diff as the apply made: both runtime values, then the drop-in once, whole.
    applied = results[1]
    assert check['diff'] == applied['diff']
    assert [d['before_header'] for d in applied['diff']] == [RESERVED + ' (runtime)', RANGE + ' (runtime)', DROPIN]
    assert applied['diff'][2]['before'] == '# site settings\nvm.swappiness = 10\n' and applied['diff'][2]['after'] == final
    assert not results[3]['reserved']['changed'] and results[3]['reserved']['added'] == []

    # Only the reservations differ (the range is right): still one task, a change, and the range untouched.
    nshost.set_sysctl(RESERVED, '22')
    again = four_steps(nshost, 'portwarden.ports.ephemeral_range', args)
    assert again[1]['reserved']['added'] == ['9100-9101', 45000]
    assert again[1]['before'] == again[1]['after'] == {'start': 40000, 'end': 50001, 'size': 10002}
    assert nshost.sysctl(RESERVED) == '22,9100-9101,45000'


def test_ephemeral_range_runtime_only(nshost):
    four_steps(nshost, 'portwarden.ports.ephemeral_range', {'start': 20000, 'end': 29999, 'persist': False})
    assert kernel_range(nshost) == (20000, 29999)
    assert nshost.ls('/etc/sysctl.d') == []


def test_reserved_ports_canonical_idempotence(nshost):
    four_steps(nshost, 'portwarden.ports.reserved_ports', {'ports': '9100,8080-8081'})
    assert nshost.sysctl(RESERVED) == '8080-8081,9100'
    assert 'net.ipv4.ip_local_reserved_ports = 8080-8081,9100\n' in nshost.read_file(DROPIN)
    # The same ports in another order and grouping: nothing to do.
    for ports in (['8081', '9100', '8080'], [9100, '8080-8081'], '8080,8081,9100'):
        again = nshost.module('portwarden.ports.reserved_ports', {'ports': ports})
        assert again['rc'] == 0 and not again['changed'], ports


def test_reserved_ports_absent_and_exact(nshost):
    nshost.set_sysctl(RESERVED, '22,8080-8090')
    absent = four_steps(nshost, 'portwarden.ports.reserved_ports', {'ports': ['8085'], 'state': 'absent'})
    assert absent[1]['removed'] == [8085] and absent[1]['added'] == []
    assert nshost.sysctl(RESERVED) == '22,8080-8084,8086-8090'
    exact = four_steps(nshost, 'portwarden.ports.reserved_ports', {'ports': [443, '9000-9001'], 'state': 'exact'})
    assert exact[1]['after']['ports'] == '443,9000-9001'
    assert nshost.sysctl(RESERVED) == '443,9000-9001'
    four_steps(nshost, 'portwarden.ports.reserved_ports', {'ports': [], 'state': 'exact'})
    assert nshost.sysctl(RESERVED) == ''
    assert 'net.ipv4.ip_local_reserved_ports = \n' in nshost.read_file(DROPIN)


def test_both_modules_share_the_dropin(nshost):
    nshost.module('portwarden.ports.ephemeral_range', {'start': 40000, 'end': 59999})
    nshost.module('portwarden.ports.reserved_ports', {'ports': [45000]})
    content = nshost.read_file(DROPIN)
    assert 'net.ipv4.ip_local_port_range = 40000 59999\n' in content
    assert 'net.ipv4.ip_local_reserved_ports = 45000\n' in content


@pytest.mark.parametrize('module, args, fragment', [
    ('ephemeral_range', {'start': 50000, 'end': 40000}, 'start 50000 is greater than end 40000'),
    ('ephemeral_range', {'start': 0, 'end': 40000}, 'Invalid start 0'),
    ('ephemeral_range', {'start': 40000, 'end': 65536}, 'Invalid end 65536'),
    ('ephemeral_range', {'start': 1000, 'end': 40000}, 'below net.ipv4.ip_unprivileged_port_start (1024)'),
    ('ephemeral_range', {'start': 40000, 'end': 50001, 'protocol': 'udp'}, 'Linux has one ephemeral range'),
    ('ephemeral_range', {'start': 'many', 'end': 50001}, "'many'"),
    ('ephemeral_range', {'start': 40000, 'end': 50001, 'reserve': ['45000', '70000']}, "Invalid port '70000'"),
    ('ephemeral_range', {'start': 50001, 'end': 40000, 'reserve': ['45000']}, 'start 50001 is greater than end 40000'),
    ('reserved_ports', {'ports': ['22', '70000']}, "Invalid port '70000'"),
    ('reserved_ports', {'ports': ['10-5']}, "'10-5'"),
    ('reserved_ports', {'ports': ['22;reboot']}, "'22;reboot'"),
    ('reserved_ports', {'ports': [22], 'state': 'gone'}, 'gone'),
])
def test_bad_input_fails_and_changes_nothing(nshost, module, args, fragment):
    result = nshost.module('portwarden.ports.' + module, args)
    assert result['rc'] != 0 and result.get('failed')
    assert fragment in result['msg']
    assert 'Traceback (most recent call last)' not in str(result)
    assert kernel_range(nshost) == (32768, 60999)
    assert nshost.sysctl(RESERVED) == ''
    assert nshost.ls('/etc/sysctl.d') == []


def test_start_below_raised_unprivileged_port_start(nshost):
    nshost.set_sysctl('net.ipv4.ip_unprivileged_port_start', '2000')
    result = nshost.module('portwarden.ports.ephemeral_range', {'start': 1500, 'end': 40000})
    assert result.get('failed') and 'ip_unprivileged_port_start (2000)' in result['msg']
    assert kernel_range(nshost) == (32768, 60999)


def test_warnings_parity_and_later_boot_file(nshost):
    nshost.write_file('/usr/lib/sysctl.d/99-vendor.conf', 'net.ipv4.ip_local_port_range = 1024 65000\n')
    nshost.write_file('/etc/sysctl.conf', 'net.ipv4.ip_local_port_range = 2000 3001\n')
    result = nshost.module('portwarden.ports.ephemeral_range', {'start': 40000, 'end': 50000})
    assert result['changed'] and result['rc'] == 0
    warnings = ' '.join(result['warnings'])
    assert 'same parity' in warnings
    assert '/usr/lib/sysctl.d/99-vendor.conf sets net.ipv4.ip_local_port_range = 1024 65000' in warnings
    assert '/etc/sysctl.conf sets net.ipv4.ip_local_port_range' in warnings


def test_persisted_dropin_loads_in_a_fresh_namespace(nshost_factory):
    first = nshost_factory()
    first.module('portwarden.ports.ephemeral_range', {'start': 41000, 'end': 51001})
    first.module('portwarden.ports.reserved_ports', {'ports': ['9100', '45000-45010']})
    content = first.read_file(DROPIN)

    second = nshost_factory()
    second.write_file('/tmp/pw-loaded.conf', content)
    assert kernel_range(second) == (32768, 60999)
    second.run(['sysctl', '-q', '-p', '/tmp/pw-loaded.conf'])
    assert kernel_range(second) == (41000, 51001)
    assert second.sysctl(RESERVED) == '9100,45000-45010'
    # ... and the modules see nothing to do there.
    assert not second.module('portwarden.ports.ephemeral_range', {'start': 41000, 'end': 51001, 'persist': False})['changed']
    assert not second.module('portwarden.ports.reserved_ports', {'ports': '45000-45010,9100', 'persist': False})['changed']


def test_warns_about_listeners_the_new_range_covers(nshost):
    import subprocess
    import sys
    server = subprocess.Popen(nshost.nsenter() + [sys.executable, '-c', (
        'import socket, sys, time\n'
        'socks = []\n'
        'for port in (45000, 45001):\n'
        '    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n'
        '    s.bind(("127.0.0.1", port)); s.listen(); socks.append(s)\n'
        'print("up", flush=True); time.sleep(60)\n')], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == 'up'
        nshost.set_sysctl(RESERVED, '45001')
        result = nshost.module('portwarden.ports.ephemeral_range', {'start': 40000, 'end': 50001, 'persist': False})
        assert result['changed'] and result['rc'] == 0
        covered = [w for w in result['warnings'] if 'covers port(s)' in w]
        assert len(covered) == 1 and 'covers port(s) 45000 that a service listens on' in covered[0], result['warnings']
        # Once the range is in place nothing changes, and nothing more is said about it.
        again = nshost.module('portwarden.ports.ephemeral_range', {'start': 40000, 'end': 50001, 'persist': False})
        assert not again['changed'] and not again.get('warnings')
        # Ports reserved in the same task count as reserved, in check mode too (planned, not yet written).
        nshost.set_sysctl(RANGE, '32768 60999')
        for check in (True, False):
            both = nshost.module('portwarden.ports.ephemeral_range',
                                 {'start': 40000, 'end': 50001, 'persist': False, 'reserve': [45000]}, check=check)
            assert both['changed'] and not [w for w in both.get('warnings', []) if 'covers port(s)' in w], both
        assert nshost.sysctl(RESERVED) == '45000-45001'
    finally:
        server.kill()
        server.wait()
        server.stdout.close()

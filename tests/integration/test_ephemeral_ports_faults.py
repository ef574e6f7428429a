# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nothing half-applied, on a real kernel: the drop-in cannot be written, and the task leaves the host as it was.

Each host is a private network and mount namespace (conftest.NsHost). The faults are real: the drop-in
directory remounted read-only, a full tmpfs in its place, and the drop-in itself a mount point (the final
rename fails with EBUSY after the kernel values were written, so the module has to put them back). Each
module task and the ephemeral_ports role are tried against each fault: the kernel values and the drop-in
are read back byte for byte, and no temp file is left.
"""

from __future__ import annotations

import pytest

from test_ephemeral_ports_role import SITE, role_result, run_role, site_host, steps

RANGE = 'net.ipv4.ip_local_port_range'
RESERVED = 'net.ipv4.ip_local_reserved_ports'
CONNTRACK = 'net.netfilter.nf_conntrack_max'
DROPIN = '/etc/sysctl.d/90-portwarden.conf'

FAULTS = {
    # The directory on a read-only mount: refused before anything is written, check mode predicts it.
    'read-only': 'mount --bind /etc/sysctl.d /etc/sysctl.d && mount -o remount,bind,ro /etc/sysctl.d',
    # A full file system: no room for the new file, refused before anything is written, predicted too.
    'full': ('cp %s /tmp/pw-keep.conf && mount -t tmpfs -o size=64k tmpfs /etc/sysctl.d && cp /tmp/pw-keep.conf %s && '
             '(dd if=/dev/zero of=/etc/sysctl.d/fill bs=4k 2>/dev/null || true)' % (DROPIN, DROPIN)),
    # The drop-in is a mount point: staging and the kernel writes succeed, the rename fails (EBUSY), the kernel is
    # put back. Check mode cannot see this one coming.
    'busy': 'cp %s /tmp/pw-busy.conf && mount --bind /tmp/pw-busy.conf %s' % (DROPIN, DROPIN),
}
MESSAGES = {
    'read-only': ['/etc/sysctl.d is not writable', 'Nothing was changed'],
    'full': ['is full', 'Nothing was changed'],
    'busy': ['Device or resource busy', 'Tried: ', 'Undone: the kernel values and %s are as they were' % DROPIN],
}
MODULE_CASES = {
    'range': ('portwarden.ports.ephemeral_range', {'start': 40000, 'end': 50001}),
    'range+reserve': ('portwarden.ports.ephemeral_range', {'start': 40000, 'end': 50001, 'reserve': [45000, '9100-9101']}),
    'reserved': ('portwarden.ports.reserved_ports', {'ports': [45000, 9100]}),
}


@pytest.fixture
def host(nshost):
    return site_host(nshost)


def state(host):
    """Kernel values and every file of the drop-in directory (temp files included)."""
    files = {name: host.read_file('/etc/sysctl.d/' + name) for name in host.ls('/etc/sysctl.d') if name != 'fill'}
    return host.sysctl(RANGE).split(), host.sysctl(RESERVED), files


def assert_clear(result_msg, fault):
    for words in MESSAGES[fault]:
        assert words in result_msg, result_msg
    assert 'Traceback' not in result_msg


@pytest.mark.parametrize('case', sorted(MODULE_CASES))
@pytest.mark.parametrize('fault', sorted(FAULTS))
def test_module_with_an_unwritable_dropin_changes_nothing(host, fault, case):
    module, args = MODULE_CASES[case]
    before = state(host)
    host.sh(FAULTS[fault])
    check = host.module(module, args, check=True)
    if fault == 'busy':
        assert check['rc'] == 0 and check['changed'], check
    else:
        assert check['rc'] != 0 and check.get('failed'), check
        assert_clear(check['msg'], fault)
    applied = host.module(module, args)
    assert applied['rc'] != 0 and applied.get('failed') and not applied.get('changed'), applied
    assert_clear(applied['msg'], fault)
    assert state(host) == before, 'the failed task changed the host'
    if fault == 'busy' and case != 'reserved':
        assert 'net.ipv4.ip_local_port_range 32768 60999 -> 40000 50001' in applied['msg']


@pytest.mark.parametrize('fault', sorted(FAULTS))
def test_role_with_an_unwritable_dropin_changes_nothing(host, fault):
    role_vars = {'ephemeral_ports_range': {'start': 32000, 'end': 60999}}
    before = state(host)
    host.sh(FAULTS[fault])
    for check in (True, False):
        data = run_role(host, role_vars, check=check)
        task = role_result(data)
        assert task['ran'] == ['range'], task
        if check and fault == 'busy':
            assert data['rc'] == 0 and task['changed']
            continue
        assert data['rc'] != 0 and task.get('failed'), task
        assert_clear(task['msg'], fault)
        assert state(host) == before
    assert 'Tried: net.ipv4.ip_local_reserved_ports 22 -> 22,32000-32767,45000' in task['msg']


def test_a_clean_run_after_the_fault_is_lifted_applies_all_of_it(host):
    host.sh(FAULTS['busy'])
    assert host.module(*MODULE_CASES['range+reserve'])['rc'] != 0
    host.sh('umount %s' % DROPIN)
    applied = host.module(*MODULE_CASES['range+reserve'])
    assert applied['rc'] == 0 and applied['changed']
    assert state(host) == (['40000', '50001'], '22,9100-9101,45000', {'90-portwarden.conf': (
        '# site settings\nnet.ipv4.ip_local_reserved_ports = 22,9100-9101,45000\nnet.ipv4.ip_local_port_range = 40000 50001\n')})


def test_stale_temp_files_of_a_killed_write_are_removed(host):
    host.sh('echo x > /etc/sysctl.d/.portwarden-killed && touch -d "2 hours ago" /etc/sysctl.d/.portwarden-killed && '
            'echo y > /etc/sysctl.d/.portwarden-busy')
    assert host.module(*MODULE_CASES['reserved'])['changed']
    assert host.ls('/etc/sysctl.d') == ['.portwarden-busy', '90-portwarden.conf']


# ----------------------------------------------------------------------------------- conntrack_max

def test_conntrack_max_at_its_value_is_kept_in_the_dropin_four_steps(host):
    current = int(host.sysctl(CONNTRACK))
    args = {'start': 32768, 'end': 60999, 'conntrack_max': current}
    results_ = [host.module('portwarden.ports.ephemeral_range', args, check=check) for check in (True, False, True, False)]
    assert [r['changed'] for r in results_] == [True, True, False, False], results_
    assert results_[0]['diff'] == results_[1]['diff']
    assert results_[1]['conntrack_max'] == {'before': current, 'after': current, 'changed': True}
    assert host.read_file(DROPIN) == SITE + 'net.ipv4.ip_local_port_range = 32768 60999\n%s = %d\n' % (CONNTRACK, current)
    assert int(host.sysctl(CONNTRACK)) == current


def test_conntrack_max_read_only_in_a_namespace_fails_before_any_key_is_written(host):
    current = int(host.sysctl(CONNTRACK))
    before = state(host)
    args = {'start': 40000, 'end': 50001, 'reserve': [45000], 'conntrack_max': current + 1}
    for check in (True, False):
        result = host.module('portwarden.ports.ephemeral_range', args, check=check)
        assert result['rc'] != 0 and result.get('failed')
        assert 'only the initial network namespace' in result['msg'] and CONNTRACK in result['msg']
        assert state(host) == before and int(host.sysctl(CONNTRACK)) == current


def test_role_conntrack_max_with_a_null_range(host):
    current = int(host.sysctl(CONNTRACK))
    role_vars = {'ephemeral_ports_conntrack_max': str(current)}
    runs = [run_role(host, role_vars, check=check) for check in (True, False, True, False)]
    assert [r['rc'] for r in runs] == [0, 0, 0, 0], [r['stderr'][-500:] for r in runs]
    assert [steps(r)['range']['changed'] for r in runs] == [True, True, False, False]
    assert [role_result(r)['ran'] for r in runs] == [['read', 'range'], ['read', 'range', 'verify'], ['read', 'range'],
                                                     ['read', 'range']]
    assert '%s = %d\n' % (CONNTRACK, current) in host.read_file(DROPIN)
    assert host.sysctl(RANGE).split() == ['32768', '60999'] and host.sysctl(RESERVED) == '22,45000'

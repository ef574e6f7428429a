# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ephemeral_ports role on a real kernel, in a private network namespace.

Every state-changing path runs check (predicts change) -> apply (changes) ->
check (predicts none) -> apply (no change), and the kernel values and the
sysctl.d drop-in are read back from the namespace itself.
"""

from __future__ import annotations

import subprocess

import pytest

DROPIN = '/etc/sysctl.d/90-portwarden.conf'
CATALOGUE = [
    {'name': 'ssh', 'port': 22},
    {'name': 'node-ports', 'port': '30000-32767'},
    {'name': 'legacy-api', 'port': 45000},
    {'name': 'dns', 'port': 53, 'proto': 'udp'},
]
RANGE = {'start': 32000, 'end': 60999}


def run_role(host, role_vars, check=False):
    task = {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'portwarden.ports.ephemeral_ports'}}
    return host.playbook([task], check=check, play_vars=dict({'portwarden_services': CATALOGUE}, **role_vars))


TASK = 'Keep the catalogue ports out of the ephemeral range (plan, reserve, set the range, verify)'


def results(data):
    """Task name -> the result on localhost, for every task that ran."""
    found = {}
    for task in data['plays'][0]['tasks']:
        found[task['task']['name'].split(' : ', 1)[-1]] = task['hosts'].get('localhost', {})
    return found


def role_result(data):
    """The result of the role's one task."""
    return results(data)[TASK]


def steps(data):
    """The role's steps that ran a module on the host: step name -> the module's result."""
    return role_result(data)['steps']


def changed_steps(data):
    """The steps that reported a change, in order."""
    result = role_result(data)
    return [name for name in result['ran'] if result['steps'][name].get('changed')]


def failure(data):
    for name, result in results(data).items():
        if result.get('failed'):
            return name, result.get('msg', '')
    return None


def refused(data, words):
    """The message of the task that failed, with each of ``words``; no traceback, no internal variable name."""
    assert data['rc'] != 0
    found = failure(data)
    assert found, data
    text = str(found[1])
    for word in words:
        assert word in text, text
    assert 'Traceback' not in text and '__ephemeral_ports' not in text, text
    return text


SITE = '# site settings\nnet.ipv4.ip_local_reserved_ports = 22\n'


def site_host(host):
    """A host with the default range, port 22 reserved in a drop-in of the site's own, and a lock directory of its
    own (a tmpfs over /run/portwarden in its mount namespace, not the machine's)."""
    host.sh('mkdir -p /run/portwarden && mount -t tmpfs tmpfs /run/portwarden')
    host.set_sysctl('net.ipv4.ip_local_port_range', '32768 60999')
    host.set_sysctl('net.ipv4.ip_local_reserved_ports', '22')
    host.write_file(DROPIN, SITE)
    return host


# The role's steps (plugins/plugin_utils/policy.py, STEPS): port_info before, ephemeral_range with reserve,
# reserved_ports present (a null range), reserved_ports exact, port_info after a change.
READ, BOTH, CURRENT, EXACT, VERIFY = 'read', 'range', 'reserve', 'exact', 'verify'


def on_host(data):
    """The role's steps that ran a module on the host, in order."""
    return role_result(data)['ran']


def kernel(host):
    return (host.sysctl('net.ipv4.ip_local_port_range').split(), host.sysctl('net.ipv4.ip_local_reserved_ports'))


@pytest.fixture
def fresh(nshost):
    nshost.set_sysctl('net.ipv4.ip_local_port_range', '32768 60999')
    nshost.set_sysctl('net.ipv4.ip_local_reserved_ports', '')
    return nshost


def test_reserve_check_apply_check_apply(fresh):
    host = fresh
    role_vars = {'ephemeral_ports_range': RANGE}

    first_check = run_role(host, role_vars, check=True)
    assert first_check['rc'] == 0, failure(first_check)
    assert changed_steps(first_check) == [BOTH] and role_result(first_check)['changed']
    predicted = steps(first_check)[BOTH]
    assert predicted['reserved']['after']['ports'] == '32000-32767,45000' and predicted['reserved']['changed']
    assert predicted['after']['start'] == 32000
    # The range's warning about listeners counts the reservations the same task makes first: none here.
    assert not any('not reserved' in w for w in role_result(first_check).get('warnings', []))
    assert 'warnings' not in predicted, 'the steps\' warnings are the task\'s'
    assert kernel(host) == (['32768', '60999'], ''), 'check mode changed the kernel'
    assert host.read_file(DROPIN) is None, 'check mode wrote the drop-in'
    assert 'Check mode' in role_result(first_check)['note']

    applied = run_role(host, role_vars)
    assert applied['rc'] == 0, failure(applied)
    assert changed_steps(applied) == changed_steps(first_check)
    assert kernel(host) == (['32000', '60999'], '32000-32767,45000')
    dropin = host.read_file(DROPIN)
    assert 'net.ipv4.ip_local_port_range' in dropin and '32000-32767,45000' in dropin
    verified = steps(applied)[VERIFY]
    assert verified['ephemeral_range']['start'] == 32000
    assert not [c for c in verified['conflicts'] if c['type'] == 'service_in_range']

    second_check = run_role(host, role_vars, check=True)
    assert second_check['rc'] == 0 and not role_result(second_check)['changed'], changed_steps(second_check)
    second = run_role(host, role_vars)
    assert second['rc'] == 0 and not role_result(second)['changed'], changed_steps(second)
    assert kernel(host) == (['32000', '60999'], '32000-32767,45000')
    # With a range and conflict action reserve, a run that changes nothing reaches the host once only: the module
    # reads and compares both keys by itself; port_info reads neither before (not needed) nor after (no change).
    assert on_host(second) == [BOTH]
    assert on_host(applied) == [BOTH, VERIFY]


def test_range_omitted_keeps_range_and_reserves_inside_it(fresh):
    host = fresh
    role_vars = {'ephemeral_ports_reserved': ['50000-50001', 9999]}
    check = run_role(host, role_vars, check=True)
    assert changed_steps(check) == [CURRENT]
    assert BOTH not in steps(check)
    applied = run_role(host, role_vars)
    assert applied['rc'] == 0, failure(applied)
    # 30000-32767 is below the unchanged range 32768-60999: only 45000 and the extra ports are reserved.
    assert kernel(host) == (['32768', '60999'], '9999,45000,50000-50001')
    assert not role_result(run_role(host, role_vars, check=True))['changed']
    again = run_role(host, role_vars)
    assert not role_result(again)['changed']
    # The range is the host's: read first (needed for the plan), not again after a run that changed nothing.
    assert on_host(again) == [READ, CURRENT]


def test_fail_names_the_ports_and_changes_nothing(fresh):
    host = fresh
    data = run_role(host, {'ephemeral_ports_range': RANGE, 'ephemeral_ports_conflict_action': 'fail'})
    assert data['rc'] != 0
    name, msg = failure(data)
    assert name == TASK and on_host(data) == [READ]
    assert '32000-32767,45000' in msg and 'node-ports, legacy-api' in msg and '32000-60999' in msg
    assert kernel(host) == (['32768', '60999'], '')
    assert host.read_file(DROPIN) is None


def test_fail_passes_when_extra_reservations_cover_the_catalogue(fresh):
    host = fresh
    role_vars = {'ephemeral_ports_range': RANGE, 'ephemeral_ports_conflict_action': 'fail',
                 'ephemeral_ports_reserved': ['32000-32767', 45000]}
    data = run_role(host, role_vars)
    assert data['rc'] == 0, failure(data)
    assert kernel(host) == (['32000', '60999'], '32000-32767,45000')


def test_warn_leaves_ports_and_says_so(fresh):
    host = fresh
    role_vars = {'ephemeral_ports_range': RANGE, 'ephemeral_ports_conflict_action': 'warn'}
    check = run_role(host, role_vars, check=True)
    warning = [w for w in role_result(check)['warnings'] if 'catalogue port(s)' in w]
    assert len(warning) == 1 and '32000-32767,45000' in warning[0], role_result(check)['warnings']
    assert role_result(check)['exposed'] == '32000-32767,45000'
    applied = run_role(host, role_vars)
    assert applied['rc'] == 0, failure(applied)
    assert changed_steps(applied) == [BOTH]
    assert 'reserved' not in steps(applied)[BOTH]
    assert kernel(host) == (['32000', '60999'], '')
    assert any('node-ports, legacy-api' in w for w in role_result(applied)['warnings']), role_result(applied)
    assert not role_result(run_role(host, role_vars))['changed']


def test_exact_releases_foreign_reservations_present_keeps_them(fresh):
    host = fresh
    host.set_sysctl('net.ipv4.ip_local_reserved_ports', '9999')
    assert run_role(host, {})['rc'] == 0
    assert kernel(host)[1] == '9999,45000'

    role_vars = {'ephemeral_ports_reserved_state': 'exact'}
    check = run_role(host, role_vars, check=True)
    assert changed_steps(check) == [EXACT]
    assert steps(check)[EXACT]['removed'] == [9999]
    assert kernel(host)[1] == '9999,45000'
    applied = run_role(host, role_vars)
    assert applied['rc'] == 0, failure(applied)
    assert kernel(host)[1] == '45000'
    assert not role_result(run_role(host, role_vars, check=True))['changed']
    assert not role_result(run_role(host, role_vars))['changed']


def test_listener_in_range_outside_the_catalogue_is_pointed_out(fresh):
    host = fresh
    # A listener inside the range that no catalogue entry declares: the role cannot
    # reserve what it does not know, but it must say so.
    proc = subprocess.Popen(host.nsenter() + ['python3', '-c', (
        'import socket,time\n'
        's=socket.socket(); s.bind(("127.0.0.1", 47001)); s.listen(); print("up", flush=True); time.sleep(120)')],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'up'
        data = run_role(host, {'ephemeral_ports_range': RANGE})
        assert data['rc'] == 0, failure(data)
        note = role_result(data)['listeners']
        assert any('47001' in line for line in note), note
        assert any('47001' in line for line in role_result(data)['warnings']), role_result(data)
        # A run that changes nothing with a range and conflict action reserve reads nothing: no note (the audit
        # reports it). With the range left to the host the first read is needed, and the note comes from it.
        data = run_role(host, {'ephemeral_ports_range': RANGE})
        assert not role_result(data)['changed'] and READ not in on_host(data)
        assert role_result(data)['listeners'] == []
        assert on_host(data) == [BOTH]
        data = run_role(host, {})
        assert data['rc'] == 0 and not role_result(data)['changed'], failure(data)
        assert on_host(data) == [READ, CURRENT]
        note = role_result(data)['listeners']
        assert any('47001' in line for line in note), note
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize('role_vars, words', [
    ({'portwarden_services': [{'name': 'web', 'port': 'http'}]}, ["'http'", 'service #0 (web)']),
    ({'ephemeral_ports_range': {'start': 60999, 'end': 32768}}, ['60999-32768', 'not greater than end']),
    ({'ephemeral_ports_conflict_action': 'ignore'}, ['ephemeral_ports_conflict_action', 'reserve, fail, warn']),
    ({'ephemeral_ports_range': {'start': 32768}}, ['missing required arguments: end', 'ephemeral_ports_range']),
])
def test_bad_input_fails_clearly_before_any_change(fresh, role_vars, words):
    host = fresh
    refused(run_role(host, role_vars), words)
    assert kernel(host) == (['32768', '60999'], '')


def test_module_defaults_reach_the_roles_steps(fresh):
    """module_defaults apply to the role's steps as to the modules' own tasks: here ephemeral_range's drop-in path,
    which the role leaves to the module (ephemeral_ports_sysctl_file null)."""
    host = fresh
    site = '/etc/sysctl.d/77-site.conf'
    play_vars = {'portwarden_services': CATALOGUE, 'ephemeral_ports_range': RANGE}
    task = {'name': 'with module_defaults', 'block': [
        {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'portwarden.ports.ephemeral_ports'}}],
        'module_defaults': {'portwarden.ports.ephemeral_range': {'sysctl_file': site, 'persist': False}}}
    data = host.playbook([task], play_vars=play_vars)
    assert data['rc'] == 0, failure(data)
    # persist is the role's own (ephemeral_ports_persist true): the step's own argument wins over the default
    assert '32000-32767,45000' in host.read_file(site) and host.read_file(DROPIN) is None
    assert kernel(host) == (['32000', '60999'], '32000-32767,45000')


def test_the_steps_warnings_reach_the_user(fresh):
    """A module's own warning (here: a file applied later at boot sets the same key) is the role task's warning."""
    host = fresh
    host.write_file('/etc/sysctl.d/99-late.conf', 'net.ipv4.ip_local_port_range = 40000 50000\n')
    data = run_role(host, {'ephemeral_ports_range': RANGE})
    assert data['rc'] == 0, failure(data)
    warnings = role_result(data).get('warnings', [])
    assert any('99-late.conf' in w for w in warnings), warnings

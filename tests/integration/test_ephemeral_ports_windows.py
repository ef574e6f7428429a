# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ephemeral_ports role against the STAND-IN Windows target (test_windows_standin.py says what it proves).

The role's one task runs each step through its module's own action plugin: on a PowerShell shell those take the
netsh path on the controller, so the role works on Windows as the module tasks do. Check -> apply -> check -> apply,
with the stand-in's netsh state read back.
"""

from __future__ import annotations

from test_windows_standin import StandinHost  # same directory

import pytest

CATALOGUE = [{'name': 'rdp', 'port': 3389}, {'name': 'agent', 'port': 40100}, {'name': 'api', 'port': '40200-40201'}]


def run_role(win, role_vars, check=False):
    task = {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'portwarden.ports.ephemeral_ports'},
            'vars': dict({'portwarden_services': CATALOGUE}, **role_vars)}
    return win.playbook([task], check=check)[-1]


@pytest.fixture
def win(tmp_path):
    return StandinHost(tmp_path)


def test_role_on_windows_reserves_then_moves_the_range(win):
    role_vars = {'ephemeral_ports_range': {'start': 40000, 'end': 40999}}
    results = []
    for check in (True, False, True, False):
        before = win.changes()
        results.append(run_role(win, role_vars, check=check))
        if check:
            assert win.changes() == before, 'check mode ran a changing command'
    assert [r.get('failed', False) for r in results] == [False] * 4, results
    assert [r['changed'] for r in results] == [True, True, False, False]
    assert [r['ran'] for r in results] == [['range'], ['range', 'verify'], ['range'], ['range']]
    assert win.read()['dynamic']['ipv4/tcp'][0] == 40000
    assert sorted(win.read()['excluded']['ipv4/tcp']) == [[40100, 40100, True], [40200, 40201, True]]
    assert results[1]['reserved'] == '40100,40200-40201' and results[1]['exposed'] == ''
    # the Windows module's warning about sysctl_file is not there: the role passes none (each OS's own store)
    assert not [w for w in results[1].get('warnings', []) if 'sysctl_file' in w]


def test_role_on_windows_fail_policy_reads_with_netsh_and_changes_nothing(win):
    data = run_role(win, {'ephemeral_ports_range': {'start': 40000, 'end': 40999},
                          'ephemeral_ports_conflict_action': 'fail'})
    assert data['failed'] and data['ran'] == ['read']
    assert '40100,40200-40201' in data['msg'] and 'agent, api' in data['msg']
    assert win.changes() == []

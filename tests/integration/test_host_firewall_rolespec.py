# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_firewall with ``rolespec_validate: false``: the role's own validation still refuses every bad variable.

For each option of meta/argument_specs.yml, a bad value (one the argument spec refuses where its type can refuse
anything; for the text options, one the role refuses) fails the role included with ``rolespec_validate: false``, in
its first task, on the controller (the module never ran: no result of it), naming the variable; and the namespace
host is as it was: no table, no rules file, no state, nftables.conf unchanged. The unit test
tests/unit/plugins/filter/test_host_firewall_rolespec.py compares both validations on a corpus of values.
"""

from __future__ import annotations

import os

import pytest
import yaml

from test_host_firewall import APPLY_TASK, STOCK_NFTABLES_CONF, list_table, role_vars, task_result

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'host_firewall')

BAD = {
    'host_firewall_services': 'web',
    'host_firewall_management_ports': {'ssh': 22},
    'host_firewall_management_sources': None,
    'host_firewall_allow_ping': 'banana',
    'host_firewall_dhcpv6_client': 'banana',
    'host_firewall_log': 'banana',
    'host_firewall_log_prefix': 'x" ; flush ruleset #',
    'host_firewall_log_rate': '5 per minute',
    'host_firewall_scan_detect': 'banana',
    'host_firewall_scan_threshold': 'banana',
    'host_firewall_scan_window': 1.5,
    'host_firewall_scan_ban': None,
    'host_firewall_scan_allow': {'a': 1},
    'host_firewall_unban': {'a': 1},
    'host_firewall_forward_policy': 'banana',
    'host_firewall_output_policy': 'banana',
    'host_firewall_rollback_timeout': 'banana',
    'host_firewall_rules_path': 'relative/portwarden.nft',
    'host_firewall_state_dir': 'relative',
    'host_firewall_persist': 'banana',
    'host_firewall_nftables_conf': 'relative.conf',
    'host_firewall_enable_service': 'banana',
    'host_firewall_lock_timeout': 'banana',
    'host_firewall_install': 'banana',
    'host_firewall_backend': 'banana',
    'host_firewall_firewalld_zone': 'x y',
    'host_firewall_conflicting': 'banana',
    'host_firewall_filter_published': 'banana',
    'host_firewall_catalogue_cache': 'sometimes',
}


def spec_options():
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        return sorted(yaml.safe_load(handle)['argument_specs']['main']['options'])


def test_every_option_has_a_bad_value_here():
    assert sorted(BAD) == spec_options()


@pytest.mark.parametrize('check', [False, True])
def test_each_bad_value_fails_the_role_without_its_spec_before_any_change(nshost, check):
    base = role_vars(nshost.tmpdir)
    base['host_firewall_services'] = base.pop('portwarden_services')
    tasks = [{'name': 'init', 'ansible.builtin.set_fact': {'errors': {}}}]
    for option in sorted(BAD):
        tasks.append({
            'name': 'case %s' % option,
            'block': [{'name': 'host_firewall', 'ansible.builtin.include_role': {
                'name': 'portwarden.ports.host_firewall', 'rolespec_validate': False}}],
            'vars': dict(base, **{option: BAD[option]}),
            'rescue': [{'ansible.builtin.set_fact': {'errors': "{{ errors | combine({%r: {'task': ansible_failed_task.name, "
                                                               "'msg': ansible_failed_result.msg | default('') | string, "
                                                               "'ran': 'table_changed' in ansible_failed_result or 'invocation' in ansible_failed_result}}) }}"
                                                               % option}}]})
    tasks.append({'name': 'report', 'ansible.builtin.debug': {'var': 'errors'}})
    data = nshost.playbook(tasks, check=check, play_vars={})
    assert data['rc'] == 0, data['stderr'][-3000:]
    names = [task['task']['name'] for task in data['plays'][0]['tasks']]
    assert not [name for name in names if 'Validating arguments' in name], names    # no argument validation task
    errors = task_result(data, 'report')['errors']
    assert sorted(errors) == sorted(BAD), sorted(set(BAD) - set(errors))
    for option, error in sorted(errors.items()):
        assert error['task'].endswith(APPLY_TASK.split(' : ', 1)[1]), (option, error)
        assert error['ran'] is False, (option, error)                 # refused on the controller, the module never ran
        assert option in error['msg'], (option, error['msg'][:500])
    # nothing changed on the host
    assert list_table(nshost, 'inet', 'portwarden') is None
    assert not os.path.exists(base['host_firewall_rules_path'])
    assert not os.path.exists(base['host_firewall_state_dir']) or os.listdir(base['host_firewall_state_dir']) == []
    assert nshost.read_file(base['host_firewall_nftables_conf']) == STOCK_NFTABLES_CONF


def test_good_values_without_the_spec_apply_as_with_it(nshost):
    """The control: the same role, rolespec_validate false, with valid variables, loads the table (four steps)."""
    base = role_vars(nshost.tmpdir)
    task = {'name': 'host_firewall',
            'ansible.builtin.include_role': {'name': 'portwarden.ports.host_firewall', 'rolespec_validate': False}}
    changed = []
    for check in (True, False, True, False):
        data = nshost.playbook([task], check=check, play_vars=base)
        assert data['rc'] == 0, data['stderr'][-3000:]
        changed.append(task_result(data, APPLY_TASK)['changed'])
        assert not [t for t in data['plays'][0]['tasks'] if 'Validating arguments' in t['task']['name']]
    assert changed == [True, True, False, False]
    assert 'set svc1_web_tcp_v4' in list_table(nshost, 'inet', 'portwarden')

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ephemeral_ports role's one task: policy.apply over a simulated host, and the action plugin's wiring.

The host here is a dictionary that answers as the modules do (range, reservations, listeners); the same task runs
on a real kernel in tests/integration/test_ephemeral_ports_role.py.
"""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.portwarden.ports.plugins.action import ephemeral_ports as action
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.plugin_utils import policy

from test_policy import CATALOGUE, defaults  # same directory


def role_vars(**overrides):
    """The role's defaults with test_policy's catalogue and ``overrides`` (names without the prefix)."""
    return defaults(**overrides)


class Host(object):
    """Answers port_info, ephemeral_range and reserved_ports as the modules do; check mode changes nothing."""

    def __init__(self, start=32768, end=60999, reserved='', listeners=()):
        self.range = (start, end)
        self.reserved = PortSet.parse(reserved)
        self.listeners = list(listeners)
        self.calls = []
        self.fail = {}
        self.task_check = False

    def __call__(self, module, args, check_mode):
        self.calls.append((module, dict(args), check_mode))
        if module in self.fail:
            return dict(self.fail[module], failed=True, changed=False)
        # check_mode None: the task's own
        return getattr(self, module)(args, self.task_check if check_mode is None else check_mode)

    def port_info(self, args, check):
        inside = PortSet([PortRange(*self.range)])
        conflicts = [{'type': 'listener_in_range', 'msg': 'port %d listens inside the range' % p}
                     for p in self.listeners if PortSet([PortRange(p, p)]) & inside]
        return {'changed': False, 'ephemeral_range': {'start': self.range[0], 'end': self.range[1]},
                'reserved_ports': {'ports': self.reserved.format()}, 'conflicts': conflicts}

    def _reserve(self, wanted, exact, check):
        before = self.reserved
        after = wanted if exact else before | wanted
        if not check:
            self.reserved = after
        return {'changed': after != before, 'before': {'ports': before.format()}, 'after': {'ports': after.format()},
                'removed': (before - after).to_list()}

    def ephemeral_range(self, args, check):
        result = {'before': {'start': self.range[0], 'end': self.range[1]}, 'after': {'start': args['start'], 'end': args['end']},
                  'warnings': ['a warning of the module'], 'diff': {'before': 'a', 'after': 'b'}}
        result['reserved'] = self._reserve(PortSet.parse(args['reserve']), False, check)
        changed = (args['start'], args['end']) != self.range
        if not check:
            self.range = (args['start'], args['end'])
        result['changed'] = changed or result['reserved']['changed']
        return result

    def reserved_ports(self, args, check):
        return self._reserve(PortSet.parse(args['ports']), args['state'] == 'exact', check)


RANGE = {'start': 32000, 'end': 60999}


def apply(values, host, check_mode=False):
    host.task_check = check_mode
    return policy.apply(values, host, check_mode=check_mode)


def test_check_apply_check_apply_with_a_range_is_one_module_call_when_nothing_changes():
    host = Host()
    first = apply(role_vars(range=RANGE), host, check_mode=True)
    assert first['changed'] and first['ran'] == ['range'] and not first.get('failed')
    assert 'Check mode' in first['note'] and first['msg'].startswith('would change range')
    assert host.range == (32768, 60999) and host.reserved.format() == ''
    applied = apply(role_vars(range=RANGE), host)
    assert applied['changed'] and applied['ran'] == ['range', 'verify'], applied
    assert host.range == (32000, 60999) and host.reserved.format() == '32000-32767,45000'
    assert applied['target'] == RANGE and applied['reserved'] == '32000-32767,45000' and applied['exposed'] == ''
    # the steps' warnings and diffs are the task's
    assert 'a warning of the module' in applied['warnings'] and applied['diff'] == [{'before': 'a', 'after': 'b'}]
    assert 'warnings' not in applied['steps']['range'] and 'diff' not in applied['steps']['range']
    again = apply(role_vars(range=RANGE), host, check_mode=True)
    assert not again['changed'] and again['ran'] == ['range']
    host.calls = []
    last = apply(role_vars(range=RANGE), host)
    assert not last['changed'] and last['ran'] == ['range'] and last['msg'].startswith('nothing to change')
    assert [c[0] for c in host.calls] == ['ephemeral_range']
    assert host.calls[0][1] == {'start': 32000, 'end': 60999, 'reserve': ['32000-32767', 45000], 'persist': True}
    assert 'diff' not in last or last['diff']


def test_a_null_range_reads_the_host_never_in_check_mode_and_reserves_inside_it():
    host = Host(reserved='22')
    result = apply(role_vars(reserved=[9999]), host, check_mode=True)
    assert result['ran'] == ['read', 'reserve']
    assert host.calls[0] == ('port_info', {'services': CATALOGUE}, False)
    assert host.calls[1] == ('reserved_ports', {'ports': [9999, 45000], 'state': 'present', 'persist': True}, None)
    assert host.reserved.format() == '22'


def test_conflict_action_fail_refuses_before_any_change():
    host = Host()
    result = apply(role_vars(range=RANGE, conflict_action='fail'), host)
    assert result['failed'] and result['ran'] == ['read'] and not result['changed']
    assert '32000-32767,45000' in result['msg'] and 'node-ports, legacy-api' in result['msg']
    assert host.range == (32768, 60999)


def test_conflict_action_warn_leaves_the_ports_and_warns():
    host = Host()
    result = apply(role_vars(range=RANGE, conflict_action='warn'), host)
    assert not result.get('failed') and result['exposed'] == '32000-32767,45000'
    assert any(w.startswith('catalogue port(s) 32000-32767,45000 (node-ports, legacy-api)') for w in result['warnings'])
    assert host.reserved.format() == ''


def test_reserved_state_exact_releases_the_others():
    host = Host(reserved='9999,45000')
    result = apply(role_vars(reserved_state='exact'), host)
    assert result['ran'] == ['read', 'reserve', 'exact', 'verify'], result['ran']
    assert host.calls[2][1]['state'] == 'exact' and result['steps']['exact']['removed'] == [9999]
    assert host.reserved.format() == '45000'


def test_a_bad_variable_fails_before_any_call_naming_it():
    host = Host()
    result = apply(role_vars(persist='maybe'), host)
    assert result['failed'] and 'ephemeral_ports_persist' in result['msg'] and host.calls == []


def test_a_failed_step_stops_the_task_with_its_message_and_details():
    host = Host()
    host.fail['ephemeral_range'] = {'msg': 'the drop-in is not writable', 'tried': ['x']}
    result = apply(role_vars(range=RANGE), host)
    assert result['failed'] and result['msg'] == 'the drop-in is not writable' and result['tried'] == ['x']
    assert result['ran'] == ['range'] and not result['changed']


def test_the_verification_fails_when_the_host_still_exposes_a_port():
    host = Host()
    original = host.port_info
    host.port_info = lambda args, check: dict(original(args, check), conflicts=[
        {'type': 'service_in_range', 'msg': 'port 45000 is exposed'}])
    result = apply(role_vars(range=RANGE), host)
    assert result['failed'] and result['changed'] and 'port 45000 is exposed' in result['msg']


def test_listeners_in_the_range_are_warnings_from_the_read():
    host = Host(listeners=[47001])
    result = apply(role_vars(), host)
    assert result['listeners'] == ['port 47001 listens inside the range']
    assert 'port 47001 listens inside the range' in result['warnings']
    assert apply(role_vars(), host, check_mode=True)['listeners'] == []


# -- the action plugin ------------------------------------------------------------------------------------------

def make_action(args, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    plugin = action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=templar,
                                 shared_loader_obj=None)
    plugin._shared_loader_obj = mock.MagicMock()
    return plugin, task


def test_the_action_takes_the_roles_variables_when_the_task_gives_no_option():
    plugin, dummy = make_action({})
    task_vars = dict(role_vars(range=RANGE))
    with mock.patch.object(action.policy, 'apply', return_value={'warnings': []}) as apply_, \
            mock.patch.object(action.ActionBase, 'run', return_value={}):
        plugin.run(task_vars=task_vars)
    given = apply_.call_args[0][0]
    assert given['ephemeral_ports_range'] == RANGE and given['ephemeral_ports_services'] == CATALOGUE
    assert sorted(given) == sorted(policy.PREFIX + name for name in policy.DEFAULTS)


def test_the_action_prefers_its_options_and_refuses_unknown_ones():
    plugin, dummy = make_action({'range': {'start': 40000, 'end': 50001}})
    with mock.patch.object(action.policy, 'apply', return_value={'warnings': []}) as apply_, \
            mock.patch.object(action.ActionBase, 'run', return_value={}):
        plugin.run(task_vars=role_vars(range=RANGE))
    assert apply_.call_args[0][0]['ephemeral_ports_range'] == {'start': 40000, 'end': 50001}
    plugin, dummy = make_action({'rnage': {}})
    with mock.patch.object(action.ActionBase, 'run', return_value={}):
        with pytest.raises(AnsibleActionFail, match='unknown option.s. rnage: allowed are conflict_action'):
            plugin.run(task_vars={})


def run_step(plugin, module, args, task_vars, check_mode):
    """What the plan's ``run_module`` does when it runs one step: the action's own run, with apply replaced by one
    call of the step runner it is given."""
    def apply_(role_vars, run_module, check_mode=None):
        return {'warnings': [], 'step': run_module(module, args, check_mode=step_check_mode)}
    step_check_mode = check_mode
    with mock.patch.object(action.policy, 'apply', side_effect=apply_), \
            mock.patch.object(action.ActionBase, 'run', return_value={}):
        return plugin.run(task_vars=task_vars)['step']


def test_each_step_runs_through_its_modules_action_plugin_with_a_copy_of_the_task():
    plugin, task = make_action({})
    task.module_defaults = None
    copy = task.copy.return_value
    answer = run_step(plugin, 'ephemeral_range', {'start': 1025, 'end': 2000}, {'v': 1}, False)
    name, kwargs = plugin._shared_loader_obj.action_loader.get.call_args
    assert name == ('portwarden.ports.ephemeral_range',) and kwargs['task'] is copy
    assert copy.args == {'start': 1025, 'end': 2000} and copy.check_mode is False
    assert answer is plugin._shared_loader_obj.action_loader.get.return_value.run.return_value
    plugin._shared_loader_obj.action_loader.get.return_value.run.assert_called_with(task_vars={'v': 1})


def test_a_missing_action_plugin_is_a_clear_failure():
    plugin, task = make_action({})
    task.module_defaults = None
    task.action = 'portwarden.ports.ephemeral_ports'
    plugin._shared_loader_obj.action_loader.get.return_value = None
    with pytest.raises(AnsibleActionFail, match='ephemeral_ports: the action plugin portwarden.ports.port_info is not installed'):
        run_step(plugin, 'port_info', {}, {}, None)

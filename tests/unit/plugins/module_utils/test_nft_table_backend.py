# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nft_table's backend choice (option backend): firewalld / ufw asked through run_command, the choice made before
anything changes, conflicting managers stopped under the host lock right before the table is applied.

The table's own apply is replaced by a recorder here (it has its own tests); the real module runs in the
integration tests and in the Molecule firewalld scenario. Last, the action plugin: what the confirmation is sent."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.portwarden.ports.plugins.action.nft_table import ActionModule
from ansible_collections.portwarden.ports.plugins.module_utils import managers
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.modules import nft_table as module_file


class FakeModule(object):
    def __init__(self, firewalld=False, firewalld_enabled=None, ufw=False, nft=True, check_mode=False, **params):
        self.check_mode = check_mode
        self._diff = params.pop('diff', False)
        self.binaries = {'systemctl', 'sh'} | ({'nft'} if nft else set()) | ({'firewall-cmd'} if firewalld or firewalld_enabled else set()) \
            | ({'ufw'} if ufw else set())
        self.firewalld = firewalld
        self.firewalld_enabled = firewalld if firewalld_enabled is None else firewalld_enabled
        self.ufw = ufw
        self.events = []
        self.params = dict(family='inet', name='portwarden', state_dir='/var/lib/portwarden', mode='0644', _phase='apply',
                           _token=None, rollback_timeout=30, content='table inet portwarden {}', path='/etc/x.nft',
                           include_in=None, enable_service=True, lock_timeout=5, keep_sets=[], unban=[],
                           backend='auto', conflicting='fail')
        self.params.update(params)

    def get_bin_path(self, name, required=False):
        return '/usr/sbin/' + name if name in self.binaries else None

    def run_command(self, argv, check_rc=False):
        line = ' '.join(argv).replace('/usr/sbin/', '')
        self.events.append(line)
        if line == 'systemctl is-active firewalld.service':
            return (0, 'active\n', '') if self.firewalld else (3, 'inactive\n', '')
        if line == 'systemctl is-enabled firewalld.service':
            return (0, 'enabled\n', '') if self.firewalld_enabled else (1, 'disabled\n', '')
        if line == 'firewall-cmd --state':
            return (0, 'running\n', '') if self.firewalld else (252, 'not running\n', '')
        if line == 'ufw status':
            return (0, 'Status: active\n', '') if self.ufw else (0, 'Status: inactive\n', '')
        if line in ('ufw disable', 'systemctl disable --now firewalld.service', 'systemctl is-active ufw.service',
                    'systemctl is-enabled ufw.service'):
            return 0, '', ''
        raise AssertionError('unexpected command %r' % line)


@pytest.fixture
def host(monkeypatch, tmp_path):
    """Systemd runs; the table's apply records its call instead of loading."""
    monkeypatch.setattr(managers, 'SYSTEMD_RUNNING', str(tmp_path))
    monkeypatch.setattr(managers, 'read_text', lambda path: None)
    calls = {}

    def take_lock(mgr, what, timeout, cls):
        mgr.module.events.append('lock')

    def apply_table(mgr, content, path, timeout, token, check_mode, file_mode, lock=None, include_in=None,
                    enable_service=False, keep_sets=(), unban=()):
        mgr.module.events.append('apply')
        calls['enable_service'] = enable_service
        changed = calls.get('changed', False)
        return {'changed': changed, 'table_changed': changed, 'diff': {'before': 'old', 'after': content}}
    monkeypatch.setattr(module_file, 'take_lock', take_lock)
    monkeypatch.setattr(module_file, 'apply_table', apply_table)
    return calls


def test_auto_on_a_firewalld_host_changes_nothing_in_nftables_and_says_so(host):
    module = FakeModule(firewalld=True, nft=False)          # no nft needed to say so
    result = module_file.run(module)
    assert result['backend'] == 'firewalld' and result['changed'] is False and result['table_changed'] is False
    assert 'nothing was changed in nftables' in result['msg']
    assert 'apply' not in module.events and 'lock' not in module.events


def test_auto_without_firewalld_applies_the_table_in_the_same_call(host):
    module = FakeModule()
    result = module_file.run(module)
    assert result['backend'] == 'nftables' and result['stopped'] == [] and result['enable_nftables_service'] is True
    assert module.events[-2:] == ['lock', 'apply'] and host['enable_service'] is True


def test_firewalld_enabled_but_stopped_leaves_nftables_service_alone(host):
    module = FakeModule(firewalld=False, firewalld_enabled=True)
    result = module_file.run(module)
    assert result['backend'] == 'nftables' and result['enable_nftables_service'] is False
    assert host['enable_service'] is False                  # nftables.service never enabled next to firewalld


@pytest.mark.parametrize('kind', ['ufw', 'firewalld'])
def test_nftables_next_to_an_active_manager_fails_before_anything(host, kind):
    module = FakeModule(backend='nftables', **{kind: True})
    with pytest.raises(PortwardenError) as err:
        module_file.run(module)
    assert '%s is active' % kind in err.value.msg and 'host_firewall_conflicting: stop' in err.value.msg
    assert err.value.details['conflicting_managers'] == [kind]
    assert 'lock' not in module.events and 'apply' not in module.events
    assert not [e for e in module.events if 'disable' in e]


def test_the_conflict_fails_before_a_missing_nft_is_reported(host):
    module = FakeModule(backend='nftables', ufw=True, nft=False)
    with pytest.raises(PortwardenError) as err:
        module_file.run(module)
    assert 'ufw is active' in err.value.msg and 'nft_missing' not in err.value.details


def test_firewalld_asked_for_where_it_does_not_run_fails(host):
    module = FakeModule(backend='firewalld')
    with pytest.raises(PortwardenError) as err:
        module_file.run(module)
    assert 'firewalld is not running' in err.value.msg and 'apply' not in module.events


def test_stop_in_check_mode_predicts_and_stops_nothing(host):
    module = FakeModule(backend='nftables', ufw=True, check_mode=True, conflicting='stop')
    result = module_file.run(module)
    assert result['stopped'] == ['ufw'] and result['changed'] is True
    assert 'ufw disable' not in module.events and 'apply' in module.events


def test_stop_stops_under_the_lock_right_before_the_apply(host):
    module = FakeModule(backend='nftables', ufw=True, firewalld=True, conflicting='stop')
    result = module_file.run(module)
    assert result['stopped'] == ['firewalld', 'ufw'] and result['changed'] is True
    tail = module.events[module.events.index('lock'):]
    assert tail == ['lock', 'systemctl disable --now firewalld.service', 'ufw disable', 'apply']
    assert result['enable_nftables_service'] is True        # firewalld stopped and disabled: nothing to stay clear of


def test_a_failure_after_the_stop_says_the_manager_stays_stopped(host, monkeypatch):
    def refuse(*args, **kwargs):
        raise PortwardenError('the new ruleset does not load', rolled_back=False)
    monkeypatch.setattr(module_file, 'apply_table', refuse)
    module = FakeModule(backend='nftables', ufw=True, conflicting='stop')
    with pytest.raises(PortwardenError) as err:
        module_file.run(module)
    assert 'does not load' in err.value.msg and 'ufw stopped and disabled before' in err.value.msg
    assert err.value.details['stopped'] == ['ufw']


@pytest.mark.parametrize('diff, changed, kept', [
    (False, False, False), (False, True, False), (True, False, False), (True, True, True)])
def test_the_diff_goes_back_only_in_diff_mode_and_when_something_changes(host, diff, changed, kept):
    host['changed'] = changed
    result = module_file.run(FakeModule(diff=diff))
    assert ('diff' in result) is kept
    if kept:
        assert result['diff']['after'] == 'table inet portwarden {}'


def test_without_backend_nothing_is_asked(host):
    module = FakeModule(backend=None, firewalld=True)
    module_file.run(module)
    assert module.events == ['lock', 'apply']


def test_confirm_phase_does_not_choose_again(host, monkeypatch):
    monkeypatch.setattr(module_file, 'try_lock', lambda lock: None)
    monkeypatch.setattr(module_file, 'confirm_table', lambda *args, **kwargs: {'changed': True, 'confirmed': True})
    module = FakeModule(firewalld=True, _phase='confirm', _token='00112233aabbccdd')
    assert module_file.run(module)['confirmed'] is True
    assert module.events == []


# ---------------------------------------------------------------- the action plugin: apply, then confirm
class _Connection(object):
    transport = 'local'

    def close(self):
        pass


def _action(args):
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    play_context = mock.MagicMock()
    play_context.check_mode = False
    action = ActionModule(task, _Connection(), play_context, loader=None, templar=None, shared_loader_obj=None)
    return action


@pytest.mark.parametrize('service', [True, False])
def test_the_confirmation_neither_chooses_again_nor_enables_the_service_next_to_firewalld(monkeypatch, service):
    args = dict(content='table inet portwarden {}', path='/etc/x.nft', rollback_timeout=30, enable_service=True,
                backend='auto', conflicting='stop')
    action = _action(args)
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append(dict(module_args))
        if module_args.get('_phase') == 'confirm':
            return {'changed': True, 'confirmed': True, 'service_changed': False}
        return {'changed': True, 'pending': module_args['_token'], 'backend': 'nftables', 'stopped': ['ufw'],
                'enable_nftables_service': service}
    monkeypatch.setattr(action, '_execute_module', execute)
    monkeypatch.setattr(ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})   # no connection needed
    result = action.run(task_vars={})
    assert result['confirmed'] is True and result['stopped'] == ['ufw'] and result['backend'] == 'nftables'
    apply, confirm = calls
    assert apply['backend'] == 'auto' and apply['conflicting'] == 'stop' and apply['enable_service'] is True
    assert 'backend' not in confirm and confirm['content'] == '' and confirm['_token'] == apply['_token']
    assert confirm['enable_service'] is service             # never enabled in the confirmation next to firewalld

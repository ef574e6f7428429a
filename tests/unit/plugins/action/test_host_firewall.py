# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall action plugin's wiring: the variables templated only where they are templates (with the real
templar), the role's template found, the steps run through their action plugins, and a bad value failing before
any step."""

from __future__ import annotations

import os
import time
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.portwarden.ports.plugins.action import host_firewall as action

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19: every string of the variables is a template
    def trust_as_template(value):
        return value

CATALOGUE = [{'name': 'web', 'port': 443, 'sources': ['10.0.0.0/8']}]


def make_action(args, task_vars, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.action = 'portwarden.ports.host_firewall'
    task.module_defaults = None
    templar = Templar(loader=DataLoader(), variables=task_vars)
    plugin = action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=templar,
                                 shared_loader_obj=None)
    plugin._shared_loader_obj = mock.MagicMock()
    return plugin, task


def test_a_template_is_rendered_without_rendering_every_element_of_the_list_it_gives():
    sources = ['10.%d.%d.0/29' % (i // 256 % 256, i % 256) for i in range(100000)]
    task_vars = {'portwarden_services': [{'name': 'big', 'port': 8443, 'sources': sources,
                                          'description': trust_as_template('{{ what }}')}], 'what': 'api'}
    plugin, dummy = make_action({}, task_vars)
    started = time.time()
    rendered = plugin._render(trust_as_template('{{ portwarden_services | default([]) }}'))
    took = time.time() - started
    assert rendered[0]['sources'] == sources and rendered[0]['description'] == 'api'
    if action.STOP_ON_CONTAINER is not None:
        assert took < 0.2, took           # rendering each of the 100,000 elements takes about 0.4 s
    assert plugin._render(trust_as_template('{{ 10 + 20 }}')) == 30


def test_the_roles_template_next_to_the_role_else_the_collections_own(tmp_path):
    (tmp_path / 'templates').mkdir()
    (tmp_path / 'templates' / 'portwarden.nft.j2').write_text('mine {{ __host_firewall_model.log_prefix }}\n')
    plugin, dummy = make_action({}, {})
    assert plugin._template_text({'role_path': str(tmp_path)}).startswith('mine ')
    own = plugin._template_text({})
    assert 'table inet portwarden' in own
    assert plugin._template_text({'role_path': str(tmp_path / 'nowhere')}) == own
    with open(os.path.join(action.OWN_ROLE, action.TEMPLATE), encoding='utf-8') as handle:
        assert handle.read() == own


def run_plugin(plugin, task_vars):
    with mock.patch.object(action.ActionBase, 'run', return_value={'warnings': ['base']}):
        return plugin.run(task_vars=task_vars)


def test_the_steps_run_through_their_action_plugins_with_the_rendered_table(tmp_path):
    (tmp_path / 'templates').mkdir()
    (tmp_path / 'templates' / 'portwarden.nft.j2').write_text(
        '{% for s in __host_firewall_model.services %}{{ s.name }} {{ s.elements_v4 }}{% endfor %}\n')
    task_vars = {'portwarden_services': CATALOGUE, 'role_path': str(tmp_path),
                 'host_firewall_rules_path': trust_as_template('{{ base }}/rules.nft'), 'base': '/etc/pw'}
    plugin, task = make_action({}, task_vars)
    loader = plugin._shared_loader_obj.action_loader
    loader.get.return_value.run.return_value = {'changed': False, 'backend': 'nftables', 'warnings': ['step']}
    result = run_plugin(plugin, task_vars)
    assert not result.get('failed') and result['ran'] == ['load'] and result['warnings'] == ['base', 'step']
    name, kwargs = loader.get.call_args
    assert name == ('portwarden.ports.nft_table',) and kwargs['task'] is task.copy.return_value
    args = task.copy.return_value.args
    assert args['content'] == 'web 10.0.0.0/8' and args['path'] == '/etc/pw/rules.nft'
    loader.get.return_value.run.assert_called_with(task_vars=task_vars)
    assert result['catalogue_cache'] == 'miss'
    # another host with the same catalogue, another rules path and another template: the catalogue's model kept on the
    # controller (under the session's ANSIBLE_HOME), the rest of this host's own
    task_vars['base'] = '/etc/pw2'
    (tmp_path / 'templates' / 'portwarden.nft.j2').write_text('{% for s in __host_firewall_model.services %}{{ s.name }}{% endfor %}\n')
    plugin, task = make_action({}, task_vars)
    plugin._shared_loader_obj.action_loader.get.return_value.run.return_value = {'changed': False, 'backend': 'nftables'}
    again = run_plugin(plugin, task_vars)
    assert again['catalogue_cache'] == 'hit' and task.copy.return_value.args['content'] == 'web'
    assert task.copy.return_value.args['path'] == '/etc/pw2/rules.nft'


def test_a_bad_value_fails_before_any_step_naming_the_variable():
    task_vars = {'portwarden_services': CATALOGUE, 'host_firewall_rollback_timeout': -1}
    plugin, dummy = make_action({}, task_vars)
    result = run_plugin(plugin, task_vars)
    assert result['failed'] is True and 'host_firewall_rollback_timeout' in result['msg']
    assert not plugin._shared_loader_obj.action_loader.get.called
    plugin, dummy = make_action({'rollback_timeot': 3}, task_vars)
    result = run_plugin(plugin, task_vars)
    assert result['failed'] is True and 'unknown option(s) rollback_timeot' in result['msg']


def test_an_undefined_variable_fails_naming_the_roles_variable():
    task_vars = {'host_firewall_services': trust_as_template('{{ nope }}')}
    plugin, dummy = make_action({}, task_vars)
    result = run_plugin(plugin, task_vars)
    assert result['failed'] is True and result['msg'].startswith('host_firewall_services: the value does not render')
    assert 'nope' in result['msg'] and not plugin._shared_loader_obj.action_loader.get.called


def test_a_missing_action_plugin_is_a_clear_failure():
    plugin, dummy = make_action({}, {})
    plugin._shared_loader_obj.action_loader.get.return_value = None
    with pytest.raises(AnsibleActionFail, match='the action plugin portwarden.ports.nft_table is not installed'):
        action.run_action(plugin, 'portwarden.ports.nft_table', {}, {})

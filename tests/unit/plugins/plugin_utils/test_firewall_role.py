# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall role's one task: reading the variables, the plan, and firewall_role.apply over a simulated host.

The host here answers as nft_table, ansible.builtin.package and firewalld_policy do; the same task runs on a real
kernel in tests/integration/test_host_firewall*.py and in the Molecule scenarios host_firewall and firewalld.
"""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import firewall_role, gc_pause

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'host_firewall')
CATALOGUE = [{'name': 'web', 'port': 443}, {'name': 'api', 'port': 8443, 'sources': ['10.0.0.0/8']}]


def values(**overrides):
    out = dict(firewall_role.DEFAULTS, services=CATALOGUE)
    out.update(overrides)
    return out


def never(value):
    raise AssertionError('templated: %r' % (value,))


# -- reading the variables ----------------------------------------------------------------------------------------
def test_defaults_are_the_roles_defaults():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    assert defaults.pop('host_firewall_services') == '{{ portwarden_services | default([]) }}'
    assert dict((firewall_role.PREFIX + k, v) for k, v in firewall_role.DEFAULTS.items() if k != 'services') == defaults


def test_an_option_wins_over_the_variable_and_the_variable_over_the_default():
    host_vars = {'host_firewall_log_rate': '6/minute', 'host_firewall_log': False, 'portwarden_services': CATALOGUE}
    read = firewall_role.read({'log_rate': '7/minute'}, host_vars, never)
    assert read['log_rate'] == '7/minute' and read['log'] is False and read['scan_ban'] == 600
    assert read['services'] == CATALOGUE                 # host_firewall_services not defined: portwarden_services
    assert firewall_role.read({}, {}, never)['services'] == []


def test_unknown_option_is_refused_naming_it_and_the_allowed_ones():
    with pytest.raises(PortwardenError) as err:
        firewall_role.read({'log_rat': '5/minute'}, {}, never)
    assert 'log_rat' in err.value.msg and 'log_rate' in err.value.msg


def test_only_strings_that_may_be_templates_are_templated():
    seen = []

    def template(text):
        seen.append(text)
        return text.replace('{{ net }}', '10.9.0.0/16')

    sources = ['10.%d.%d.0/24' % (i // 256, i % 256) for i in range(20000)] + ['{{ net }}']
    read = firewall_role.read({}, {'host_firewall_services': [{'name': 'big', 'port': 80, 'sources': sources}]}, template)
    assert seen == ['{{ net }}']
    assert read['services'][0]['sources'][-1] == '10.9.0.0/16' and read['services'][0]['sources'][0] == '10.0.0.0/24'


def test_a_variable_that_does_not_render_is_named():
    def template(text):
        raise ValueError("'nope' is undefined\nmore")

    with pytest.raises(PortwardenError) as err:
        firewall_role.read({}, {'host_firewall_rules_path': '{{ nope }}'}, template)
    assert err.value.msg == "host_firewall_rules_path: the value does not render: 'nope' is undefined"


# -- the plan -----------------------------------------------------------------------------------------------------
def test_plan_gives_nft_table_checked_values():
    the_plan = firewall_role.plan(values(rollback_timeout='45', nftables_conf='/etc/x.conf'))
    assert the_plan['load'] == {
        'family': 'inet', 'name': 'portwarden', 'path': '/etc/portwarden/portwarden.nft', 'rollback_timeout': 45,
        'state_dir': '/var/lib/portwarden', 'mode': '0644', 'enable_service': True, 'lock_timeout': 120,
        'keep_sets': ['banned_v4', 'banned_v6'], 'unban': [], 'backend': 'auto', 'conflicting': 'fail',
        'include_in': '/etc/x.conf'}
    assert the_plan['install'] is True and the_plan['model']['services'][1]['elements_v4'] == '10.0.0.0/8'
    assert the_plan['firewalld'] == {'services': CATALOGUE, 'zone': '', 'management_ports': [22], 'management_sources': [],
                                     'rollback_timeout': 45, 'state_dir': '/var/lib/portwarden'}


def test_plan_without_persistence_scan_detection_or_install():
    the_plan = firewall_role.plan(values(persist='no', scan_detect=False, install='false'))
    assert 'include_in' not in the_plan['load'] and the_plan['load']['enable_service'] is False
    assert the_plan['load']['keep_sets'] == [] and the_plan['install'] is False
    assert firewall_role.plan(values(enable_service=False))['load']['enable_service'] is False
    assert firewall_role.plan(values())['load']['include_in'] == 'auto'


# -- apply over a simulated host -----------------------------------------------------------------------------------
class Host(object):
    """Answers nft_table, the package step and firewalld_policy."""

    def __init__(self, nft=True, backend='nftables', changed=False, systemd=True, created=()):
        self.nft, self.backend, self.changed, self.systemd, self.created = nft, backend, changed, systemd, list(created)
        self.calls = []
        self.fail = {}

    def run(self, module, args, check_mode=None):
        self.calls.append((module, args))
        if module in self.fail:
            return dict(self.fail[module], failed=True)
        if module == 'nft_table':
            if not self.nft:
                return {'failed': True, 'nft_missing': True, 'msg': 'the nft binary was not found (host_firewall_install)'}
            answer = {'changed': self.changed, 'backend': self.backend, 'stopped': [], 'table_changed': self.changed,
                      'include_file': '/etc/nftables.conf', 'systemd_running': self.systemd, 'warnings': ['from nft']}
            if self.changed:
                answer['diff'] = [{'before': '', 'after': 'table'}]
            return answer
        if module == 'ansible.builtin.package':
            self.nft = True
            return {'changed': True}
        if module == 'firewalld_policy':
            return {'changed': bool(self.created), 'zone': 'public', 'changes': {'create': self.created}}
        raise AssertionError(module)


def render(model):
    return 'table inet portwarden { # %d services }\n' % len(model['services'])


def test_nothing_to_change_is_one_step():
    host = Host()
    out = firewall_role.apply(values(), render, host.run)
    assert [m for m, _a in host.calls] == ['nft_table'] and out['ran'] == ['load']
    assert host.calls[0][1]['content'] == 'table inet portwarden { # 2 services }\n'
    assert out['changed'] is False and not out.get('failed') and out['notes'] == [] and out['nft_missing'] is False
    assert out['backend'] == 'nftables' and out['warnings'] == ['from nft'] and 'deprecations' not in out


def test_bad_value_fails_before_any_step_naming_the_variable():
    host = Host()
    out = firewall_role.apply(values(log_rate='often'), render, host.run)
    assert out['failed'] is True and 'host_firewall_log_rate' in out['msg'] and host.calls == []
    out = firewall_role.apply(values(services=[{'name': 'web', 'port': 70000}]), render, host.run)
    assert out['failed'] is True and 'service #0 (web)' in out['msg'] and host.calls == [] and out['changed'] is False


def test_missing_nft_is_installed_and_the_table_loaded_again():
    host = Host(nft=False, changed=True)
    out = firewall_role.apply(values(), render, host.run)
    assert [m for m, _a in host.calls] == ['nft_table', 'ansible.builtin.package', 'nft_table']
    assert host.calls[1][1] == {'name': 'nftables', 'state': 'present'} and host.calls[2][1] == host.calls[0][1]
    assert out['ran'] == ['load', 'install', 'reload'] and out['nft_missing'] is True and out['install'] == {'changed': True}
    assert out['changed'] is True and out['table_changed'] is True and not out.get('failed')
    # check, apply, check, apply: once installed, one step that changes nothing
    host.changed = False
    again = firewall_role.apply(values(), render, host.run)
    assert again['ran'] == ['load'] and again['changed'] is False and 'install' not in again


def test_missing_nft_in_check_mode_predicts_the_install_and_loads_nothing():
    host = Host(nft=False)

    def run(module, args, check_mode=None):
        if module == 'ansible.builtin.package':
            host.calls.append((module, args))
            return {'changed': True}      # predicted: nothing installed
        return host.run(module, args, check_mode)

    out = firewall_role.apply(values(), render, run, check_mode=True)
    assert out['ran'] == ['load', 'install'] and out['changed'] is True and not out.get('failed')
    assert out['nft_missing'] is True and 'would be installed' in out['msg']


def test_missing_nft_without_install_fails_with_the_modules_message():
    host = Host(nft=False)
    out = firewall_role.apply(values(install=False), render, host.run)
    assert out['failed'] is True and out['nft_missing'] is True and out['ran'] == ['load']
    assert 'nft binary was not found' in out['msg'] and len(host.calls) == 1


def test_a_failed_install_fails_naming_the_step():
    host = Host(nft=False)
    host.fail['ansible.builtin.package'] = {'msg': 'No package matching nftables'}
    out = firewall_role.apply(values(), render, host.run)
    assert out['failed'] is True and out['ran'] == ['load', 'install'] and out['msg'].startswith('host_firewall (install step): ')
    assert 'No package matching' in out['msg'] and out['install']['failed'] is True


def test_a_failed_load_keeps_nft_tables_keys():
    host = Host()
    host.fail['nft_table'] = {'msg': 'ROLLED BACK', 'rolled_back': True, 'changed': True}
    out = firewall_role.apply(values(), render, host.run)
    assert out['failed'] is True and out['msg'] == 'ROLLED BACK' and out['rolled_back'] is True and out['ran'] == ['load']


def test_without_systemd_a_written_table_says_why_the_service_was_not_enabled():
    for check_mode, words in ((True, 'would not be enabled'), (False, 'was not enabled')):
        out = firewall_role.apply(values(), render, Host(changed=True, systemd=False).run, check_mode=check_mode)
        assert len(out['notes']) == 1 and words in out['notes'][0] and out['notes'][0] in out['warnings']
        assert '/etc/nftables.conf' in out['notes'][0] and '/etc/portwarden/portwarden.nft' in out['notes'][0]
    # not again on a run that changes nothing
    assert firewall_role.apply(values(), render, Host(systemd=False).run)['notes'] == []


def test_firewalld_backend_opens_the_catalogue_and_says_what_it_does_not_cover_the_first_time():
    host = Host(backend='firewalld', created=['portwarden-web'])
    out = firewall_role.apply(values(), render, host.run)
    assert out['ran'] == ['load', 'firewalld'] and host.calls[1] == ('firewalld_policy', firewall_role.plan(values())['firewalld'])
    assert out['changed'] is True and out['firewalld']['zone'] == 'public'
    assert len(out['notes']) == 1 and 'scan detection' in out['notes'][0] and 'published' in out['notes'][0]
    host.created = []
    again = firewall_role.apply(values(filter_published=False), render, host.run)
    assert again['changed'] is False and again['notes'] == []


def test_a_failed_firewalld_step_fails_with_its_result_under_its_key():
    host = Host(backend='firewalld')
    host.fail['firewalld_policy'] = {'msg': 'firewalld is not running'}
    out = firewall_role.apply(values(), render, host.run)
    assert out['failed'] is True and out['backend'] == 'firewalld' and out['firewalld']['failed'] is True
    assert out['msg'] == 'host_firewall (firewalld step): firewalld is not running'
    # a rollback of the firewalld step is said on top, as the lockout guard's callers read it
    host.fail['firewalld_policy'] = {'msg': 'ROLLED BACK: ...', 'rolled_back': True, 'confirmed': False, 'changed': True}
    out = firewall_role.apply(values(), render, host.run)
    assert out['rolled_back'] is True and out['confirmed'] is False and out['changed'] is True


def test_the_garbage_collector_is_held_off_only_while_the_catalogue_is_built():
    import gc
    seen = []

    def render(model):
        seen.append(gc.isenabled())
        return 'table inet portwarden {}\n'

    def run(module, args, check_mode=None):
        seen.append(gc.isenabled())
        return {'changed': False, 'backend': 'nftables'}
    assert gc.isenabled()
    firewall_role.apply(firewall_role.read({}, {}, lambda text: text), render, run)
    assert seen == [False, True] and gc.isenabled()
    gc.disable()
    try:                                                    # held off before: still held off after
        with gc_pause.cyclic_gc_paused():
            raise_inside = False
        assert not gc.isenabled() and raise_inside is False
    finally:
        gc.enable()
    with pytest.raises(ValueError):
        with gc_pause.cyclic_gc_paused():
            raise ValueError('inside')
    assert gc.isenabled()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ephemeral_ports role's plan (plugin_utils/policy.py), with the role's own defaults."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.filter import ephemeral_ports as filters
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import policy

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..')
CATALOGUE = [{'name': 'ssh', 'port': 22}, {'name': 'node-ports', 'port': '30000-32767'},
             {'name': 'legacy-api', 'port': 45000}, {'name': 'dns', 'port': 53, 'proto': 'udp'}]


def defaults(**overrides):
    with open(os.path.join(REPO, 'roles', 'ephemeral_ports', 'defaults', 'main.yml')) as handle:
        role_vars = yaml.safe_load(handle)
    role_vars['ephemeral_ports_services'] = CATALOGUE
    role_vars.update(('ephemeral_ports_' + k, v) for k, v in overrides.items())
    return role_vars


def host(start, end, reserved=''):
    """What port_info returns, on every OS, for the keys the plan reads."""
    return {'ephemeral_range': {'start': start, 'end': end, 'size': end - start + 1},
            'reserved_ports': {'ports': reserved, 'list': []}, 'conflicts': []}


# Each OS's port_info as the plan sees it: Linux (procfs), FreeBSD/macOS (no per-port reservation), Windows (netsh:
# the first table's range and its administered exclusions).
HOSTS = {'linux': host(32768, 60999, '22'), 'freebsd': host(10000, 65535), 'windows': host(49152, 65535, '50000-50059')}


def test_defaults_reserve_inside_the_range_in_one_module_call():
    plan = policy.plan(defaults(range={'start': 32000, 'end': 60999}))
    assert plan['read'] is False and plan['sysctl_file'] is None and plan['conntrack_max'] is None
    assert plan['ports'] == '22,53,30000-32767,45000'
    state = policy.state(plan)
    assert state['target'] == {'start': 32000, 'end': 60999}
    assert state['reserve'] == ['32000-32767', 45000] and state['module'] == 'ephemeral_range'
    assert state['exposed'] == '' and state['fail'] == '' and state['exact'] is None
    # The module reports nothing to do: nothing is left to check, verify or say (finish.yml is skipped).
    unchanged = {'changed': False, 'after': {'start': 32000, 'end': 60999},
                 'reserved': {'after': {'ports': '32000-32767,45000'}}}
    assert policy.state(plan, set_range=unchanged)['finish'] is False


@pytest.mark.parametrize('system', sorted(HOSTS))
def test_null_range_plan_on_each_os_takes_the_hosts_range_and_its_own_file(system):
    plan = policy.plan(defaults())
    assert plan['read'] is True and plan['sysctl_file'] is None
    assert policy.state(plan)['target'] is None  # not before the read it needs
    before = HOSTS[system]
    state = policy.state(plan, before=before)
    erange = before['ephemeral_range']
    assert state['target'] == {'start': erange['start'], 'end': erange['end']}
    expected = {'linux': [45000], 'freebsd': ['30000-32767', 45000], 'windows': []}[system]
    assert state['reserve'] == expected
    assert state['module'] == ('reserved_ports' if expected else None)
    # The role passes sysctl_file only when the user set one: each OS's module then picks its own file.
    assert plan['sysctl_file'] is None


@pytest.mark.parametrize('system', sorted(HOSTS))
def test_fail_policy_on_each_os_names_the_ports_the_services_and_the_range(system):
    plan = policy.plan(defaults(range={'start': 30000, 'end': 50001}, conflict_action='fail'))
    assert plan['read'] is True
    state = policy.state(plan, before=HOSTS[system])
    assert state['exposed'] == '30000-32767,45000'
    assert 'Catalogue port(s) 30000-32767,45000 (node-ports, legacy-api) fall inside the ephemeral range 30000-50001' \
        in state['fail'] and 'Nothing was changed' in state['fail']
    assert state['reserve'] == [] and state['module'] == 'ephemeral_range'


def test_fail_passes_when_the_hosts_reservations_cover_the_ports():
    plan = policy.plan(defaults(range={'start': 40000, 'end': 50001}, conflict_action='fail'))
    assert policy.state(plan, before=host(32768, 60999, '45000'))['fail'] == ''
    exact = policy.plan(defaults(range={'start': 40000, 'end': 50001}, conflict_action='fail', reserved_state='exact'))
    assert policy.state(exact, before=host(32768, 60999, '45000'))['exposed'] == '45000', 'exact releases the host\'s own'


def test_warn_leaves_the_ports_and_says_so_after_the_change():
    plan = policy.plan(defaults(range={'start': 32000, 'end': 60999}, conflict_action='warn'))
    before = host(32768, 60999)
    state = policy.state(plan, before=before)
    assert state['reserve'] == [] and state['exposed'] == '32000-32767,45000' and state['fail'] == ''
    set_range = {'changed': True, 'after': {'start': 32000, 'end': 60999, 'size': 29000}}
    after = policy.state(plan, before=before, set_range=set_range, check_mode=True)
    assert after['warning'].startswith('WARNING: catalogue port(s) 32000-32767,45000 (node-ports, legacy-api)')
    assert after['check_failed'] == '' and after['finish'] and after['verify_on_host'] is False
    assert 'Check mode' in after['note']


def test_extra_reservations_and_exact_release():
    plan = policy.plan(defaults(reserved=['50000-50001', 9999], reserved_state='exact'))
    state = policy.state(plan, before=host(32768, 60999, '9999,12345'))
    assert state['reserve'] == [9999, 45000, '50000-50001'] and state['exact'] == state['reserve']
    exact = {'changed': True, 'after': {'ports': '9999,45000,50000-50001'}}
    reserve = {'changed': True, 'after': {'ports': '9999,12345,45000,50000-50001'}}
    after = policy.state(plan, before=host(32768, 60999, '9999,12345'), reserve=reserve, exact=exact)
    assert after['after_reserved'] == '9999,45000,50000-50001' and after['exposed_after'] == ''
    assert after['changed'] and after['verify_on_host'] and after['finish']


def test_the_state_after_the_modules_is_checked_on_their_results():
    plan = policy.plan(defaults(range={'start': 32000, 'end': 60999}))
    # A module that reports a reservation short of the plan: the check says which port is still exposed.
    short = {'changed': True, 'after': {'start': 32000, 'end': 60999}, 'reserved': {'after': {'ports': '32000-32767'}}}
    state = policy.state(plan, set_range=short)
    assert state['exposed_after'] == '45000'
    assert state['check_failed'] == ('After the change, catalogue port(s) 45000 would still be inside the ephemeral range '
                                     '32000-60999 unreserved (reservations: 32000-32767).')
    unchanged = {'changed': False, 'after': {'start': 32000, 'end': 60999}, 'reserved': {'after': {'ports': '32000-32767,45000'}}}
    assert policy.state(plan, set_range=unchanged)['finish'] is False
    skipped = {'skipped': True, 'changed': False}
    assert policy.state(policy.plan(defaults(range={'start': 61000, 'end': 61999})), set_range=skipped)['after_reserved'] is None


def test_verification_and_listeners_from_the_read_after_a_change():
    plan = policy.plan(defaults(range={'start': 32000, 'end': 60999}))
    changed = {'changed': True, 'after': {'start': 32000, 'end': 60999}, 'reserved': {'after': {'ports': '32000-32767,45000'}}}
    after = dict(host(32000, 60999, '32000-32767,45000'), conflicts=[
        {'type': 'service_in_range', 'msg': 'legacy-api 45000 is inside.'},
        {'type': 'listener_in_range', 'msg': 'Port 47001 listens inside the range.'}])
    state = policy.state(plan, set_range=changed, after=after)
    assert state['verify_on_host'] and state['verify_failed'] == 'legacy-api 45000 is inside.'
    assert state['listeners'] == ['Port 47001 listens inside the range.']
    # Nothing changed: the listeners of the first read (the same state), when it ran.
    null_plan = policy.plan(defaults())
    assert policy.state(null_plan, before=after)['listeners'] == ['Port 47001 listens inside the range.']
    assert policy.state(null_plan, before=after, reserve=dict(changed, after={'ports': ''}))['listeners'] == []


def test_conntrack_max_with_a_null_range_writes_the_hosts_range_back_in_the_same_task():
    plan = policy.plan(defaults(conntrack_max='524288'))
    assert plan['conntrack_max'] == 524288 and plan['read']
    state = policy.state(plan, before=HOSTS['linux'])
    assert state['module'] == 'ephemeral_range' and state['target'] == {'start': 32768, 'end': 60999}


@pytest.mark.parametrize('value, expected', [
    (True, True), (False, False), ('false', False), ('no', False), ('yes', True), ('True', True), ('off', False),
    ('1', True), (0, False), ('n', False),
])
def test_booleans_given_as_strings(value, expected):
    plan = policy.plan(defaults(persist=value, verify=value))
    assert plan['persist'] is expected and plan['verify'] is expected


@pytest.mark.parametrize('overrides, words', [
    ({'persist': 'maybe'}, ['ephemeral_ports_persist', "'maybe'", 'expected a boolean']),
    ({'verify': 2.5}, ['ephemeral_ports_verify', '2.5']),
    ({'verify': None}, ['ephemeral_ports_verify', 'None']),
    ({'sysctl_file': 'sysctl.d/90.conf'}, ['ephemeral_ports_sysctl_file', "'sysctl.d/90.conf' is a relative path"]),
    ({'sysctl_file': './x.conf'}, ['ephemeral_ports_sysctl_file', 'relative path']),
    ({'sysctl_file': ['/etc/x']}, ['ephemeral_ports_sysctl_file', 'expected an absolute path']),
    ({'reserved': [22, '70000']}, ['ephemeral_ports_reserved', "entry #1 ('70000')", "Invalid port '70000'"]),
    ({'reserved': ['10-5']}, ['ephemeral_ports_reserved', "entry #0 ('10-5')"]),
    ({'reserved': [{'port': 1}]}, ['ephemeral_ports_reserved', 'entry #0']),
    ({'reserved': ['22;reboot']}, ['ephemeral_ports_reserved', "'22;reboot'"]),
    ({'range': {'start': 60999, 'end': 32768}}, ['ephemeral_ports_range 60999-32768 is not a port range']),
    ({'range': {'start': 0, 'end': 32768}}, ['ephemeral_ports_range.start', '0', '1 to 65535']),
    ({'range': {'start': 1024, 'end': 65536}}, ['ephemeral_ports_range.end', '65536']),
    ({'range': {'start': 'low', 'end': 65000}}, ['ephemeral_ports_range.start', "'low'"]),
    ({'range': {'start': 1024}}, ['ephemeral_ports_range', 'start and end']),
    ({'range': {'start': 1024, 'end': 2000, 'step': 2}}, ['ephemeral_ports_range', 'unknown key(s) step']),
    ({'range': '32768-60999'}, ['ephemeral_ports_range', "'32768-60999'", 'dictionary']),
    ({'conflict_action': 'ignore'}, ['ephemeral_ports_conflict_action', "'ignore'", 'reserve, fail, warn']),
    ({'reserved_state': 'absent'}, ['ephemeral_ports_reserved_state', "'absent'", 'present, exact']),
    ({'conntrack_max': 0}, ['ephemeral_ports_conntrack_max', '0', '1 to 2147483647']),
    ({'conntrack_max': 'lots'}, ['ephemeral_ports_conntrack_max', "'lots'"]),
    ({'conntrack_max': True}, ['ephemeral_ports_conntrack_max', 'True']),
    ({'services': [{'name': 'web', 'port': 'http'}]}, ['ephemeral_ports_services', 'service #0 (web)', "'http'"]),
    ({'services': 'ssh'}, ['ephemeral_ports_services', "'ssh'"]),
    ({'services': [{'name': 'a', 'port': 1}, {'name': 'a', 'port': 2}]}, ['ephemeral_ports_services', 'used twice']),
])
def test_bad_values_name_the_variable_the_entry_and_the_value(overrides, words):
    with pytest.raises(PortwardenError) as info:
        policy.plan(defaults(**overrides))
    for word in words:
        assert word in info.value.msg, info.value.msg
    assert '__ephemeral_ports' not in info.value.msg
    with pytest.raises(AnsibleFilterError) as info:
        filters.ephemeral_ports_plan(defaults(**overrides))
    assert words[0] in str(info.value)
    assert filters.ephemeral_ports_plan(defaults(**overrides), 'return') == {'error': info.value.message}


def test_the_filters_turn_errors_into_filter_errors():
    assert filters.FilterModule().filters()['ephemeral_ports_state'] is filters.ephemeral_ports_state
    plan = filters.ephemeral_ports_plan(defaults(range={'start': 32000, 'end': 60999}))
    assert filters.ephemeral_ports_state(plan)['reserve'] == ['32000-32767', 45000]
    assert plan['error'] == ''
    with pytest.raises(AnsibleFilterError, match="invalid errors 'ignore'"):
        filters.ephemeral_ports_plan(defaults(), 'ignore')
    with pytest.raises(AnsibleFilterError, match='expected a dictionary of the role variables'):
        filters.ephemeral_ports_plan(['x'])
    with pytest.raises(AnsibleFilterError, match='ephemeral_ports_state: invalid input'):
        filters.ephemeral_ports_state({'range': None})
    assert policy.plan(defaults(sysctl_file='/etc/sysctl.d/../sysctl.d/80-x.conf'))['sysctl_file'] == '/etc/sysctl.d/80-x.conf'
    # A home directory is the host user's, expanded by the module there, not on the controller.
    assert policy.plan(defaults(sysctl_file='~/sysctl.conf'))['sysctl_file'] == '~/sysctl.conf'


@pytest.mark.parametrize('entry', [None, '', '  '])
def test_an_empty_reservation_entry_is_refused(entry):
    with pytest.raises(PortwardenError, match=r'ephemeral_ports_reserved: entry #1 \(.*\) is empty'):
        policy.plan(defaults(reserved=[22, entry]))


def test_the_plans_defaults_are_the_roles_and_the_documented_ones():
    """policy.DEFAULTS (what the action takes for an option that neither the task nor a variable gives) is what
    the role's defaults/main.yml and the action's documentation say, value for value."""
    with open(os.path.join(REPO, 'roles', 'ephemeral_ports', 'defaults', 'main.yml')) as handle:
        role_defaults = yaml.safe_load(handle)
    # the role's catalogue default is the shared variable; without it the plan's is the empty list
    assert role_defaults.pop('ephemeral_ports_services') == '{{ portwarden_services | default([]) }}'
    assert dict((policy.PREFIX + k, v) for k, v in policy.DEFAULTS.items() if k != 'services') == role_defaults
    from ansible_collections.portwarden.ports.plugins.modules import ephemeral_ports as docs

    options = yaml.safe_load(docs.DOCUMENTATION)['options']
    assert sorted(options) == sorted(policy.DEFAULTS)
    assert dict((name, option.get('default')) for name, option in options.items()) == policy.DEFAULTS


def test_a_catalogue_with_many_sources_is_validated_with_the_controllers_parser_and_a_bad_one_named():
    sources = ['10.%d.%d.0/24' % (i // 256, i % 256) for i in range(20000)]
    catalogue = CATALOGUE + [{'name': 'grpc', 'port': 50051, 'sources': sources}]
    plan = policy.plan(defaults(services=catalogue, range={'start': 32768, 'end': 60999}))
    assert plan['services'][-1] == ['grpc', 50051, 50051] and plan['ports'].endswith(',50051')
    for bad in ('10.0.0.1/24', '10.300.0.0/24', '10.0.0.0/33', ' 10.0.0.0/24'):
        with pytest.raises(PortwardenError) as err:
            policy.plan(defaults(services=CATALOGUE + [{'name': 'grpc', 'port': 50051, 'sources': sources[:9000] + [bad]}],
                                 range={'start': 32768, 'end': 60999}))
        assert err.value.msg.startswith('ephemeral_ports_services') and 'grpc' in err.value.msg, err.value.msg
        assert bad.strip() in err.value.msg, err.value.msg

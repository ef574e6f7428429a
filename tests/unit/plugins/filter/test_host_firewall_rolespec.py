# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall role's own validation is at least as strict as its argument spec.

The role may then be imported with ``rolespec_validate: false`` (no argument validation task). The role's own
validation is its one task, the action portwarden.ports.host_firewall (tasks/main.yml, without options): it reads
every ``host_firewall_*`` variable (plugin_utils/firewall_role.py ``read``) and validates them before any step
(``plan``); this test runs those two functions on the variables, as the action does, and checks that the role's task
gives no option that would replace a variable. For every option of meta/argument_specs.yml (and every field of a
catalogue entry), on a corpus of values: whatever Ansible's ArgumentSpecValidator refuses with the role's spec, the
role refuses too, naming the variable (or the entry and the field). The integration test
(tests/integration/test_host_firewall_rolespec.py) runs the role itself with one bad value per option.
"""

from __future__ import annotations

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import firewall_role

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'host_firewall')

CORPUS = [None, True, False, 0, 1, -1, 30, 1.5, 2.0, '', ' ', 'banana', 'yes', 'no', '30', '-5', '1.5', 'x y', 'a,b',
          'rel/path', '/abs/path', 'auto', 'stop', 'drop', '5/minute', '10.0.0.0/8', '192.0.2.1', 'public',
          [], ['x'], [22], ['10.0.0.0/8'], [None], [['x']], [{'a': 1}], {}, {'a': 1}, 'a=1']
FIELD_CORPUS = [None, True, 0, 70000, 22, 1.5, '', 'x y', 'web', 'tcp', 'sctp', '22', '1-100', 'a,b', '5/minute',
                '10.0.0.0/8', [], ['10.0.0.0/8'], ['x'], [None], {}, {'a': 1}]


def _load(name):
    with open(os.path.join(ROLE, name)) as handle:
        return yaml.safe_load(handle)


SPEC = _load('meta/argument_specs.yml')['argument_specs']['main']['options']


def role_task():
    """The role's one task (tasks/main.yml)."""
    tasks = _load('tasks/main.yml')
    assert len(tasks) == 1, tasks
    return tasks[0]


def not_templated(value):
    raise AssertionError('a plain value was templated: %r' % (value,))


def base_values():
    values = dict((name, option.get('default')) for name, option in SPEC.items())
    values['host_firewall_services'] = [{'name': 'web', 'port': 443}]
    return values


def spec_refuses(values, option):
    errors = ArgumentSpecValidator(SPEC).validate(values).errors
    return [str(error) for error in errors if option in str(error)]


def role_refusal(values):
    """The role's message for these variables (read and validated as its task does), or None when it accepts them."""
    template = not_templated if not any(isinstance(v, str) and '{' in v for v in values.values()) else (lambda v: v)
    try:
        firewall_role.plan(firewall_role.read(role_task()['portwarden.ports.host_firewall'] or {}, values, template))
    except PortwardenError as exc:
        return exc.msg
    return None


def test_the_role_passes_every_variable_of_its_spec_to_its_validation():
    task = role_task()
    # the task gives no option: every variable is read by the action (an option would replace the variable)
    assert set(task) - {'name', 'register'} == {'portwarden.ports.host_firewall'} and not task['portwarden.ports.host_firewall']
    read = set(firewall_role.PREFIX + name for name in firewall_role.DEFAULTS)
    assert sorted(set(SPEC) - read) == []
    assert sorted(read - set(SPEC)) == []


def test_the_defaults_pass_both():
    values = base_values()
    assert ArgumentSpecValidator(SPEC).validate(values).errors.messages == []
    assert role_refusal(values) is None


@pytest.mark.parametrize('option', sorted(SPEC))
def test_what_the_spec_refuses_the_role_refuses_naming_the_variable(option):
    missed, refused_by_role = [], 0
    for value in CORPUS:
        values = dict(base_values(), **{option: value})
        by_spec = spec_refuses(values, option)
        message = role_refusal(values)
        if message is not None:
            refused_by_role += 1
            assert option in message, (value, message)
        if by_spec and message is None:
            missed.append((value, by_spec))
    assert missed == []
    # every option is checked by the role for something (also the text options the spec takes whatever they are)
    assert refused_by_role > 0


@pytest.mark.parametrize('field', sorted(SPEC['host_firewall_services']['options']))
def test_catalogue_fields_the_spec_refuses_the_role_refuses_naming_entry_and_field(field):
    missed = []
    for value in FIELD_CORPUS:
        entry = {'name': 'web', 'port': 443}
        entry[field] = value
        values = dict(base_values(), host_firewall_services=[entry])
        by_spec = spec_refuses(values, 'host_firewall_services')
        message = role_refusal(values)
        if message is not None:
            assert 'host_firewall_services' in message and 'service #0' in message, (value, message)
            assert field in message or (field == 'name' and 'name' in message), (value, message)
        if by_spec and message is None:
            missed.append((value, by_spec))
    assert missed == []


@pytest.mark.parametrize('catalogue', [None, 'web', {'name': 'web', 'port': 443}, ['web'], [['x']], 'a=1'])
def test_a_catalogue_that_is_not_a_list_of_entries(catalogue):
    values = dict(base_values(), host_firewall_services=catalogue)
    assert spec_refuses(values, 'host_firewall_services')
    message = role_refusal(values)
    assert message is not None and 'host_firewall_services' in message

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role's meta/argument_specs.yml (main entry point) mirrors its defaults/main.yml.

Generic: every directory under roles/ is checked, present and future. The
option names must be identical, each documented default must equal the value
in defaults/main.yml (an option without ``default`` must be null there), and
every literal default must have the documented type.
"""

from __future__ import annotations

import os
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(REPO, 'roles')
ROLES = sorted(name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name))) \
    if os.path.isdir(ROLES_DIR) else []

TYPES = {
    'str': (str,), 'path': (str,), 'int': (int,), 'bool': (bool,), 'float': (float, int),
    'list': (list,), 'dict': (dict,), 'raw': (object,),
}


def _load(role, *parts):
    path = os.path.join(ROLES_DIR, role, *parts)
    assert os.path.isfile(path), 'role %s has no %s' % (role, '/'.join(parts))
    with open(path) as handle:
        return yaml.safe_load(handle)


def _spec_and_defaults(role):
    specs = _load(role, 'meta', 'argument_specs.yml')
    assert isinstance(specs, dict) and 'main' in (specs.get('argument_specs') or {}), \
        'role %s: meta/argument_specs.yml has no argument_specs.main entry point' % role
    options = specs['argument_specs']['main'].get('options') or {}
    defaults = _load(role, 'defaults', 'main.yml') or {}
    return options, defaults


def test_there_are_roles():
    assert 'ephemeral_ports' in ROLES


@pytest.mark.parametrize('role', ROLES)
def test_option_names_match_defaults(role):
    options, defaults = _spec_and_defaults(role)
    only_spec = sorted(set(options) - set(defaults))
    only_defaults = sorted(set(defaults) - set(options))
    assert not only_spec and not only_defaults, (
        'role %s: argument_specs.yml and defaults/main.yml differ: only in argument_specs: %s; only in defaults: %s'
        % (role, only_spec, only_defaults))


@pytest.mark.parametrize('role', ROLES)
def test_documented_defaults_match(role):
    options, defaults = _spec_and_defaults(role)
    drift = []
    for name in sorted(set(options) & set(defaults)):
        documented = options[name].get('default')
        if documented != defaults[name]:
            drift.append('%s: argument_specs says %r, defaults/main.yml says %r' % (name, documented, defaults[name]))
    assert not drift, 'role %s: ' % role + '; '.join(drift)


@pytest.mark.parametrize('role', ROLES)
def test_options_are_prefixed_typed_and_described(role):
    options, defaults = _spec_and_defaults(role)
    problems = []
    for name, spec in sorted(options.items()):
        if not name.startswith(role + '_'):
            problems.append('%s is not prefixed with %s_' % (name, role))
        if not spec.get('description'):
            problems.append('%s has no description' % name)
        kind = spec.get('type', 'str')
        if kind not in TYPES:
            problems.append('%s has unknown type %r' % (name, kind))
            continue
        value = defaults.get(name)
        templated = isinstance(value, str) and '{{' in value
        if value is not None and not templated and not isinstance(value, TYPES[kind]):
            problems.append('%s: default %r is not of type %s' % (name, value, kind))
        if kind == 'int' and isinstance(value, bool):
            problems.append('%s: default %r is a bool, documented int' % (name, value))
        if 'choices' in spec and value is not None and not templated:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in spec['choices']]
            if bad:
                problems.append('%s: default %r not in choices %r' % (name, bad, spec['choices']))
    assert not problems, 'role %s: ' % role + '; '.join(problems)


def test_drift_is_detected(tmp_path, monkeypatch):
    """The checks above can fail: a role whose files disagree is reported."""
    role = tmp_path / 'roles' / 'demo_role'
    (role / 'meta').mkdir(parents=True)
    (role / 'defaults').mkdir()
    (role / 'meta' / 'argument_specs.yml').write_text(
        'argument_specs:\n  main:\n    options:\n      demo_role_a:\n        description: A.\n        type: int\n'
        '        default: 1\n      demo_role_b:\n        description: B.\n        type: bool\n        default: true\n')
    (role / 'defaults' / 'main.yml').write_text('demo_role_a: 2\ndemo_role_c: x\n')
    monkeypatch.setattr(sys.modules[__name__], 'ROLES_DIR', str(tmp_path / 'roles'))
    with pytest.raises(AssertionError, match=r"only in argument_specs: \['demo_role_b'\]; only in defaults: \['demo_role_c'\]"):
        test_option_names_match_defaults('demo_role')
    with pytest.raises(AssertionError, match="demo_role_a: argument_specs says 1, defaults/main.yml says 2"):
        test_documented_defaults_match('demo_role')


# -- the ephemeral_ports role validates every variable of its argument spec itself --------------------------------
# The enforce playbook imports the role with rolespec_validate: false (Ansible's validation task is one task entry per
# host); that is allowed only because the role's plan (plugins/plugin_utils/policy.py) refuses every value that
# Ansible's own validation of meta/argument_specs.yml refuses, before any change, naming the variable. The same is run
# on a real kernel, through the role, in tests/integration/test_ephemeral_ports_bad_input.py.

CATALOGUE = [{'name': 'ssh', 'port': 22}, {'name': 'grpc', 'port': 50051}]
# One value of each kind: every one that Ansible's validation refuses for an option must be refused by the plan too.
CORPUS = ['maybe', 'x', '', '22;reboot', -1, 0, 70000, 3.5, True, [1], ['x'], [{'a': 1}], {'a': 1}, {'start': 1},
          {'start': 1, 'end': 2, 'step': 3}, {'start': 'low', 'end': 2}, 'start=1 end=2']
# And for every option, values its documentation refuses that Ansible's type check lets through (a relative path, a
# conntrack size of 0, a catalogue entry that is no service): the plan refuses these as well.
DOCUMENTED_BAD = {
    'ephemeral_ports_range': [{'start': 60999, 'end': 32768}, {'start': 0, 'end': 100}, '32768-60999'],
    'ephemeral_ports_reserved': ['70000', ['10-5'], [None], ['']],
    'ephemeral_ports_reserved_state': ['absent', 'EXACT'],
    'ephemeral_ports_services': [[{'name': 'web', 'port': 'http'}], [{'name': 'web', 'port': 80, 'proto': 'sctp'}], 'ssh'],
    'ephemeral_ports_conflict_action': ['ignore', None],
    'ephemeral_ports_persist': ['sometimes', None],
    'ephemeral_ports_sysctl_file': ['sysctl.d/90-portwarden.conf', './x.conf', ['a']],
    'ephemeral_ports_conntrack_max': [0, -5, 'lots', 2 ** 31],
    'ephemeral_ports_verify': ['sometimes', None],
}


def _role_parameters(**overrides):
    options, defaults = _spec_and_defaults('ephemeral_ports')
    params = dict(defaults, ephemeral_ports_services=CATALOGUE)
    params.update(overrides)
    return options, params


def _ansible_refuses(options, params, name):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    try:
        errors = ArgumentSpecValidator(options).validate(params).errors
    except Exception as exc:  # pylint: disable=broad-except
        # Ansible's validator itself fails on some values of a dict option with sub-options ([1]): refused too
        return ['%s: %r' % (name, exc)]
    return [str(e) for e in errors if name in str(e)]


def _plan_refuses(params, name):
    from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
    from ansible_collections.portwarden.ports.plugins.plugin_utils import policy
    try:
        policy.plan(params)
    except PortwardenError as exc:
        return exc.msg
    return None


def test_every_option_of_the_role_has_documented_bad_values():
    options, dummy = _role_parameters()
    assert sorted(DOCUMENTED_BAD) == sorted(options)


def test_the_good_defaults_pass_both():
    options, params = _role_parameters()
    assert _plan_refuses(params, '') is None
    assert not _ansible_refuses(options, params, 'ephemeral_ports')


@pytest.mark.parametrize('name', sorted(DOCUMENTED_BAD))
def test_the_plan_refuses_what_ansible_refuses_naming_the_variable(name):
    """At least as strict as the argument spec: for each option and each value of the corpus that Ansible's own
    validation refuses, the plan refuses it too, and its message names the variable (and a value the spec lets
    through, such as a relative path, is refused by the plan where the documentation says so)."""
    options, dummy = _role_parameters()
    refused_by_ansible = 0
    for value in CORPUS:
        options, params = _role_parameters(**{name: value})
        if not _ansible_refuses(options, params, name):
            continue
        refused_by_ansible += 1
        msg = _plan_refuses(params, name)
        assert msg is not None, '%s=%r: Ansible refuses it, the plan accepts it' % (name, value)
        assert name in msg, '%s=%r: the message does not name the variable: %s' % (name, value, msg)
    # (type path converts any value to a string: only the documented bad values test it)
    assert refused_by_ansible or options[name]['type'] == 'path', 'the corpus does not test %s' % name
    for value in DOCUMENTED_BAD[name]:
        options, params = _role_parameters(**{name: value})
        msg = _plan_refuses(params, name)
        assert msg is not None and name in msg, '%s=%r: %s' % (name, value, msg)


def test_the_check_can_fail():
    """A plan that let a bad value through would be reported: the checks above are not vacuous."""
    options, params = _role_parameters(ephemeral_ports_persist='maybe')
    assert _ansible_refuses(options, params, 'ephemeral_ports_persist')
    assert _plan_refuses(dict(params, ephemeral_ports_persist=True), 'ephemeral_ports_persist') is None


def test_the_enforce_playbook_skips_ansibles_validation_only_for_the_role_that_validates_itself():
    with open(os.path.join(REPO, 'playbooks', 'enforce.yml')) as handle:
        plays = yaml.safe_load(handle)
    imports = dict((t['ansible.builtin.import_role']['name'], t['ansible.builtin.import_role'])
                   for play in plays for t in play.get('tasks', []) if 'ansible.builtin.import_role' in t)
    assert imports['portwarden.ports.ephemeral_ports'].get('rolespec_validate') is False
    assert not [play for play in plays if play.get('roles')], 'roles: cannot turn the validation off; import_role can'

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

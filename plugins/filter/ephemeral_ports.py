# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ephemeral_ports role's plan: thin filters over plugin_utils/policy.py (controller only)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import policy


def ephemeral_ports_plan(role_vars, errors='strict'):
    """Validate the role's variables once and return the plan.

    With ``errors='return'`` a bad value gives ``{'error': message}`` instead
    of a failed template, so that the role fails in a task of its own with
    the message alone (Ansible would wrap it in the name of the internal
    variable being set).
    """
    if errors not in ('strict', 'return'):
        raise AnsibleFilterError('ephemeral_ports_plan: invalid errors %r: allowed values are strict, return.' % (errors,))
    if not isinstance(role_vars, dict):
        raise AnsibleFilterError('ephemeral_ports_plan: expected a dictionary of the role variables, got %r.' % (role_vars,))
    try:
        return dict(policy.plan(role_vars), error='')
    except PortwardenError as exc:
        if errors == 'return':
            return {'error': exc.msg}
        raise AnsibleFilterError(exc.msg)


def ephemeral_ports_state(the_plan, before=None, set_range=None, reserve=None, exact=None, after=None, check_mode=False):
    """The role's decisions and the state after its module tasks."""
    try:
        return policy.state(the_plan, before, set_range, reserve, exact, after, check_mode=bool(check_mode))
    except (PortwardenError, KeyError, TypeError) as exc:
        raise AnsibleFilterError('ephemeral_ports_state: invalid input (%s): pass the output of ephemeral_ports_plan and '
                                 'the registered results of the role\'s tasks.' % (getattr(exc, 'msg', exc),))


class FilterModule(object):
    """The ephemeral_ports role's plan."""

    def filters(self):
        return {
            'ephemeral_ports_plan': ephemeral_ports_plan,
            'ephemeral_ports_state': ephemeral_ports_state,
        }

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.ephemeral_ports: the ephemeral_ports role's one task.

The plan and the order of the steps are plugin_utils/policy.py (``apply``);
this plugin runs each step through the action plugin of its module
(port_info, ephemeral_range, reserved_ports), as ansible.builtin.template runs
the copy action, so that each step chooses the OS as the module task would
(netsh on Windows, the bsd_* modules on FreeBSD and macOS, the module itself on
Linux: plugin_utils/netsh_action.py).

An option that the task does not give is taken from the variable
``ephemeral_ports_<option>`` (the role's variables, defaults/main.yml), else
its default: the role's task gives none, so only a variable that holds a
template is templated (each templated argument would be a Jinja compile in
every forked worker, once per host). The three action plugins are imported
here, in the controller's main process (which loads this plugin before it
forks the workers), so that no worker imports them again.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.portwarden.ports.plugins.plugin_utils import policy
from ansible_collections.portwarden.ports.plugins.plugin_utils.action_steps import run_action
# (imported for the forked workers, see above; loaded again through the action loader, from sys.modules)
from ansible_collections.portwarden.ports.plugins.action import ephemeral_range, port_info, reserved_ports  # noqa: F401 pylint: disable=unused-import


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        unknown = sorted(set(self._task.args) - set(policy.DEFAULTS))
        if unknown:
            raise AnsibleActionFail('ephemeral_ports: unknown option(s) %s: allowed are %s.'
                                    % (', '.join(unknown), ', '.join(sorted(policy.DEFAULTS))))
        role_vars = {}
        for name, default in policy.DEFAULTS.items():
            if name in self._task.args:
                value = self._task.args[name]
            else:
                value = self._templar.template((task_vars or {}).get(policy.PREFIX + name, default))
            role_vars[policy.PREFIX + name] = value

        def run_module(module, args, check_mode=None):
            return run_action(self, 'portwarden.ports.' + module, args, task_vars, check_mode)

        answer = policy.apply(role_vars, run_module, check_mode=self._task.check_mode)
        answer['warnings'] = list(result.pop('warnings', None) or []) + answer['warnings']
        result.update(answer)
        return result

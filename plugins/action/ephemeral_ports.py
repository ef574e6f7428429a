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
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.portwarden.ports.plugins.plugin_utils import policy


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
        role_vars = dict((policy.PREFIX + name, self._task.args.get(name, default))
                         for name, default in policy.DEFAULTS.items())

        def run_module(module, args, check_mode=None):
            return self._run_action(module, args, task_vars, check_mode)

        answer = policy.apply(role_vars, run_module, check_mode=self._task.check_mode)
        answer['warnings'] = list(result.pop('warnings', None) or []) + answer['warnings']
        result.update(answer)
        return result

    def _run_action(self, module, args, task_vars, check_mode):
        """One module of the collection through its own action plugin, with a copy of this task."""
        task = self._task.copy()
        task.args = args
        if check_mode is not None:
            task.check_mode = check_mode
        action = self._shared_loader_obj.action_loader.get(
            'portwarden.ports.' + module, task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=task_vars)

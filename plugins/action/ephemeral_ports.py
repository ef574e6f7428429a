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

try:  # ansible-core 2.19 and later
    from ansible.executor.module_common import _apply_action_arg_defaults
    get_action_args_with_defaults = None  # pylint: disable=invalid-name
except ImportError:  # ansible-core 2.16 to 2.18
    _apply_action_arg_defaults = None  # pylint: disable=invalid-name
    from ansible.executor.module_common import get_action_args_with_defaults

from ansible_collections.portwarden.ports.plugins.plugin_utils import policy
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
            return self._run_action(module, args, task_vars, check_mode)

        answer = policy.apply(role_vars, run_module, check_mode=self._task.check_mode)
        answer['warnings'] = list(result.pop('warnings', None) or []) + answer['warnings']
        result.update(answer)
        return result

    def _run_action(self, module, args, task_vars, check_mode):
        """One module of the collection through its own action plugin, with a copy of this task."""
        task = self._task.copy()
        task.args = self._with_module_defaults('portwarden.ports.' + module, args)
        if check_mode is not None:
            task.check_mode = check_mode
        action = self._shared_loader_obj.action_loader.get(
            'portwarden.ports.' + module, task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        if action is None:
            raise AnsibleActionFail('ephemeral_ports: the action plugin portwarden.ports.%s is not installed next to this one '
                                    '(a partial copy of the collection?).' % module)
        return action.run(task_vars=task_vars)

    def _with_module_defaults(self, fqcn, args):
        """The play's module_defaults for the step's module (its name or the group portwarden.ports.ports), as a task
        of that module would get them: Ansible applies them to this task's own action only. The step's own
        arguments win."""
        if not self._task.module_defaults:
            return args
        if _apply_action_arg_defaults is not None:
            return _apply_action_arg_defaults(fqcn, self._task, args, self._templar)
        return get_action_args_with_defaults(fqcn, args, self._task.module_defaults, self._templar,
                                             action_groups=self._task._parent._play._action_groups)

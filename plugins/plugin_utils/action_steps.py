# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A role's one task runs each step through the step module's own action plugin, as ansible.builtin.template runs
the copy action: with a copy of the task, the play's module_defaults for that module, and the task's connection."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

try:  # ansible-core 2.19 and later
    from ansible.executor.module_common import _apply_action_arg_defaults
    get_action_args_with_defaults = None  # pylint: disable=invalid-name
except ImportError:  # ansible-core 2.16 to 2.18
    _apply_action_arg_defaults = None  # pylint: disable=invalid-name
    from ansible.executor.module_common import get_action_args_with_defaults


def with_module_defaults(task, fqcn, args, templar):
    """The play's module_defaults for the step's module (its name or its group), as a task of that module would get
    them: Ansible applies them to the calling task's own action only. The step's own arguments win."""
    if not task.module_defaults:
        return args
    if _apply_action_arg_defaults is not None:
        return _apply_action_arg_defaults(fqcn, task, args, templar)
    return get_action_args_with_defaults(fqcn, args, task.module_defaults, templar,
                                         action_groups=task._parent._play._action_groups)  # pylint: disable=protected-access


def run_action(caller, fqcn, args, task_vars, check_mode=None):
    """Run the module ``fqcn`` through its action plugin from the action plugin ``caller``; return its result.
    ``check_mode`` None keeps the task's own."""
    # pylint: disable=protected-access
    task = caller._task.copy()
    task.args = with_module_defaults(caller._task, fqcn, args, caller._templar)
    if check_mode is not None:
        task.check_mode = check_mode
    action = caller._shared_loader_obj.action_loader.get(
        fqcn, task=task, connection=caller._connection, play_context=caller._play_context, loader=caller._loader,
        templar=caller._templar, shared_loader_obj=caller._shared_loader_obj)
    if action is None:
        raise AnsibleActionFail('%s: the action plugin %s is not installed (a partial copy of the collection?).'
                                % (caller._task.action, fqcn))
    return action.run(task_vars=task_vars)

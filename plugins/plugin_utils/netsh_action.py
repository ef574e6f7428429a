# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared shape of the three action plugins.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
plugin validates its arguments, runs netsh through the connection and parses
the output here, on the controller (netsh.py, netsh_plan.py). On every other
target the module runs exactly as it would without the plugin.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils.netsh import command_line


def is_windows_shell(shell):
    """True when the connection's shell plugin is PowerShell or cmd (a Windows target).

    ansible-core 2.16 to 2.19 set ``_IS_WINDOWS`` on both Windows shell plugins
    and ``SHELL_FAMILY`` to ``powershell`` or ``cmd``; either is enough.
    """
    if getattr(shell, '_IS_WINDOWS', False):
        return True
    return getattr(shell, 'SHELL_FAMILY', None) in ('powershell', 'cmd')


def runner(execute):
    """``run(argv)`` over ``execute(command_line) -> {'rc', 'stdout', 'stderr'}`` (the action's low-level execute)."""
    def run(argv):
        answer = execute(command_line(argv))
        return answer.get('rc'), answer.get('stdout') or '', answer.get('stderr') or ''
    return run


def action_result(result, report, diff_mode):
    """Merge a backend report into an action result the way a module's exit_json would."""
    warnings = report.pop('warnings', [])
    diff = report.pop('diff', None)
    result.update(report)
    if warnings:
        result['warnings'] = list(result.get('warnings', [])) + warnings
    if diff_mode and diff is not None:
        result['diff'] = diff
    return result


def action_failure(result, exc):
    """The one place a PortwardenError of the Windows path becomes a failed result."""
    result.update(exc.details)
    result['failed'] = True
    result['msg'] = exc.msg
    return result


class NetshActionBase(ActionBase):
    """Subclasses set MODULE and ARGUMENT_SPEC and implement ``netsh(run, args)``."""

    MODULE = ''
    ARGUMENT_SPEC = {}
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(NetshActionBase, self).run(tmp, task_vars)
        del tmp
        if is_windows_shell(self._connection._shell):
            return self._run_netsh(result)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _run_netsh(self, result):
        if self._task.async_val:
            raise AnsibleActionFail('%s on a Windows target runs netsh directly and does not support async.' % self.MODULE)
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            report = self.netsh(runner(self._low_level_execute_command), args)
        except PortwardenError as exc:
            return action_failure(result, exc)
        return action_result(result, report, self._task.diff)

    def netsh(self, run, args):
        """Return the report for ``args`` from netsh run through ``run``."""
        raise NotImplementedError

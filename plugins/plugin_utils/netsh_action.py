# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared shape of the three action plugins: the one place that chooses the OS backend.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
plugin validates its arguments, runs netsh through the connection and parses
the output here, on the controller (netsh.py, netsh_plan.py). On FreeBSD and
macOS it runs the internal module ``bsd_<name>``, on Linux the module
``<name>`` itself (or the one :meth:`NetshActionBase.module_call` names:
port_info's ``linux_port_info``), so that each payload carries one OS's host
code. The target's system comes from its facts (``ansible_system``); without them the
Linux module runs, and when it answers that the host is FreeBSD or macOS
(module_utils/backend.py, ``check_system``) the BSD module runs once more in
its place: one extra round trip on such hosts, none on Linux.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.portwarden.ports.plugins.module_utils import backend
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


def known_system(task_vars, delegated=False):
    """The target's system from its gathered facts (``Linux``, ``FreeBSD``, ``Darwin`` ...), or None.

    A delegated task runs on another host than the one whose facts these
    are, so its system is not known from them.
    """
    if delegated or not task_vars:
        return None
    facts = task_vars.get('ansible_facts') or {}
    return facts.get('system') or task_vars.get('ansible_system')


def module_for(name, system):
    """The fully qualified module that runs ``name`` on ``system``: the BSD module on FreeBSD and macOS, else Linux's."""
    return 'portwarden.ports.' + backend.module_name(name, backend.family_of(system) or 'linux')


def landed_on(answer):
    """The system a module answered it does not serve (backend.check_system's marker), or None."""
    if not answer.get('failed'):
        return None
    system = answer.get(backend.SYSTEM_KEY)
    return system if backend.family_of(system) else None


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
        module = module_for(self.MODULE, known_system(task_vars, bool(self._task.delegate_to)))
        try:
            call = self.module_call(module, wrap_async)
        except PortwardenError as exc:
            return action_failure(result, exc)
        answer = self._execute_module(module_name=call.pop('module_name', module), task_vars=task_vars,
                                      wrap_async=wrap_async, **call)
        system = None if wrap_async else landed_on(answer)
        if system and module_for(self.MODULE, system) != module:
            answer = self._execute_module(module_name=module_for(self.MODULE, system), task_vars=task_vars)
        elif call:
            answer = self.finish(answer)
        result = merge_hash(result, answer)
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

    def module_call(self, module, wrap_async):
        """Extra keyword arguments of ``_execute_module`` for ``module`` (the task's own arguments: none; a
        ``module_name`` runs another module in its place); when there are some, :meth:`finish` makes the result
        from the module's answer. A PortwardenError fails the task before any module runs."""
        return {}

    def finish(self, answer):
        return answer

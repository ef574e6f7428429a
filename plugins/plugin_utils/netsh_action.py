# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared shape of the three action plugins.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
plugin validates its arguments, runs netsh through the connection and parses
the output here, on the controller (module_utils/windows.py). On every other
target the module runs exactly as it would without the plugin.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.portwarden.ports.plugins.module_utils import windows
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


class NetshActionBase(ActionBase):
    """Subclasses set MODULE and ARGUMENT_SPEC and implement ``netsh(run, args)``."""

    MODULE = ''
    ARGUMENT_SPEC = {}

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(NetshActionBase, self).run(tmp, task_vars)
        del tmp
        if windows.is_windows_shell(self._connection._shell):
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
            report = self.netsh(windows.runner(self._low_level_execute_command), args)
        except PortwardenError as exc:
            return windows.action_failure(result, exc)
        return windows.action_result(result, report, self._task.diff)

    def netsh(self, run, args):
        """Return the report for ``args`` from netsh run through ``run``."""
        raise NotImplementedError

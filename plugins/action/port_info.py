# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.port_info.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
dynamic port ranges and excluded port ranges are read with netsh, the
sockets with netstat (and process names with tasklist), through the
connection, and parsed here on the controller (module_utils/windows.py). On
every other target the module runs exactly as it would without this plugin.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.portwarden.ports.plugins.module_utils import windows
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

# The module's argument spec (checked against its DOCUMENTATION by a unit test).
ARGUMENT_SPEC = dict(
    processes=dict(type='bool', default=False),
    services=dict(type='list', elements='dict'),
    top=dict(type='int', default=10),
)


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
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
            raise AnsibleActionFail('port_info on a Windows target runs netsh directly and does not support async.')
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            report = windows.port_info(windows.runner(self._low_level_execute_command), processes=args['processes'],
                                       services=args['services'], top=args['top'])
        except PortwardenError as exc:
            return windows.action_failure(result, exc)
        result['changed'] = False
        return windows.action_result(result, report, self._task.diff)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.ephemeral_range.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
dynamic port range is read and set with netsh through the connection and the
output is parsed here, on the controller (module_utils/windows.py). On every
other target the module runs exactly as it would without this plugin.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.portwarden.ports.plugins.module_utils import windows
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

# The module's argument spec (checked against its DOCUMENTATION by a unit test).
ARGUMENT_SPEC = dict(
    start=dict(type='int', required=True),
    end=dict(type='int', required=True),
    protocol=dict(type='str', default='all', choices=['tcp', 'udp', 'all']),
    family=dict(type='str', default='all', choices=['ipv4', 'ipv6', 'all']),
    persist=dict(type='bool', default=True),
    sysctl_file=dict(type='path'),
    bsd_portrange=dict(type='str', default='default', choices=['default', 'high', 'both']),
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
            raise AnsibleActionFail('ephemeral_range on a Windows target runs netsh directly and does not support async.')
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            report = windows.ephemeral_range(
                windows.runner(self._low_level_execute_command), args['start'], args['end'],
                protocol=args['protocol'], family=args['family'], persist=args['persist'],
                check_mode=self._task.check_mode)
        except PortwardenError as exc:
            return windows.action_failure(result, exc)
        if args.get('sysctl_file'):
            report['warnings'].append('sysctl_file is ignored on Windows: netsh keeps the persistent value itself.')
        return windows.action_result(result, report, self._task.diff)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.port_info.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
dynamic port ranges and excluded port ranges are read with netsh, the
sockets with netstat (and process names with tasklist), through the
connection, and parsed on the controller (plugin_utils/netsh.py,
netsh_plan.py). On FreeBSD and macOS it runs the internal module
portwarden.ports.bsd_port_info (the choice: plugin_utils/netsh_action.py). On
Linux it validates the catalogue, runs the internal module
portwarden.ports.linux_port_info, which reads and counts on the host, and
builds the report and its conflicts here, on the controller (plugin_utils/port_report.py);
with async, whose answer reaches async_status and not this plugin, it runs the
module portwarden.ports.port_info itself, which builds the whole report on the
host.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.plugin_utils import netsh_plan, port_report
from ansible_collections.portwarden.ports.plugins.plugin_utils.netsh_action import NetshActionBase

LINUX_MODULE = 'portwarden.ports.port_info'
GATHER_MODULE = 'portwarden.ports.linux_port_info'


class ActionModule(NetshActionBase):

    MODULE = 'port_info'
    ARGUMENT_SPEC = argspec.PORT_INFO

    def netsh(self, run, args):
        report = netsh_plan.port_info(run, processes=args['processes'], services=args['services'], top=args['top'])
        report['changed'] = False
        return report

    def module_call(self, module, wrap_async):
        """The options are checked here on every POSIX path (with async too: a bad catalogue fails before the job
        starts); on Linux linux_port_info gathers and this plugin finishes the report, but with async."""
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        self._request = port_report.Request(args)
        if wrap_async or module != LINUX_MODULE:
            return {}
        return {'module_name': GATHER_MODULE, 'module_args': self._request.module_args()}

    def finish(self, answer):
        return self._request.finish(answer)

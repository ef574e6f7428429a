# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.port_info.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
dynamic port ranges and excluded port ranges are read with netsh, the
sockets with netstat (and process names with tasklist), through the
connection, and parsed on the controller (plugin_utils/netsh.py,
netsh_plan.py). On FreeBSD and macOS it runs
the internal module portwarden.ports.bsd_port_info, on Linux the module itself
(the choice: plugin_utils/netsh_action.py).
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.plugin_utils import netsh_plan
from ansible_collections.portwarden.ports.plugins.plugin_utils.netsh_action import NetshActionBase


class ActionModule(NetshActionBase):

    MODULE = 'port_info'
    ARGUMENT_SPEC = argspec.PORT_INFO

    def netsh(self, run, args):
        report = netsh_plan.port_info(run, processes=args['processes'], services=args['services'], top=args['top'])
        report['changed'] = False
        return report

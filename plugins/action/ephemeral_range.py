# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.ephemeral_range.

On a Windows target (the connection's shell plugin is PowerShell or cmd) the
dynamic port range is read and set with netsh through the connection and the
output is parsed on the controller (plugin_utils/netsh.py, netsh_plan.py). On FreeBSD and macOS it runs
the internal module portwarden.ports.bsd_ephemeral_range, on Linux the module itself
(the choice: plugin_utils/netsh_action.py).
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.plugin_utils import netsh_plan
from ansible_collections.portwarden.ports.plugins.plugin_utils.netsh_action import NetshActionBase


class ActionModule(NetshActionBase):

    MODULE = 'ephemeral_range'
    ARGUMENT_SPEC = argspec.EPHEMERAL_RANGE

    def netsh(self, run, args):
        report = netsh_plan.ephemeral_range(
            run, args['start'], args['end'], protocol=args['protocol'], family=args['family'], persist=args['persist'],
            check_mode=self._task.check_mode, reserve=args['reserve'])
        if args.get('sysctl_file'):
            report['warnings'].append('sysctl_file is ignored on Windows: netsh keeps the persistent value itself.')
        return report

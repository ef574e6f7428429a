# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The argument specs of the modules, in one place.

Each module passes its spec to AnsibleModule; its action plugin validates the
same spec on the controller when it runs netsh on a Windows target.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.linux import DEFAULT_SYSCTL_FILE

EPHEMERAL_RANGE = dict(
    start=dict(type='int', required=True),
    end=dict(type='int', required=True),
    protocol=dict(type='str', default='all', choices=['tcp', 'udp', 'all']),
    family=dict(type='str', default='all', choices=['ipv4', 'ipv6', 'all']),
    persist=dict(type='bool', default=True),
    sysctl_file=dict(type='path'),
    bsd_portrange=dict(type='str', default='default', choices=['default', 'high', 'both']),
    reserve=dict(type='list', elements='str', default=[]),
)

RESERVED_PORTS = dict(
    ports=dict(type='list', elements='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent', 'exact']),
    protocol=dict(type='str', default='all', choices=['tcp', 'udp', 'all']),
    family=dict(type='str', default='all', choices=['ipv4', 'ipv6', 'all']),
    persist=dict(type='bool', default=True),
    sysctl_file=dict(type='path', default=DEFAULT_SYSCTL_FILE),
)

PORT_INFO = dict(
    processes=dict(type='bool', default=False),
    services=dict(type='list', elements='dict'),
    top=dict(type='int', default=10),
    conntrack_warn_percent=dict(type='int', default=80),
)

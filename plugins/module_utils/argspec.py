# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The argument specs of the collection's five modules, in one place (plain data, no imports).

The action plugins validate the same specs on the controller (netsh on Windows; fleet_report always).
"""

from __future__ import annotations

EPHEMERAL_RANGE = dict(
    start=dict(type='int', required=True),
    end=dict(type='int', required=True),
    protocol=dict(type='str', default='all', choices=['tcp', 'udp', 'all']),
    family=dict(type='str', default='all', choices=['ipv4', 'ipv6', 'all']),
    persist=dict(type='bool', default=True),
    sysctl_file=dict(type='path'),
    bsd_portrange=dict(type='str', default='default', choices=['default', 'high', 'both']),
    reserve=dict(type='list', elements='str', default=[]),
    conntrack_max=dict(type='int'),
)

RESERVED_PORTS = dict(
    ports=dict(type='list', elements='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent', 'exact']),
    protocol=dict(type='str', default='all', choices=['tcp', 'udp', 'all']),
    family=dict(type='str', default='all', choices=['ipv4', 'ipv6', 'all']),
    persist=dict(type='bool', default=True),
    sysctl_file=dict(type='path'),
)

PORT_INFO = dict(
    processes=dict(type='bool', default=False),
    services=dict(type='list', elements='dict'),
    top=dict(type='int', default=10),
    conntrack_warn_percent=dict(type='int', default=80),
)
# linux_port_info's, which the action plugin runs on Linux: the catalogue and the conntrack threshold stay on the
# controller, which builds the conflicts.
PORT_INFO_GATHER = dict((name, spec) for name, spec in PORT_INFO.items() if name not in ('services', 'conntrack_warn_percent'))

NFT_TABLE = dict(
    content=dict(type='str', required=True),
    path=dict(type='path', required=True),
    family=dict(type='str', default='inet', choices=['inet', 'ip', 'ip6', 'arp', 'bridge', 'netdev']),
    name=dict(type='str', default='portwarden'),
    rollback_timeout=dict(type='int', default=30),
    state_dir=dict(type='path', default='/var/lib/portwarden'),
    mode=dict(type='raw', default='0644'),
    include_in=dict(type='str'),
    enable_service=dict(type='bool', default=False),
    lock_timeout=dict(type='int', default=120),
    keep_sets=dict(type='list', elements='str', default=[]),
    unban=dict(type='list', elements='str', default=[]),
    backend=dict(type='str', choices=['auto', 'nftables', 'firewalld']),
    conflicting=dict(type='str', default='fail', choices=['fail', 'stop']),
    _phase=dict(type='str', default='apply', choices=['apply', 'confirm', 'status']),
    _token=dict(type='str', no_log=False),
)

# The formats of plugin_utils/fleet_report.FORMATS (a unit test checks they agree).
FLEET_REPORT_FORMATS = ['json', 'md', 'html', 'txt']

# One of hosts and merge is required (the action plugin passes required_one_of).
FLEET_REPORT = dict(
    hosts=dict(type='dict'),
    merge=dict(type='list', elements='path'),
    dest=dict(type='path', default='portwarden-report'),
    title=dict(type='str', default='Port space of the fleet'),
    formats=dict(type='list', elements='str', default=list(FLEET_REPORT_FORMATS), choices=list(FLEET_REPORT_FORMATS)),
)

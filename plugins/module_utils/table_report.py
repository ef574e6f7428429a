# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's report where the sockets come as parsed rows and each (family, protocol) table has its own
range and reservations: FreeBSD and macOS (bsd_report.py, on the host) and Windows (plugin_utils/netsh_plan.py,
on the controller). Linux counts its sockets in portinfo.py and carries none of this."""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.conflicts import conflicts_report
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.module_utils.report import CONFLICT_ORDER, MAIN_TABLE, PROTOCOLS
from ansible_collections.portwarden.ports.plugins.module_utils.report import usage_summary


def sockets_usage(sockets, ranges, reserved, time_wait_seconds, top=10, tcp_tw_reuse=None):
    """Ephemeral usage from parsed socket rows, in port_info's ``usage`` shape.

    ``sockets``: dicts with proto, family, port, remote_address, remote_port,
    state, listening and time_wait (bool). ``ranges`` and ``reserved`` map
    (family, proto) to the PortRange and PortSet of that table; the counts are
    against the IPv4 TCP table, the one port_info reports as its range.
    Used by the Windows action plugin and by the FreeBSD/macOS backend.
    """
    erange = ranges[MAIN_TABLE]
    usable = erange.size - (reserved[MAIN_TABLE] & PortSet([erange])).size
    listen_ports = set(s['port'] for s in sockets if s['proto'] == 'tcp' and s['listening'])
    states = {}
    endpoints = {}
    ports = set()
    inbound = 0
    time_wait = 0
    udp = 0
    for s in sockets:
        table = (s['family'], s['proto'])
        if table not in ranges or s['port'] not in ranges[table]:
            continue
        if s['port'] in reserved[table]:
            continue
        if s['proto'] == 'udp':
            udp += 1
            ports.add(s['port'])
            continue
        if s['listening']:
            ports.add(s['port'])
            continue
        if s['port'] in listen_ports:
            inbound += 1
            continue
        name = 'TIME_WAIT' if s.get('time_wait') else (s.get('state') or 'UNKNOWN')
        states[name] = states.get(name, 0) + 1
        if s.get('time_wait'):
            time_wait += 1
        ports.add(s['port'])
        key = (s['family'], s['remote_address'], s['remote_port'])
        counts = endpoints.setdefault(key, {})
        counts[name] = counts.get(name, 0) + 1
    return usage_summary(erange, usable, sockets_total=len(sockets), tcp_states=states, time_wait=time_wait,
                         udp_sockets=udp, inbound=inbound, ports_in_use=len(ports), destinations=endpoints,
                         top=top, time_wait_seconds=time_wait_seconds, tcp_tw_reuse=tcp_tw_reuse)


def table_conflicts(ranges, reserved, listeners, services=None):
    """port_info conflicts with a range and reservations per (family, protocol).

    The catalogue checks use the IPv4 table of each protocol; a listener is
    checked against the table of its own family and protocol.
    """
    conflicts = []
    for proto in PROTOCOLS:
        of_proto = [item for item in listeners if item['proto'] == proto]
        svc = [s for s in services if s['proto'] == proto] if services else None
        v4 = ('ipv4', proto)
        v6 = ('ipv6', proto)
        if (ranges[v6], reserved[v6]) == (ranges[v4], reserved[v4]):
            conflicts.extend(conflicts_report(ranges[v4], reserved[v4], of_proto, svc))
            continue
        found = conflicts_report(ranges[v4], reserved[v4], [i for i in of_proto if i['family'] == 'ipv4'], svc)
        ports = set(c['port'] for c in found if c['type'] == 'listener_in_range')
        for c in conflicts_report(ranges[v6], reserved[v6], [i for i in of_proto if i['family'] == 'ipv6']):
            if c['type'] == 'listener_in_range' and c['port'] not in ports:
                found.append(c)
        conflicts.extend(found)
    return sort_conflicts(conflicts)


def sort_conflicts(conflicts):
    """By type (CONFLICT_ORDER), then port; a declared range (a string) sorts before single ports."""
    order = dict((name, index) for index, name in enumerate(CONFLICT_ORDER))
    conflicts.sort(key=lambda c: (order[c['type']], c['port'] if isinstance(c['port'], int) else 0))
    return conflicts

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info: a read-only report of a Linux host's port space.

:func:`gather` reads the kernel (ranges and reservations from /proc/sys,
sockets from /proc/net via :mod:`procnet`) and :func:`build_report` turns
that into the module's result: listeners, conflicts with their remedies, and
ephemeral port usage with per-destination headroom. ``build_report`` is pure,
so unit tests feed it plain values.
"""

from __future__ import annotations

import os
import platform

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils import linux
from ansible_collections.portwarden.ports.plugins.module_utils import procnet
from ansible_collections.portwarden.ports.plugins.module_utils import conntrack, listenscope, timewait

# Linux keeps a TCP socket in TIME_WAIT for TCP_TIMEWAIT_LEN (include/net/tcp.h),
# a compile-time constant of 60 seconds: no sysctl changes it.
TIME_WAIT_SECONDS = 60

CONFLICT_ORDER = ('listener_in_range', 'service_in_range', 'service_not_listening', 'listener_not_declared',
                  'conntrack_near_full')


def _ratio(part, whole):
    return round(100.0 * part / whole, 2) if whole else 0.0


def _rate(ports, seconds=TIME_WAIT_SECONDS):
    """Connections per second that ``ports`` sustain while each waits ``seconds`` in TIME_WAIT (None: unknown)."""
    return round(float(ports) / seconds, 2) if seconds else None


def _pair(start, end):
    return {'start': start, 'end': end}


def suggest_range(erange, avoid):
    """The largest part of ``erange`` that holds none of the ports in ``avoid``.

    Ends on a port of the other parity than the start when it can: the kernel
    prefers different parity for the two bounds (it gives even ports to
    connect() and odd ones to bind(0)). A part of the current range is always
    a range the kernel accepts. Returns a PortRange, or None when nothing is left.
    """
    free = PortSet([erange]) - PortSet.parse(avoid)
    best = None
    for part in free.ranges:
        if best is None or part.size > best.size:
            best = part
    if best is not None and best.size > 2 and (best.start % 2) == (best.end % 2):
        best = PortRange(best.start, best.end - 1)
    return best


def _move_text(erange, suggestion, ports_text):
    if suggestion is None:
        return 'no part of the ephemeral range %d-%d is free of %s, so reserving is the only remedy' % (
            erange.start, erange.end, ports_text)
    return ('or move the ephemeral range so that it excludes %s: portwarden.ports.ephemeral_range with start: %d and '
            'end: %d (%d ports instead of %d)' % (ports_text, suggestion.start, suggestion.end, suggestion.size, erange.size))


def _yaml_items(ports):
    return '[%s]' % ', '.join(str(item) if isinstance(item, int) else '"%s"' % item for item in ports.to_list())


def _reserve_text(ports, pronoun='it'):
    return ('Reserve %s so that the kernel never hands %s out: portwarden.ports.reserved_ports with ports: %s '
            '(state: present), or declare %s in portwarden_services and let the portwarden.ports.ephemeral_ports role '
            'reserve %s' % (pronoun, pronoun, _yaml_items(ports), pronoun, pronoun))


def _listener_dict(listener, owners):
    item = {'proto': listener.proto, 'family': listener.family, 'address': listener.address, 'port': listener.port,
            'scope': listenscope.listener_scope(listener.address)}
    if owners is not None:
        pid, name = owners.get(listener.inode, (None, None))
        item['pid'] = pid
        item['process'] = name
    return item


def listeners_report(scan_listeners, owners=None):
    """Sorted, de-duplicated listener dicts (SO_REUSEPORT groups show once per owner)."""
    seen = set()
    result = []
    for listener in sorted(scan_listeners, key=lambda item: item.key()):
        item = _listener_dict(listener, owners)
        key = (item['proto'], item['family'], item['address'], item['port'], item.get('pid'))
        if key in seen:
            continue
        seen.add(key)
        result.append(item)
    return result


def conflicts_report(erange, reserved, listeners, services=None):
    """Listeners in the range and unreserved; with a catalogue, its drift too."""
    conflicts = []
    in_range_unreserved = PortSet([erange]) - reserved

    by_port = {}
    for item in listeners:
        if item['port'] in in_range_unreserved:
            by_port.setdefault((item['proto'], item['port']), []).append(item)

    service_hits = []
    if services is not None:
        for service in services:
            overlap = PortSet([PortRange(service['start'], service['end'])]) & in_range_unreserved
            if overlap:
                service_hits.append((service, overlap))

    avoid = PortSet([PortRange(port, port) for _proto, port in by_port])
    for _service, overlap in service_hits:
        avoid = avoid | overlap
    suggestion = suggest_range(erange, avoid) if avoid else None

    for (proto, port), items in sorted(by_port.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ports = PortSet([PortRange(port)])
        processes = sorted(set(i['process'] for i in items if i.get('process')))
        who = ' (%s)' % ', '.join(processes) if processes else ''
        conflict = {
            'type': 'listener_in_range',
            'proto': proto,
            'port': port,
            'addresses': sorted(set(i['address'] for i in items)),
            'msg': '%s port %d%s is listened on inside the ephemeral range %d-%d and is not reserved: an outgoing '
                   'connection can take it and the service then fails to bind.' % (proto.upper(), port, who, erange.start, erange.end),
            'remedy': '%s; %s.' % (_reserve_text(ports), _move_text(erange, suggestion, str(port))),
            'reserve': ports.to_list(),
            'suggested_range': suggestion.to_dict() if suggestion else None,
        }
        if processes:
            conflict['processes'] = processes
        conflicts.append(conflict)

    if services is not None:
        for service, overlap in service_hits:
            conflicts.append({
                'type': 'service_in_range',
                'proto': service['proto'],
                'service': service['name'],
                'port': service['port'],
                'ports': overlap.format(),
                'msg': 'Service %s (%s %s) declares port(s) %s inside the ephemeral range %d-%d that are not reserved.'
                       % (service['name'], service['proto'], service['port'], overlap.format(), erange.start, erange.end),
                'remedy': '%s; %s.' % (_reserve_text(overlap, 'them' if overlap.size > 1 else 'it'),
                                       _move_text(erange, suggestion, overlap.format())),
                'reserve': overlap.to_list(),
                'suggested_range': suggestion.to_dict() if suggestion else None,
            })

        listening = {}
        for item in listeners:
            listening.setdefault(item['proto'], set()).add(item['port'])
        for service in services:
            ports = listening.get(service['proto'], ())
            if service.get('expect_listener', service['start'] == service['end']) and \
                    not any(service['start'] <= port <= service['end'] for port in ports):
                conflicts.append({
                    'type': 'service_not_listening',
                    'proto': service['proto'],
                    'service': service['name'],
                    'port': service['port'],
                    'msg': 'Service %s (%s %s) is declared but nothing listens on it.' % (service['name'], service['proto'], service['port']),
                    'remedy': 'Start the service, or remove it from portwarden_services if the host no longer runs it.',
                })

        declared = {}
        for service in services:
            declared.setdefault(service['proto'], []).append(PortRange(service['start'], service['end']))
        declared = dict((proto, PortSet(ranges)) for proto, ranges in declared.items())
        undeclared = {}
        for item in listenscope.reachable(listeners):  # a loopback-only listener is not drift
            if item['port'] not in declared.get(item['proto'], PortSet()):
                undeclared.setdefault((item['proto'], item['port']), []).append(item)
        for (proto, port), items in sorted(undeclared.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            processes = sorted(set(i['process'] for i in items if i.get('process')))
            conflict = {
                'type': 'listener_not_declared',
                'proto': proto,
                'port': port,
                'addresses': sorted(set(i['address'] for i in items)),
                'msg': '%s port %d is listened on but no service in portwarden_services declares it.' % (proto.upper(), port),
                'remedy': 'Declare it in portwarden_services (name, port: %d, proto: %s) so that the firewall opens it and the '
                          'range avoids it, or stop the process that listens on it.' % (port, proto),
            }
            if processes:
                conflict['processes'] = processes
            conflicts.append(conflict)

    order = dict((name, index) for index, name in enumerate(CONFLICT_ORDER))
    conflicts.sort(key=lambda c: order[c['type']])  # stable: keeps the port order inside each type
    return conflicts


def usage_report(scan, erange, reserved, top=10, tcp_tw_reuse=None, tcp_timestamps=None):
    """Ephemeral usage: sockets by state, TIME_WAIT, busiest destinations, headroom.

    Sockets accepted by a TCP listener whose port is in the range share the
    listener's port: they take nothing from the ephemeral pool and are left
    out (counted in ``inbound_excluded``).
    """
    usable = erange.size - (reserved & PortSet([erange])).size
    listen_ports = set(listener.port for listener in scan.listeners if listener.proto == 'tcp')

    states = {}
    endpoints = {}
    ports = set()
    inbound = 0
    state_names = procnet.TCP_STATES
    for port, state, remote in scan.tcp_in_range:
        if port in listen_ports:
            inbound += 1
            continue
        states[state] = states.get(state, 0) + 1
        ports.add(port)
        if not remote.endswith(b':0000'):
            counts = endpoints.get(remote)
            if counts is None:
                counts = endpoints[remote] = {}
            counts[state] = counts.get(state, 0) + 1
    ports.update(scan.udp_in_range)
    ports.update(listener.port for listener in scan.listeners if erange.start <= listener.port <= erange.end)
    if reserved:
        ports = set(port for port in ports if port not in reserved)

    merged = {}
    for remote, counts in endpoints.items():
        target = merged.setdefault(procnet.decode_endpoint(remote), {})
        for state, count in counts.items():
            name = state_names.get(state, state.decode('ascii'))
            target[name] = target.get(name, 0) + count

    tcp_states = dict((state_names.get(state, state.decode('ascii')), count) for state, count in states.items())
    return usage_summary(erange, usable, sockets_total=scan.sockets, tcp_states=tcp_states,
                         time_wait=states.get(procnet.ST_TIME_WAIT, 0), udp_sockets=len(scan.udp_in_range),
                         inbound=inbound, ports_in_use=len(ports), destinations=merged, top=top,
                         tcp_tw_reuse=tcp_tw_reuse, tcp_timestamps=tcp_timestamps)


def usage_summary(erange, usable, sockets_total, tcp_states, time_wait, udp_sockets, inbound, ports_in_use,
                  destinations, top=10, time_wait_seconds=TIME_WAIT_SECONDS, tcp_tw_reuse=None, tcp_timestamps=None):
    """port_info's ``usage`` from what a backend counted (Linux from /proc/net, Windows and BSD from parsed rows).

    ``destinations`` maps (family, address, port) to the TCP sockets in the
    range that talk to it, counted by state name; the busiest come first
    (most ports, then family, address, port).
    """
    busiest = sorted(destinations.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    top_list = []
    for (family, address, port), counts in busiest[:top]:
        in_use = sum(counts.values())
        tw = counts.get('TIME_WAIT', 0)
        wait = timewait.wait_seconds(tcp_tw_reuse, tcp_timestamps, address, time_wait_seconds)
        top_list.append({
            'address': address,
            'port': port,
            'family': family,
            'ports_in_use': in_use,
            'states': counts,
            'time_wait': tw,
            'utilization_percent': _ratio(in_use, usable),
            'sustainable_rate': _rate(usable, wait),
            'recent_rate': _rate(tw, time_wait_seconds),
            'headroom_rate': _rate(max(usable - in_use, 0), wait),
        })
    return {
        'sockets_total': sockets_total,
        'tcp_sockets': sum(tcp_states.values()),
        'tcp_states': tcp_states,
        'time_wait': time_wait,
        'udp_sockets': udp_sockets,
        'inbound_excluded': inbound,
        'range_size': erange.size,
        'reserved_in_range': erange.size - usable,
        'usable_ports': usable,
        'ports_in_use': ports_in_use,
        'utilization_percent': _ratio(ports_in_use, usable),
        'time_wait_seconds': time_wait_seconds,
        'sustainable_rate': _rate(usable, timewait.wait_seconds(tcp_tw_reuse, tcp_timestamps, None, time_wait_seconds)),
        'tcp_tw_reuse': tcp_tw_reuse,
        'tcp_timestamps': None if tcp_timestamps is None else bool(tcp_timestamps),
        'conntrack': None,  # Linux: build_report fills it in (conntrack.read_conntrack)
        'destinations': len(destinations),
        'busiest': top_list,
    }


def build_report(erange, unprivileged_start, reserved, scan, owners=None, services=None, top=10, tcp_tw_reuse=None,
                 tcp_timestamps=None, conntrack_table=None, conntrack_warn_percent=conntrack.DEFAULT_WARN_PERCENT):
    """The module's result (without ``changed``) from already-read values."""
    listeners = listeners_report(scan.listeners, owners)
    report = {
        'ephemeral_range': erange.to_dict(),
        'unprivileged_port_start': unprivileged_start,
        'reserved_ports': {'ports': reserved.format(), 'list': reserved.to_list()},
        'listeners': listeners,
        'conflicts': conflicts_report(erange, reserved, listeners, services),
        'usage': usage_report(scan, erange, reserved, top=top, tcp_tw_reuse=tcp_tw_reuse, tcp_timestamps=tcp_timestamps),
    }
    report['usage']['conntrack'] = conntrack_table
    report['conflicts'].extend(conntrack.conntrack_conflicts(conntrack_table, conntrack_warn_percent))
    return report


def gather(processes=False, services=None, top=10, proc=procnet.PROC, system=None,
           conntrack_warn_percent=conntrack.DEFAULT_WARN_PERCENT):
    """Read the running kernel and return the report. Never writes anything."""
    system = system or platform.system()
    if system != 'Linux':
        raise PortwardenError('port_info reads Linux procfs and does not support %s.' % system)
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Invalid top %r: expected a whole number of destinations, 0 or more.' % (top,))
    conntrack.check_warn_percent(conntrack_warn_percent)
    services = normalize_services(services) if services is not None else None
    proc_sys = os.path.join(proc, 'sys')
    erange = linux.read_port_range(proc_sys)
    reserved = linux.read_reserved_ports(proc_sys)
    unprivileged = linux.read_unprivileged_port_start(proc_sys)
    scan = procnet.scan_tables(erange.start, erange.end, root=proc)
    owners = None
    if processes:
        owners = procnet.socket_owners([listener.inode for listener in scan.listeners], root=proc)
    return build_report(erange, unprivileged, reserved, scan, owners=owners, services=services, top=top,
                        tcp_tw_reuse=timewait.read_flag(linux.read_sysctl, 'net.ipv4.tcp_tw_reuse', proc_sys),
                        tcp_timestamps=timewait.read_flag(linux.read_sysctl, 'net.ipv4.tcp_timestamps', proc_sys),
                        conntrack_table=conntrack.read_conntrack(proc), conntrack_warn_percent=conntrack_warn_percent)

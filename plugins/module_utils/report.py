# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The port_info report for every OS: one builder, one schema.

Each OS gathers its own values (Linux from procfs in portinfo.py, FreeBSD and
macOS in bsd_report.py, Windows on the controller in
plugin_utils/netsh_plan.py) and hands them to :func:`build`, which makes the
result: listeners, conflicts with their remedies, and ephemeral port usage
with per-destination headroom. Everything here is pure, so unit tests feed
it plain values.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet, suggest_range
from ansible_collections.portwarden.ports.plugins.module_utils import listenscope, timewait

# The keys of every port_info result, and the ones only some systems add.
# The module's RETURN documents exactly these (a unit test checks it).
KEYS = ('ephemeral_range', 'unprivileged_port_start', 'reserved_ports', 'listeners', 'conflicts', 'usage', 'firewall')
# ``firewall`` where nothing could be read (another OS, no nft, no privilege): every key present, null.
FIREWALL_KEYS = ('managers', 'backend', 'filtering_input', 'warning', 'error', 'banned', 'counters')
EXTRA_KEYS = {'high_range': 'FreeBSD and macOS', 'tables': 'Windows'}

CONFLICT_ORDER = ('listener_in_range', 'service_in_range', 'service_port_held', 'service_not_listening',
                  'listener_not_declared', 'conntrack_near_full')

PROTOCOLS = ('tcp', 'udp')
# The (family, protocol) tables, in the order Windows and the results list them.
TABLES = (('ipv4', 'tcp'), ('ipv4', 'udp'), ('ipv6', 'tcp'), ('ipv6', 'udp'))
MAIN_TABLE = ('ipv4', 'tcp')


def check_request(top, services):
    """Validate the options every OS takes alike: ``top`` and the catalogue (normalized, or None)."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Invalid top %r: expected a whole number of destinations, 0 or more.' % (top,))
    return top, normalize_services(services) if services is not None else None


def _ratio(part, whole):
    return round(100.0 * part / whole, 2) if whole else 0.0


def _rate(ports, seconds):
    """Connections per second that ``ports`` sustain while each waits ``seconds`` in TIME_WAIT (None: unknown)."""
    return round(float(ports) / seconds, 2) if seconds else None


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


def usage_summary(erange, usable, sockets_total, tcp_states, time_wait, udp_sockets, inbound, ports_in_use,
                  destinations, time_wait_seconds, top=10, tcp_tw_reuse=None, tcp_timestamps=None):
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
        'conntrack': None,  # Linux: portinfo.build_report fills it in (conntrack.read_conntrack)
        'destinations': len(destinations),
        'busiest': top_list,
    }


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


def listener_dicts(sockets, names=None):
    """Sorted, de-duplicated listeners in port_info's ``listeners`` shape (SO_REUSEPORT groups show once per owner).

    ``sockets``: dicts with proto, family, address, port, listening and, when
    known, pid and process. ``names`` (pid -> process name, or None) asks for
    the owners: without it the listeners carry no pid and process keys.
    """
    seen = set()
    result = []
    for s in sorted((s for s in sockets if s['listening']),
                    key=lambda s: (s['proto'], s['port'], s['family'], s['address'], s.get('pid') or 0)):
        item = {'proto': s['proto'], 'family': s['family'], 'address': s['address'], 'port': s['port'],
                'scope': listenscope.listener_scope(s['address'])}
        if names is not None:
            item['pid'] = s.get('pid')
            item['process'] = s.get('process') or (names.get(s['pid']) if s.get('pid') is not None else None)
        key = (item['proto'], item['family'], item['address'], item['port'], item.get('pid'))
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


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


def build(erange, reserved, listeners, conflicts, usage, unprivileged_port_start, firewall=None, **extra):
    """port_info's result (without ``changed``), the same keys on every OS.

    ``erange`` (PortRange) and ``reserved`` (PortSet) are the range and the
    reservations as they are (on Windows those of the IPv4 TCP table);
    ``extra`` holds the keys of EXTRA_KEYS that the OS adds.
    """
    unknown = set(extra) - set(EXTRA_KEYS)
    if unknown:
        raise PortwardenError('port_info: unknown report keys %s.' % ', '.join(sorted(unknown)))
    report = {
        'ephemeral_range': erange.to_dict(),
        'unprivileged_port_start': unprivileged_port_start,
        'reserved_ports': reserved.to_dict(),
        'listeners': listeners,
        'conflicts': conflicts,
        'usage': usage,
        'firewall': dict((key, (firewall or {}).get(key)) for key in FIREWALL_KEYS),
    }
    report.update(extra)
    return report

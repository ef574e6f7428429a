# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's conflicts for every OS, with their remedies, and the catalogue they are checked against.

Unreserved listeners in the range, with a catalogue its drift, and a conntrack
table near full (:func:`conntrack_conflicts`); pure. For Linux,
linux_report.complete adds them to what the host gathered (portgather.py), on
the controller (plugin_utils/port_report.py) or on the host (portinfo.py): one
function, so both give the same report.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet, suggest_range
from ansible_collections.portwarden.ports.plugins.module_utils import listenscope
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.report import CONFLICT_ORDER, check_top

# conntrack_warn_percent's default: conntrack_near_full from this share of nf_conntrack_max
DEFAULT_WARN_PERCENT = 80
# the per-CPU drop counters that conntrack.read_conntrack sums (the remedy counts them)
_CONNTRACK_DROPS = ('drop', 'early_drop', 'insert_failed')


def check_request(top, services, **kwargs):
    """``top`` and the catalogue (normalized, or None) checked; ``kwargs`` go to normalize_services."""
    return check_top(top), normalize_services(services, **kwargs) if services is not None else None


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


def check_warn_percent(value):
    """The ``conntrack_warn_percent`` option: a whole number 1-100."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise PortwardenError('Invalid conntrack_warn_percent %r: expected a whole number of percent from 1 to 100.' % (value,))
    return value


def conntrack_conflicts(conntrack, warn_percent=DEFAULT_WARN_PERCENT):
    """``[conntrack_near_full]`` when the table is at ``warn_percent`` or more, else []."""
    check_warn_percent(warn_percent)
    if not conntrack or conntrack.get('percent') is None or conntrack['percent'] < warn_percent:
        return []
    limit = conntrack['max']
    suggested = max(limit * 2, 65536)
    buckets = conntrack.get('buckets')
    dropped = sum(conntrack.get(name) or 0 for name in _CONNTRACK_DROPS)
    # the hash table grows with the limit, keeping the host's present ratio of entries to buckets
    hashsize = (' and the hash table with it (nf_conntrack hashsize=%d, now %d buckets; net.netfilter.nf_conntrack_buckets '
                'in the initial namespace)' % (max(buckets * suggested // limit, buckets), buckets)) if buckets and limit else ''
    return [{
        'type': 'conntrack_near_full',
        'entries': conntrack['entries'],
        'max': limit,
        'percent': conntrack['percent'],
        'warn_percent': warn_percent,
        'msg': 'The conntrack table holds %d of %d entries (%.2f%%, warning at %d%%)%s: when it is full the kernel drops '
               'new connections of every service (nf_conntrack: table full, dropping packet).'
               % (conntrack['entries'], limit, conntrack['percent'], warn_percent,
                  '; %d packets already dropped or not inserted' % dropped if dropped else ''),
        'remedy': 'Raise net.netfilter.nf_conntrack_max (for example to %d: the ephemeral_ports role sets it with '
                  'ephemeral_ports_conntrack_max, persisted in its sysctl.d drop-in)%s, or shorten the timeouts '
                  '(net.netfilter.nf_conntrack_tcp_timeout_established, ..._time_wait) of connections the host '
                  'keeps tracking.' % (suggested, hashsize),
    }]

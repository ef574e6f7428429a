# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The port_info report for every OS: one builder, one schema.

Each OS gathers its own values (Linux: portgather.py, then linux_report.py; FreeBSD, macOS: bsd_report.py;
Windows: plugin_utils/netsh_plan.py; the last two with table_report.py), sums them
with :func:`usage_summary` and hands them to :func:`build`. Conflicts: conflicts.py.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
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


def check_top(top):
    """``top`` as given, or PortwardenError when it is not a whole number of destinations."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Invalid top %r: expected a whole number of destinations, 0 or more.' % (top,))
    return top


def _ratio(part, whole):
    return round(100.0 * part / whole, 2) if whole else 0.0


def _rate(ports, seconds):
    """Connections per second that ``ports`` sustain while each waits ``seconds`` in TIME_WAIT (None: unknown)."""
    return round(float(ports) / seconds, 2) if seconds else None


def usage_summary(erange, usable, sockets_total, tcp_states, time_wait, udp_sockets, inbound, ports_in_use,
                  destinations, time_wait_seconds, top=10, tcp_tw_reuse=None, tcp_timestamps=None, destinations_total=None):
    """port_info's ``usage`` from what a backend counted (Linux from its socket tables, Windows and BSD from parsed
    rows).

    ``destinations`` maps (family, address, port) to the TCP sockets in the
    range that talk to it, counted by state name; the busiest come first
    (most ports, then family, address, port). ``destinations_total``: how
    many there are where ``destinations`` holds only the busiest (Linux).
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
        'conntrack': None,  # Linux: linux_report.complete fills it in (conntrack.read_conntrack)
        'destinations': len(destinations) if destinations_total is None else destinations_total,
        'busiest': top_list,
    }


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

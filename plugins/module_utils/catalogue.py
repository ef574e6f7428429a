# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service catalogue (``portwarden_services``): validate and normalize.

The ephemeral_ports role keeps its ports out of the ephemeral range, the
host_firewall role opens exactly its ports to exactly its sources. Every value
is checked strictly here, so nothing a user writes reaches a ruleset unchecked.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z')
RATE_RE = re.compile(r'^([1-9][0-9]{0,8})/(second|minute|hour|day)\Z')
PROTOCOLS = ('tcp', 'udp')
KEYS = ('name', 'port', 'proto', 'sources', 'rate_limit', 'description', 'expect_listener')
# Keys that normalize_service adds; given back (its own output), they must agree with the rest.
DERIVED = ('start', 'end', 'sources_v4', 'sources_v6')
SOURCE_RE = re.compile(r'^[0-9A-Fa-f:./]{2,49}\Z')
# Printable text only: no control characters (C0, DEL, C1), no Unicode line
# or paragraph separators, no quote or backslash.
DESCRIPTION_RE = re.compile('^[^\x00-\x1f\x7f-\x9f\u2028\u2029"\\\\]{0,200}\\Z')


def _where(index, entry):
    name = entry.get('name') if isinstance(entry, dict) else None
    if isinstance(name, str) and NAME_RE.match(name):
        return 'service #%d (%s)' % (index, name)
    return 'service #%d' % index


def normalize_source(value, where='source'):
    """Parse one source network strictly (host bits must be zero)."""
    if isinstance(value, bool) or not isinstance(value, str) or not SOURCE_RE.match(value):
        raise PortwardenError('%s: invalid source %r: expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32.'
                              % (where, value))
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise PortwardenError('%s: invalid source %r: %s; expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32 '
                              '(host bits must be zero).' % (where, value, exc))


def source_values(values, where):
    """The list of sources as given: None means an empty list (anywhere); a lone string is one network."""
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    if not isinstance(values, (list, tuple)):
        raise PortwardenError('%s: invalid value %r: expected a list of IPv4/IPv6 networks.' % (where, values))
    return values


def normalize_sources(values, where='sources'):
    """A list of source networks: each parsed strictly, duplicates dropped,
    sorted IPv4 first. None means an empty list (anywhere); a lone string is
    one network. Linear in the number of sources (100,000 are fine)."""
    values = source_values(values, where)
    networks = set(normalize_source(value, where=where) for value in values)
    return sorted(networks, key=lambda n: (n.version, int(n.network_address), n.prefixlen))


def source_intervals(values, where='sources'):
    """:func:`normalize_sources` as (version, first, last, canonical text). The controller passes a faster parser
    of the same contract to :func:`normalize_services` (plugin_utils/sources.py)."""
    return [(n.version, int(n.network_address), int(n.broadcast_address), str(n)) for n in normalize_sources(values, where)]


def normalize_service(entry, index=0, sources=source_intervals):
    """One catalogue entry in canonical form, or PortwardenError; accepts its own output (derived keys must agree).

    The result has ``name``, ``port`` (canonical text), ``start``, ``end``, ``proto``, ``sources`` (canonical
    strings, empty = anywhere), ``sources_v4``, ``sources_v6``, ``rate_limit`` (or None), ``description`` and
    ``expect_listener`` (default: true for a single port, false for a range).
    """
    if not isinstance(entry, dict):
        raise PortwardenError('service #%d: expected a dictionary with name, port and proto, got %r.' % (index, entry))
    where = _where(index, entry)
    unknown = sorted(str(k) for k in entry if k not in KEYS and k not in DERIVED)
    if unknown:
        raise PortwardenError('%s: unknown field(s) %s; allowed fields: %s.' % (where, ', '.join(unknown), ', '.join(KEYS)))

    name = entry.get('name')
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise PortwardenError('%s: invalid name %r: use 1-63 letters, digits, "_", "." or "-", starting with a letter or digit.'
                              % (where, name))

    if 'port' not in entry:
        raise PortwardenError('%s: the field port is required (a port 1-65535 or a range "start-end").' % where)
    try:
        prange = PortRange.parse(entry['port'])
    except PortwardenError as exc:
        raise PortwardenError('%s: field port: %s' % (where, exc))

    proto = entry.get('proto', 'tcp')
    if proto not in PROTOCOLS:
        raise PortwardenError('%s: invalid proto %r: allowed values are %s.' % (where, proto, ', '.join(PROTOCOLS)))

    networks = sources(entry.get('sources'), '%s: field sources' % where)

    rate_limit = entry.get('rate_limit')
    if rate_limit is not None:
        if not isinstance(rate_limit, str) or not RATE_RE.match(rate_limit):
            raise PortwardenError('%s: invalid rate_limit %r: expected N/second, N/minute, N/hour or N/day, for example 10/minute.'
                                  % (where, rate_limit))

    description = entry.get('description', '')
    if description is None:
        description = ''
    if not isinstance(description, str) or not DESCRIPTION_RE.match(description):
        raise PortwardenError('%s: invalid description %r: up to 200 printable characters, no quotes, backslashes or newlines.'
                              % (where, description))

    expect_listener = entry.get('expect_listener')
    if expect_listener is None:
        expect_listener = prange.start == prange.end
    elif not isinstance(expect_listener, bool):
        raise PortwardenError('%s: invalid expect_listener %r: expected true or false (default: true for a single port, '
                              'false for a range).' % (where, expect_listener))

    result = {
        'name': name,
        'port': str(prange),
        'start': prange.start,
        'end': prange.end,
        'proto': proto,
        'sources': [item[3] for item in networks],
        'sources_v4': [item[3] for item in networks if item[0] == 4],
        'sources_v6': [item[3] for item in networks if item[0] == 6],
        'rate_limit': rate_limit,
        'description': description,
        'expect_listener': expect_listener,
    }
    for key in DERIVED:
        if key in entry and entry[key] != result[key]:
            raise PortwardenError('%s: field %s is %r, but port and sources give %r; it is derived, so leave it out or '
                                  'give the output of normalize_services unchanged.' % (where, key, entry[key], result[key]))
    return result


def normalize_services(services, sources=source_intervals):
    """Validate a whole catalogue; names must be unique. ``sources`` parses each entry's source list."""
    if services is None:
        return []
    if not isinstance(services, (list, tuple)):
        raise PortwardenError('invalid service catalogue %r: expected a list of services.' % (services,))
    result = []
    seen = set()
    for index, entry in enumerate(services):
        service = normalize_service(entry, index, sources)
        key = (service['name'], service['proto'])
        if key in seen:
            raise PortwardenError('%s: the name %r is used twice for %s; service names must be unique per protocol.'
                                  % (_where(index, entry), service['name'], service['proto']))
        seen.add(key)
        result.append(service)
    return result


def service_ports(services, proto=None):
    """The PortSet of a normalized catalogue's ports (optionally one protocol)."""
    return PortSet([PortRange(s['start'], s['end']) for s in services if proto is None or s['proto'] == proto])

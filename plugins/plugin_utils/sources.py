# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Source networks parsed fast on the controller: the host_firewall role validates catalogues of 100,000 sources.

:func:`source_intervals` keeps the contract of ``catalogue.source_intervals`` (what ipaddress accepts, refuses and
writes), at about a third of its time; it is passed to ``catalogue.normalize_services``. Nothing here is shipped to
a host (the hosts' payloads keep the short ipaddress version).
"""

from __future__ import annotations

import socket
from operator import itemgetter

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import SOURCE_RE, normalize_source, source_values


def _canonical_source(value):
    """(version, first, last, text) of a source given in canonical form ("10.0.0.0/29", "2001:db8::/32", or an
    address alone), parsed with inet_pton and integer arithmetic; None for anything else (then ipaddress decides,
    and names the error). Accepts only text that ipaddress reads as the same network, with the same text."""
    address, sep, prefix = value.partition('/')
    if ':' in address:
        if '.' in address:                        # "::ffff:1.2.3.4": ipaddress writes it otherwise
            return None
        family, bits, version = socket.AF_INET6, 128, 6
    else:
        family, bits, version = socket.AF_INET, 32, 4
    try:
        packed = socket.inet_pton(family, address)
    except (OSError, ValueError):
        return None
    if socket.inet_ntop(family, packed) != address:     # not the canonical text (case, zeros, compression)
        return None
    if not sep:
        length = bits
    elif prefix.isdigit() and (prefix == '0' or prefix[0] != '0') and int(prefix) <= bits:
        length = int(prefix)
    else:
        return None
    first = int.from_bytes(packed, 'big')
    size = 1 << (bits - length)
    if first & (size - 1):                        # host bits set: ipaddress says so
        return None
    return version, first, first + size - 1, '%s/%d' % (address, length)


def source_intervals(values, where='sources'):
    """The sources as :func:`catalogue.normalize_sources` takes them, as (version, first, last, canonical text): each parsed
    strictly (a source given in canonical form by inet_pton, any other by ipaddress, which names what is wrong),
    duplicates dropped, sorted IPv4 first, then by address, a network before the networks inside it."""
    values = source_values(values, where)
    seen = {}
    for value in values:
        item = None
        if isinstance(value, str) and SOURCE_RE.match(value):
            item = _canonical_source(value)
        if item is None:
            net = normalize_source(value, where=where)
            item = (net.version, int(net.network_address), int(net.broadcast_address), str(net))
        seen[item[3]] = item
    # (version, first, -last) as two stable sorts with C keys: half the time of one sort with a tuple-building lambda
    items = sorted(seen.values(), key=itemgetter(2), reverse=True)
    items.sort(key=itemgetter(0, 1))
    return items

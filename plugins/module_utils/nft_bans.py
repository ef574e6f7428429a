# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bans of the portwarden table across a replace, and the element a source is banned as.

A replacement that loads the table whole deletes it and with it every element
the kernel added (one that keeps the ban sets, nft_delta, leaves them as they
are); ``nft_table`` reads the bans first (nft_dynamic.DynamicState), then puts
them back with the time each had left (:func:`carry_over_script`), minus the
ones an operator releases (``unban``, as :func:`ban_key` names them, and
:func:`release_script` where the set is kept).
"""

from __future__ import annotations

import ipaddress

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.nft_dynamic import V6_BAN_PREFIX


def ban_key(source):
    """The element a source is banned as: an IPv4 address, or an IPv6 address's /64 network address.

    Raises PortwardenError for anything that is not an address or a network.
    """
    try:
        network = ipaddress.ip_network(str(source).strip(), strict=False)
    except ValueError:
        raise PortwardenError('%r is not an IPv4 or IPv6 address or network.' % (source,))
    if network.version == 4:
        if network.prefixlen != 32:
            raise PortwardenError('%r: IPv4 sources are banned per address; give one address, not a network.' % (source,))
        return 'banned_v4', str(network.network_address)
    if network.prefixlen < V6_BAN_PREFIX:
        raise PortwardenError('%r: IPv6 sources are banned per /%d; give an address or a /%d.'
                              % (source, V6_BAN_PREFIX, V6_BAN_PREFIX))
    return 'banned_v6', str(ipaddress.ip_network('%s/%d' % (network.network_address, V6_BAN_PREFIX), strict=False).network_address)


def carry_over_script(family, name, bans, release=()):
    """``add element`` lines that put the bans back, each with the time it had left, minus ``release``.

    ``bans`` is ``{set: [(value, seconds_left)]}``; ``release`` a collection of ``(set, value)`` pairs.
    Elements with no time left (or no timeout) are not carried over.
    """
    release = set(release)
    lines = []
    for set_name in sorted(bans):
        items = ['%s timeout %ds' % (value, left) for value, left in bans[set_name]
                 if left and left > 0 and (set_name, value) not in release]
        if items:
            lines.append('add element %s %s %s { %s }' % (family, name, set_name, ', '.join(items)))
    return '\n'.join(lines) + '\n' if lines else ''


def release_script(family, name, bans, release):
    """``delete element`` lines for the ``(set, value)`` pairs of ``release`` that are banned now."""
    present = set((set_name, value) for set_name, items in bans.items() for value, dummy in items)
    lines = ['delete element %s %s %s { %s }' % (family, name, set_name, value)
             for set_name, value in sorted(set(release) & present)]
    return '\n'.join(lines) + '\n' if lines else ''


def declared(script, bans):
    """The part of ``bans`` whose sets ``script`` declares (elements of other sets cannot be added to it)."""
    return dict((name, items) for name, items in bans.items() if ('set %s {' % name) in (script or ''))

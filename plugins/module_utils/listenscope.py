# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a listener can be reached from: ``loopback``, ``any`` or one ``address``.

A listener bound only to 127.0.0.0/8 or ::1 (systemd-resolved's 127.0.0.53:53,
a database for local clients) cannot be reached through the firewall: it is
neither drift from the service catalogue nor a port to open. It still holds a
port, so inside the ephemeral range it still conflicts with outgoing
connections. The same rule serves every OS backend (its listener dicts carry
``address``).
"""

from __future__ import annotations

import ipaddress

LOOPBACK = 'loopback'
ANY = 'any'
ADDRESS = 'address'


def listener_scope(address):
    """``loopback``, ``any`` (0.0.0.0, ::, ``*``) or ``address`` for a listener's local address."""
    text = str(address or '').strip('[]')
    if text in ('', '*', '0.0.0.0', '::'):
        return ANY
    try:
        parsed = ipaddress.ip_address(text.split('%', 1)[0])
    except ValueError:
        return ADDRESS
    mapped = getattr(parsed, 'ipv4_mapped', None)
    if mapped is not None:
        parsed = mapped
    if parsed.is_unspecified:
        return ANY
    return LOOPBACK if parsed.is_loopback else ADDRESS


def reachable(listeners):
    """The listeners a peer can reach (scope other than loopback): the ones a catalogue must declare."""
    return [item for item in listeners if listener_scope(item['address']) != LOOPBACK]

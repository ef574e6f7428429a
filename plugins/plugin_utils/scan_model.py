# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Port-scan detection of the host_firewall role: its variables validated, and what the template renders.

Controller side. A source whose new connection attempts to ports the
catalogue does not open it exceed ``threshold`` in ``window`` seconds is
added to a ban set for ``ban`` seconds (IPv4 per address, IPv6 per /64).
nftables measures the attempts per source with a token bucket: ``threshold``
attempts at once, refilled at ``threshold`` per ``window``; the next attempt
bans.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_sources
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.nft_bans import ban_key
from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_model import check_bool, check_int, collapse

LIMITS = {
    'host_firewall_scan_threshold': (1, 100000),
    'host_firewall_scan_window': (1, 86400),
    'host_firewall_scan_ban': (1, 30 * 86400),
}
UNITS = (('second', 1), ('minute', 60), ('hour', 3600), ('day', 86400))


def _int(value, what):
    low, high = LIMITS[what]
    return check_int(value, what, low, high)


def refill_rate(threshold, window):
    """The token bucket's refill, ``threshold`` per ``window`` seconds, as nft's ``N/unit``.

    The smallest unit in which it is a whole number; per day, rounded, when none is.
    """
    for unit, seconds in UNITS:
        count, rest = divmod(threshold * seconds, window)
        if not rest and count >= 1:
            return '%d/%s' % (count, unit)
    return '%d/day' % max(1, int(round(threshold * 86400.0 / window)))


def _elements(networks, version):
    return ', '.join(collapse([str(n) for n in networks if n.version == version]))


def scan_model(detect=True, threshold=20, window=60, ban=600, allow=None, management_sources=None, unban=None):
    """The ``scan`` part of the host_firewall model; raises PortwardenError naming the variable and the value."""
    detect = check_bool(detect, 'host_firewall_scan_detect')
    threshold = _int(threshold, 'host_firewall_scan_threshold')
    window = _int(window, 'host_firewall_scan_window')
    ban = _int(ban, 'host_firewall_scan_ban')
    networks = list(normalize_sources(allow, 'host_firewall_scan_allow'))
    networks += list(normalize_sources(management_sources, 'host_firewall_management_sources'))
    release = []
    if unban is None:
        unban = []
    if isinstance(unban, str):
        unban = [unban]
    if not isinstance(unban, (list, tuple)):
        raise PortwardenError('host_firewall_unban: invalid value %r: expected a list of IPv4 addresses and IPv6 '
                              'addresses or /64 networks.' % (unban,))
    for index, source in enumerate(unban):
        try:
            set_name, value = ban_key(source)
        except PortwardenError as exc:
            raise PortwardenError('host_firewall_unban[%d]: %s' % (index, exc.msg))
        release.append({'set': set_name, 'element': value})
    return {
        'detect': detect,
        'threshold': threshold,
        'window': window,
        'ban': ban,
        'rate': refill_rate(threshold, window),
        'allow_v4': _elements(networks, 4),
        'allow_v6': _elements(networks, 6),
        'keep_sets': ['banned_v4', 'banned_v6'] if detect else [],
        'release': release,
    }

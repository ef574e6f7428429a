# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How long a port toward one destination stays out of use after a close (Linux).

Linux keeps a closed TCP connection in TIME_WAIT for 60 seconds
(TCP_TIMEWAIT_LEN). ``net.ipv4.tcp_tw_reuse`` lets a new outgoing connection
take a TIME_WAIT port once the last TCP timestamp seen on it is a second old
(``tcp_twsk_unique``): it needs ``net.ipv4.tcp_timestamps`` on, without which
reuse does nothing. tcp_tw_reuse is 0 (off), 1 (every destination) or 2
(loopback destinations only, the default).
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.listenscope import LOOPBACK, listener_scope

REUSE_SECONDS = 1


def reuse_applies(tcp_tw_reuse, tcp_timestamps, address=None):
    """True when a TIME_WAIT port toward ``address`` (None: any destination) can be reused after a second."""
    if not tcp_timestamps or not tcp_tw_reuse:
        return False
    if tcp_tw_reuse == 1:
        return True
    return tcp_tw_reuse == 2 and address is not None and listener_scope(address) == LOOPBACK


def wait_seconds(tcp_tw_reuse, tcp_timestamps, address, time_wait_seconds):
    """Seconds a port toward ``address`` is out of use after a close: 1 with effective reuse, else TIME_WAIT's."""
    return REUSE_SECONDS if reuse_applies(tcp_tw_reuse, tcp_timestamps, address) else time_wait_seconds

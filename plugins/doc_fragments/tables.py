# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""O(protocol) and O(family): which of Windows' four tables a task changes."""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  protocol:
    description:
      - On Windows, V(tcp) or V(udp) selects that protocol's table (its dynamic port range and its excluded port
        ranges); V(all) selects both.
      - Linux, FreeBSD and macOS have one range and one list of reservations for TCP and UDP, so only V(all) is accepted
        there.
    type: str
    choices: [tcp, udp, all]
    default: all
  family:
    description:
      - On Windows, V(ipv4) or V(ipv6) selects that family's table (C(netsh interface ipv4|ipv6)); V(all) selects both.
      - Linux (C(net.ipv4.*) covers IPv6 too), FreeBSD and macOS have one range and one list of reservations for IPv4 and
        IPv6, so only V(all) is accepted there.
    type: str
    choices: [ipv4, ipv6, all]
    default: all
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's Linux report from what the host gathered (portgather.gathered).

The host reads and counts; :func:`complete` builds the report of it: the
listeners with their scope, the usage summary, the conflicts. One function on
both sides: on the controller, from linux_port_info's answer
(plugin_utils/port_report.py), and on the host where the whole report is built
there (portinfo.py), so the two give the same report.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import conflicts, report
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

# Linux keeps a TCP socket in TIME_WAIT for TCP_TIMEWAIT_LEN (include/net/tcp.h),
# a compile-time constant of 60 seconds: no sysctl changes it.
TIME_WAIT_SECONDS = 60


def complete(gathered, services=None, more=()):
    """port_info's report from ``gathered``: the conflicts of the range, the reservations, the listeners and the
    catalogue (normalized, or None), then ``more`` (conntrack's)."""
    erange = PortRange(gathered['ephemeral_range']['start'], gathered['ephemeral_range']['end'])
    reserved = PortSet.parse(gathered['reserved_ports']['ports'])
    listeners = report.listener_dicts(gathered['listeners'], {} if gathered['owners'] else None)
    counts = dict(gathered['usage'])
    counts['destinations'] = dict((tuple(item[:3]), item[3]) for item in counts['destinations'])
    usage = report.usage_summary(erange, erange.size - (reserved & PortSet([erange])).size,
                                 time_wait_seconds=TIME_WAIT_SECONDS, top=gathered['top'],
                                 tcp_tw_reuse=gathered['tcp_tw_reuse'], tcp_timestamps=gathered['tcp_timestamps'], **counts)
    usage['conntrack'] = gathered['conntrack']
    found = conflicts.conflicts_report(erange, reserved, listeners, services)
    found.extend(more)
    return report.build(erange, reserved, listeners, found, usage, gathered['unprivileged_port_start'],
                        firewall=gathered.get('firewall'))

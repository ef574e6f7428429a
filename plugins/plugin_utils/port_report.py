# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's report for a Linux host, finished on the controller.

The Linux module, run by the action plugin with ``_gathered``, reads and
counts what needs the host (ranges, reservations, listeners with owners and
scope, usage over every socket, conntrack, firewall) and returns it without
``conflicts``. Here the catalogue is validated (before the module runs, so a
bad entry fails the task without reaching the host) and the conflicts are
built from the module's answer with the functions every OS uses
(module_utils/conflicts.py, conntrack.py), then the result with
``report.build``: the same keys and values as a report built on the host
(``portinfo.gather``, which the port_metrics collector runs). With async the
module builds the whole report itself, since its answer comes back through
async_status and not through the action plugin.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import conflicts, conntrack, report
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.plugin_utils.sources import source_intervals


class Request(object):
    """The task's options, checked on the controller: ``top``, the normalized catalogue (or None) and
    ``conntrack_warn_percent``; PortwardenError names the bad value."""

    def __init__(self, args):
        self.top, self.services = conflicts.check_request(args['top'], args['services'], sources=source_intervals)
        self.warn_percent = conntrack.check_warn_percent(args['conntrack_warn_percent'])
        self.args = args

    def module_args(self):
        """The Linux module's arguments: the catalogue stays here."""
        return dict(self.args, services=None, _gathered=True)

    def finish(self, answer):
        """The task's result from the module's answer (a failed or skipped answer as it is)."""
        if answer.get('failed') or answer.get('skipped') or 'listeners' not in answer:
            return answer
        erange = PortRange(answer['ephemeral_range']['start'], answer['ephemeral_range']['end'])
        reserved = PortSet.parse(answer['reserved_ports']['ports'])
        listeners = answer['listeners']
        usage = answer['usage']
        found = conflicts.conflicts_report(erange, reserved, listeners, self.services)
        found.extend(conntrack.conntrack_conflicts(usage.get('conntrack'), self.warn_percent))
        result = report.build(erange, reserved, listeners, found, usage, answer['unprivileged_port_start'],
                              firewall=answer.get('firewall'))
        result.update((key, value) for key, value in answer.items() if key not in result)
        if 'invocation' in result:  # the task's own options, as the module would echo them
            result['invocation'] = dict(result['invocation'], module_args=dict(self.args))
        return result

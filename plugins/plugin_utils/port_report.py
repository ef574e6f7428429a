# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's report for a Linux host, finished on the controller.

The internal module linux_port_info, which the action plugin runs on Linux,
reads and counts what needs the host (ranges, reservations, listeners with
owners, usage over every socket, conntrack, firewall) and returns the counts
(module_utils/portgather.py: its payload carries no report, conflict or
catalogue code). Here the catalogue is validated (before the module runs, so a
bad entry fails the task without reaching the host) and the report is built
with ``linux_report.complete``, the function that builds the whole report on
the host too (module_utils/portinfo.py: the port_info module,
which the action plugin runs with async since that answer reaches async_status
and not the plugin, and the port_metrics collector): the same keys and values.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import argspec, conflicts, linux_report
from ansible_collections.portwarden.ports.plugins.plugin_utils.sources import source_intervals


class Request(object):
    """The task's options, checked on the controller: ``top``, the normalized catalogue (or None) and
    ``conntrack_warn_percent``; PortwardenError names the bad value."""

    def __init__(self, args):
        self.top, self.services = conflicts.check_request(args['top'], args['services'], sources=source_intervals)
        self.warn_percent = conflicts.check_warn_percent(args['conntrack_warn_percent'])
        self.args = args

    def module_args(self):
        """linux_port_info's arguments: the catalogue and the conntrack threshold stay here (the conflicts are built
        here)."""
        return dict((key, value) for key, value in self.args.items() if key in argspec.PORT_INFO_GATHER)

    def finish(self, answer):
        """The task's result from the module's answer (a failed or skipped answer as it is)."""
        if answer.get('failed') or answer.get('skipped') or 'gathered' not in answer:
            return answer
        gathered = answer['gathered']
        result = linux_report.complete(gathered, self.services,
                                       conflicts.conntrack_conflicts(gathered['conntrack'], self.warn_percent))
        result.update((key, value) for key, value in answer.items() if key not in result and key != 'gathered')
        if 'invocation' in result:  # the task's own options, as the module would echo them
            result['invocation'] = dict(result['invocation'], module_args=dict(self.args))
        return result

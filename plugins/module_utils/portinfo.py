# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's whole Linux report built on the host, the conflicts included.

What the port_info module runs (its action plugin runs it with async, whose
answer reaches async_status and not the plugin) and the port_metrics
collector (:func:`gather`). Reading and counting are portgather.py's, which is
all that the internal module linux_port_info carries when the action plugin
builds the report on the controller; here the catalogue is checked and the
report built on the host, with the same linux_report.complete.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import conflicts, linux_report, portgather, portread


def check_request(top, services, conntrack_warn_percent, system=None):
    """The checked ``(top, services)``: the catalogue normalized, or None."""
    portgather.check_system(system)
    conflicts.check_warn_percent(conntrack_warn_percent)
    return conflicts.check_request(top, services)


def _complete(found, services, conntrack_warn_percent):
    return linux_report.complete(found, services, conflicts.conntrack_conflicts(found['conntrack'], conntrack_warn_percent))


def collect(tables, processes=False, services=None, top=10, proc=None,
            conntrack_warn_percent=conflicts.DEFAULT_WARN_PERCENT, firewall=None):
    """The report from portread.read_tables' values, the kernel's other counters and ``firewall`` (the state
    portgather.firewall_state read, or None: unread); the options checked."""
    found = portgather.collect(tables, processes=processes, top=top, proc=proc)
    found['firewall'] = firewall
    return _complete(found, services, conntrack_warn_percent)


def gather(processes=False, services=None, top=10, proc=None, system=None,
           conntrack_warn_percent=conflicts.DEFAULT_WARN_PERCENT):
    """Read the running kernel and return the report. Never writes anything."""
    top, services = check_request(top, services, conntrack_warn_percent, system)
    return collect(portread.read_tables(proc), processes=processes, services=services, top=top, proc=proc,
                   conntrack_warn_percent=conntrack_warn_percent)


def port_info(module, reading=None, prefetched=None):
    """The port_info module's result (without ``changed``): the whole report and the firewall state, read while
    ``reading`` (portread.start_reading's thread, or None: read here) reads the tables, and with the probes
    ``prefetched`` started (probes.start, or None)."""
    params = module.params
    checked, tables, firewall = portgather.read_host(
        module, reading, lambda: check_request(params['top'], params['services'], params['conntrack_warn_percent']),
        prefetched)
    top, services = checked
    return collect(tables, processes=params['processes'], services=services, top=top,
                   conntrack_warn_percent=params['conntrack_warn_percent'], firewall=firewall)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info on Linux, the part that needs the host: read the kernel and count.

What the internal module linux_port_info runs, and all it carries: the port
range and the reservations (/proc/sys via :mod:`procsys`), the socket tables
(:mod:`procnet`, :mod:`sockdiag`) read and counted by portread.py (in a
thread: while the kernel dumps them the module parses its arguments and
reads the firewall state), conntrack, the firewall. The answer is plain
values (:func:`gathered`); linux_report.complete builds port_info's report of
them: on the controller (plugin_utils/port_report.py), and on the host where
the whole report is built there (portinfo.py: the port_info module with async,
the port_metrics collector).
"""

from __future__ import annotations

import os
import platform

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils import backend, conntrack, portread, procnet, procsys

PROC = procnet.PROC  # what port_info reads (unit tests point it at a fake tree)


def listener_rows(listeners, owners=None):
    """procnet's listeners as report.listener_dicts takes them; ``owners`` maps socket inodes to (pid, process name)."""
    rows = []
    for listener in listeners:
        pid, name = owners.get(listener.inode, (None, None)) if owners is not None else (None, None)
        rows.append({'proto': listener.proto, 'family': listener.family, 'address': listener.address,
                     'port': listener.port, 'listening': True, 'pid': pid, 'process': name})
    return rows


def gathered(erange, unprivileged_start, reserved, counted, owners=None, top=10, tcp_tw_reuse=None, tcp_timestamps=None,
             conntrack_table=None):
    """linux_port_info's answer (``firewall`` not read) from read values (``counted``: a portread.Counted): plain
    values, from which linux_report.complete builds port_info's report."""
    return {
        'ephemeral_range': erange.to_dict(), 'unprivileged_port_start': unprivileged_start,
        'reserved_ports': reserved.to_dict(), 'listeners': listener_rows(counted.listeners, owners),
        'owners': owners is not None, 'top': top, 'usage': counted.usage_top(top),
        'tcp_tw_reuse': tcp_tw_reuse, 'tcp_timestamps': tcp_timestamps, 'conntrack': conntrack_table,
    }


def check_system(system=None):
    """PortwardenError on another system than Linux."""
    system = system or platform.system()
    if system != 'Linux':
        raise PortwardenError('port_info reads Linux procfs and does not support %s.' % system)


def collect(tables, processes=False, top=10, proc=None):
    """:func:`gathered` from portread.read_tables' values and the kernel's other counters."""
    proc = proc or PROC
    erange, reserved, unprivileged, counted = tables
    proc_sys = os.path.join(proc, 'sys')
    owners = None
    if processes:
        from ansible_collections.portwarden.ports.plugins.module_utils import procowners

        owners = procowners.socket_owners([listener.inode for listener in counted.listeners], root=proc)
    return gathered(erange, unprivileged, reserved, counted, owners=owners, top=top,
                    tcp_tw_reuse=procsys.read_flag('net.ipv4.tcp_tw_reuse', proc_sys),
                    tcp_timestamps=procsys.read_flag('net.ipv4.tcp_timestamps', proc_sys),
                    conntrack_table=conntrack.read_conntrack(proc))


def read_host(module, reading, check, prefetched=None):
    """``(check(), tables, firewall)``: the options checked, then the firewall state read while ``reading``
    (portread.start_reading's thread, or None: read here) reads the tables; the thread ends before an error leaves.
    ``prefetched`` (probes.start, or None) answers the firewall probes it started; it is closed here."""
    backend.check_system('port_info', 'linux')
    run = backend.probe_runner(module)
    try:
        checked = check()
        firewall = firewall_state(prefetched.runner(run) if prefetched is not None else run, module.get_bin_path)
        tables = reading.result() if reading is not None else portread.read_tables()
    except BaseException:
        if reading is not None:
            reading.close()  # the thread ends before the module does
        raise
    finally:
        if prefetched is not None:
            prefetched.close()
    return checked, tables, firewall


def check_top(top):
    """``top`` as given, or PortwardenError (the controller checks it first, with report.check_top; this payload
    does not carry report.py)."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Invalid top %r: expected a whole number of destinations, 0 or more.' % (top,))
    return top


def port_info(module, reading=None, prefetched=None):
    """linux_port_info's result: ``gathered`` (:func:`gathered`, with the firewall state)."""
    params = module.params
    top, tables, firewall = read_host(module, reading, lambda: check_top(params['top']), prefetched)
    found = collect(tables, processes=params['processes'], top=top)
    found['firewall'] = firewall
    return {'gathered': found}


def firewall_state(run, which):
    """port_info's ``firewall``: the managers found (managers.py) and the live bans and drop counters of the
    portwarden table (nft_dynamic.py); report.build keeps the keys of report.FIREWALL_KEYS."""
    from ansible_collections.portwarden.ports.plugins.module_utils import managers, nft_dynamic

    state = managers.firewall_report(run, which)
    nft = which('nft')
    state.update(nft_dynamic.DynamicState(run, nft).audit() if nft else {'banned': None, 'counters': None})
    return state

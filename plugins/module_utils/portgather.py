# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info on Linux, the part that needs the host: read the kernel and count.

What the internal module linux_port_info runs, and all it carries: the port
range and the reservations (/proc/sys via :mod:`procsys`), the socket tables
(:mod:`procnet`, :mod:`sockdiag`) read in a thread (:func:`start_reading`:
while the kernel dumps them the module parses its arguments and reads the
firewall state) and counted, conntrack, the firewall. The answer is plain
values (:func:`gathered`); linux_report.complete builds port_info's report of
them: on the controller (plugin_utils/port_report.py), and on the host where
the whole report is built there (portinfo.py: the port_info module with async,
the port_metrics collector).
"""

from __future__ import annotations

import os
import platform
import threading
from collections import Counter
from operator import itemgetter

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils import backend, conntrack, procnet, procsys, sockdiag

PROC = procnet.PROC  # what port_info reads (unit tests point it at a fake tree)
_PORT = itemgetter(0)
_STATE_REMOTE = itemgetter(1, 2)


def listener_rows(listeners, owners=None):
    """procnet's listeners as report.listener_dicts takes them; ``owners`` maps socket inodes to (pid, process name)."""
    rows = []
    for listener in listeners:
        pid, name = owners.get(listener.inode, (None, None)) if owners is not None else (None, None)
        rows.append({'proto': listener.proto, 'family': listener.family, 'address': listener.address,
                     'port': listener.port, 'listening': True, 'pid': pid, 'process': name})
    return rows


def count(scan, erange, reserved, top=10):
    """The usage counted from a procnet.Scan: report.usage_summary's arguments that come from the sockets, with
    ``destinations`` the ``top`` busiest as ``[family, address, port, {state: count}]`` in the summary's order (most
    sockets, then family, address, port) and ``destinations_total`` how many there are. Sockets accepted by a TCP
    listener in the range share its port: they take nothing from the pool (counted in ``inbound``)."""
    listen_ports = set(listener.port for listener in scan.listeners if listener.proto == 'tcp')

    tcp = scan.tcp_in_range
    ports = set(map(_PORT, tcp))
    inbound = 0
    held = ports & listen_ports
    if held:
        kept = [item for item in tcp if item[0] not in held]
        inbound = len(tcp) - len(kept)
        tcp = kept
        ports -= held
    # Counted in C (Counter over (state, remote) pairs); then one pass over the distinct pairs, a few per endpoint.
    states = {}
    endpoints = {}
    for (state, remote), number in Counter(map(_STATE_REMOTE, tcp)).items():
        states[state] = states.get(state, 0) + number
        if not remote.endswith(b':0000'):
            counts = endpoints.get(remote)
            if counts is None:
                counts = endpoints[remote] = {}
            counts[state] = counts.get(state, 0) + number
    ports.update(scan.udp_in_range)
    ports.update(listener.port for listener in scan.listeners if erange.start <= listener.port <= erange.end)
    if reserved:
        ports = set(port for port in ports if port not in reserved)

    state_names = procnet.TCP_STATES
    merged = {}
    for remote, counts in endpoints.items():
        target = merged.setdefault(procnet.decode_endpoint(remote, sockdiag), {})
        for state, number in counts.items():
            name = state_names.get(state, state.decode('ascii'))
            target[name] = target.get(name, 0) + number
    busiest = sorted(merged.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:top]

    return {
        'sockets_total': scan.sockets,
        'tcp_states': dict((state_names.get(state, state.decode('ascii')), number) for state, number in states.items()),
        'time_wait': states.get(procnet.ST_TIME_WAIT, 0), 'udp_sockets': len(scan.udp_in_range), 'inbound': inbound,
        'ports_in_use': len(ports), 'destinations': [list(key) + [counts] for key, counts in busiest],
        'destinations_total': len(merged),
    }


def gathered(erange, unprivileged_start, reserved, scan, owners=None, top=10, tcp_tw_reuse=None, tcp_timestamps=None,
             conntrack_table=None):
    """linux_port_info's answer (``firewall`` not read) from read values: plain values, from which
    linux_report.complete builds port_info's report."""
    return {
        'ephemeral_range': erange.to_dict(), 'unprivileged_port_start': unprivileged_start,
        'reserved_ports': reserved.to_dict(), 'listeners': listener_rows(scan.listeners, owners),
        'owners': owners is not None, 'top': top, 'usage': count(scan, erange, reserved, top),
        'tcp_tw_reuse': tcp_tw_reuse, 'tcp_timestamps': tcp_timestamps, 'conntrack': conntrack_table,
    }


def read_tables(proc=None):
    """``(erange, reserved, unprivileged_port_start, scan)``: what the report reads from the kernel first."""
    proc_sys = os.path.join(proc or PROC, 'sys')
    erange = procsys.read_port_range(proc_sys)
    scan = procnet.scan_tables(erange.start, erange.end, root=proc or PROC, netlink=sockdiag)
    return erange, procsys.read_reserved_ports(proc_sys), procsys.read_unprivileged_port_start(proc_sys), scan


def start_reading(proc=None):
    """:func:`read_tables` in a :class:`Background` thread on Linux; None elsewhere (the system check fails)."""
    return Background(read_tables, proc) if platform.system() == 'Linux' else None


def check_system(system=None):
    """PortwardenError on another system than Linux."""
    system = system or platform.system()
    if system != 'Linux':
        raise PortwardenError('port_info reads Linux procfs and does not support %s.' % system)


def collect(tables, processes=False, top=10, proc=None):
    """:func:`gathered` from :func:`read_tables`' values and the kernel's other counters."""
    proc = proc or PROC
    erange, reserved, unprivileged, scan = tables
    proc_sys = os.path.join(proc, 'sys')
    owners = None
    if processes:
        from ansible_collections.portwarden.ports.plugins.module_utils import procowners

        owners = procowners.socket_owners([listener.inode for listener in scan.listeners], root=proc)
    return gathered(erange, unprivileged, reserved, scan, owners=owners, top=top,
                    tcp_tw_reuse=procsys.read_flag('net.ipv4.tcp_tw_reuse', proc_sys),
                    tcp_timestamps=procsys.read_flag('net.ipv4.tcp_timestamps', proc_sys),
                    conntrack_table=conntrack.read_conntrack(proc))


def read_host(module, reading, check):
    """``(check(), tables, firewall)``: the options checked, then the firewall state read while ``reading``
    (:func:`start_reading`'s thread, or None: read here) reads the tables; the thread ends before an error leaves."""
    backend.check_system('port_info', 'linux')
    try:
        checked = check()
        firewall = firewall_state(backend.probe_runner(module), module.get_bin_path)
        tables = reading.result() if reading is not None else read_tables()
    except BaseException:
        if reading is not None:
            reading.thread.join()  # the thread ends before the module does
        raise
    return checked, tables, firewall


def check_top(top):
    """``top`` as given, or PortwardenError (the controller checks it first, with report.check_top; this payload
    does not carry report.py)."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Invalid top %r: expected a whole number of destinations, 0 or more.' % (top,))
    return top


def port_info(module, reading=None):
    """linux_port_info's result: ``gathered`` (:func:`gathered`, with the firewall state)."""
    params = module.params
    top, tables, firewall = read_host(module, reading, lambda: check_top(params['top']))
    found = collect(tables, processes=params['processes'], top=top)
    found['firewall'] = firewall
    return {'gathered': found}


class Background(object):
    """``function(*args)`` in a thread; :meth:`result` waits, then returns its value or raises its exception."""

    def __init__(self, function, *args):
        self.value = self.error = None
        self.thread = threading.Thread(target=self._run, args=(function,) + args, name='portwarden-' + function.__name__)
        self.thread.daemon = True
        self.thread.start()

    def _run(self, function, *args):
        try:
            self.value = function(*args)
        except BaseException as exc:  # raised again in the caller's thread
            self.error = exc

    def result(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


def firewall_state(run, which):
    """port_info's ``firewall``: the managers found (managers.py) and the live bans and drop counters of the
    portwarden table (nft_dynamic.py); report.build keeps the keys of report.FIREWALL_KEYS."""
    from ansible_collections.portwarden.ports.plugins.module_utils import managers, nft_dynamic

    state = managers.firewall_report(run, which)
    nft = which('nft')
    state.update(nft_dynamic.DynamicState(run, nft).audit() if nft else {'banned': None, 'counters': None})
    return state

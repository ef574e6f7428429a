# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What port_info reads from the kernel first: the port range, the reservations, the socket tables, counted.

The modules that report on a host (linux_port_info, port_info) import this
alone before anything else of the collection and call :func:`start_reading`
at once: the sysctls and the sockets are read, and the sockets counted, in a
thread (:class:`Background`) while the module compiles the rest of its code,
parses its arguments and reads the firewall state; the kernel's part of the
dump runs without the interpreter lock. What the report keeps of the sockets
is :class:`Counted`: the listeners and the usage summary with every
destination, cut at ``top`` once the options are read. This module imports
only what the reading needs.
"""

from __future__ import annotations

import os
import platform
import threading
from collections import Counter
from operator import itemgetter

from ansible_collections.portwarden.ports.plugins.module_utils import procnet, procsys, sockdiag

PROC = procnet.PROC  # what port_info reads (unit tests point it at a fake tree)
_PORT = itemgetter(0)
_STATE_REMOTE = itemgetter(1, 2)


def count(scan, erange, reserved, top=10):
    """The usage counted from a procnet.Scan: report.usage_summary's arguments that come from the sockets, with
    ``destinations`` the ``top`` busiest (every one for None) as ``[family, address, port, {state: count}]`` in the
    summary's order (most sockets, then family, address, port) and ``destinations_total`` how many there are.
    Sockets accepted by a TCP listener in the range share its port: they take nothing from the pool (counted in
    ``inbound``). The scan's ``tally`` (sock_diag's ranged dump) is counted already and is added in."""
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
    pairs = []
    if scan.tally is not None:   # sock_diag's ranged dump, counted as it was read: (state, remote) pairs already
        ports.update(scan.tally.ports)
        inbound += scan.tally.inbound
        pairs = [sockdiag.decode_pair(key) + (number,) for key, number in scan.tally.pairs.items()]
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
    for state, endpoint, number in pairs:
        state = sockdiag.STATE_HEX[state]
        states[state] = states.get(state, 0) + number
        target = merged.setdefault(endpoint, {})
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


class Counted(object):
    """The socket tables as the report uses them: ``listeners`` (procnet.Listener objects) and ``usage``
    (:func:`count` with every destination)."""

    __slots__ = ('listeners', 'usage')

    def __init__(self, listeners, usage):
        self.listeners = listeners
        self.usage = usage

    @classmethod
    def of(cls, scan, erange, reserved):
        return cls(scan.listeners, count(scan, erange, reserved, top=None))

    def usage_top(self, top):
        """:attr:`usage` with the ``top`` busiest destinations."""
        return dict(self.usage, destinations=self.usage['destinations'][:top])


def read_tables(proc=None):
    """``(erange, reserved, unprivileged_port_start, counted)``: what the report reads from the kernel first, the
    socket tables (netlink sock_diag, else /proc/net) as :class:`Counted`."""
    proc_sys = os.path.join(proc or PROC, 'sys')
    erange = procsys.read_port_range(proc_sys)
    reserved = procsys.read_reserved_ports(proc_sys)
    scan = procnet.scan_tables(erange.start, erange.end, root=proc or PROC, netlink=sockdiag)
    return erange, reserved, procsys.read_unprivileged_port_start(proc_sys), Counted.of(scan, erange, reserved)


def start_reading(proc=None):
    """:func:`read_tables` in a :class:`Background` thread on Linux; None elsewhere (the system check fails)."""
    return Background(read_tables, proc) if platform.system() == 'Linux' else None


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

    def close(self):
        self.thread.join()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info on Linux, the part that needs the host: read the kernel and count.

What the internal module linux_port_info runs, and all it carries: the port
range and the reservations (/proc/sys via :mod:`procsys`), the socket tables
(:mod:`procnet`, :mod:`sockdiag`) read in a thread (:func:`start_reading`:
while the kernel dumps them the module parses its arguments and reads the
firewall state), the usage of the ephemeral range, conntrack, the firewall. The
result is port_info's report without ``conflicts``: the action plugin adds them
on the controller (plugin_utils/port_report.py), and portinfo.py on the host
where the whole report is built there (the port_info module with async, the
port_metrics collector), both with conflicts.complete_report.
"""

from __future__ import annotations

import os
import platform
import threading
from collections import Counter
from operator import itemgetter

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import backend, conntrack, timewait
from ansible_collections.portwarden.ports.plugins.module_utils import procnet, procsys, report, sockdiag

# Linux keeps a TCP socket in TIME_WAIT for TCP_TIMEWAIT_LEN (include/net/tcp.h),
# a compile-time constant of 60 seconds: no sysctl changes it.
TIME_WAIT_SECONDS = 60
PROC = procnet.PROC  # what port_info reads (unit tests point it at a fake tree)
_PORT = itemgetter(0)
_STATE_REMOTE = itemgetter(1, 2)


def listeners_report(scan_listeners, owners=None):
    """port_info's listeners from procnet's; ``owners`` maps socket inodes to (pid, process name)."""
    rows = []
    for listener in scan_listeners:
        pid, name = owners.get(listener.inode, (None, None)) if owners is not None else (None, None)
        rows.append({'proto': listener.proto, 'family': listener.family, 'address': listener.address,
                     'port': listener.port, 'listening': True, 'pid': pid, 'process': name})
    return report.listener_dicts(rows, {} if owners is not None else None)


def usage_report(scan, erange, reserved, top=10, tcp_tw_reuse=None, tcp_timestamps=None):
    """Ephemeral usage: sockets by state, TIME_WAIT, busiest destinations, headroom. Sockets accepted by a TCP
    listener in the range share its port: they take nothing from the pool (counted in ``inbound_excluded``)."""
    usable = erange.size - (reserved & PortSet([erange])).size
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
    for (state, remote), count in Counter(map(_STATE_REMOTE, tcp)).items():
        states[state] = states.get(state, 0) + count
        if not remote.endswith(b':0000'):
            counts = endpoints.get(remote)
            if counts is None:
                counts = endpoints[remote] = {}
            counts[state] = counts.get(state, 0) + count
    ports.update(scan.udp_in_range)
    ports.update(listener.port for listener in scan.listeners if erange.start <= listener.port <= erange.end)
    if reserved:
        ports = set(port for port in ports if port not in reserved)

    state_names = procnet.TCP_STATES
    merged = {}
    for remote, counts in endpoints.items():
        target = merged.setdefault(procnet.decode_endpoint(remote, sockdiag), {})
        for state, count in counts.items():
            name = state_names.get(state, state.decode('ascii'))
            target[name] = target.get(name, 0) + count

    tcp_states = dict((state_names.get(state, state.decode('ascii')), count) for state, count in states.items())
    return report.usage_summary(erange, usable, sockets_total=scan.sockets, tcp_states=tcp_states,
                                time_wait=states.get(procnet.ST_TIME_WAIT, 0), udp_sockets=len(scan.udp_in_range),
                                inbound=inbound, ports_in_use=len(ports), destinations=merged,
                                time_wait_seconds=TIME_WAIT_SECONDS, top=top, tcp_tw_reuse=tcp_tw_reuse,
                                tcp_timestamps=tcp_timestamps)


def build_report(erange, unprivileged_start, reserved, scan, owners=None, top=10, tcp_tw_reuse=None,
                 tcp_timestamps=None, conntrack_table=None):
    """The report without ``conflicts`` (and with ``firewall`` unread) from read values."""
    listeners = listeners_report(scan.listeners, owners)
    usage = usage_report(scan, erange, reserved, top=top, tcp_tw_reuse=tcp_tw_reuse, tcp_timestamps=tcp_timestamps)
    usage['conntrack'] = conntrack_table
    result = report.build(erange, reserved, listeners, [], usage, unprivileged_start)
    del result['conflicts']
    return result


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
    """The report without ``conflicts`` from :func:`read_tables`' values and the kernel's other counters."""
    proc = proc or PROC
    erange, reserved, unprivileged, scan = tables
    proc_sys = os.path.join(proc, 'sys')
    owners = None
    if processes:
        from ansible_collections.portwarden.ports.plugins.module_utils import procowners

        owners = procowners.socket_owners([listener.inode for listener in scan.listeners], root=proc)
    return build_report(erange, unprivileged, reserved, scan, owners=owners, top=top,
                        tcp_tw_reuse=timewait.read_flag(procsys.read_sysctl, 'net.ipv4.tcp_tw_reuse', proc_sys),
                        tcp_timestamps=timewait.read_flag(procsys.read_sysctl, 'net.ipv4.tcp_timestamps', proc_sys),
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


def port_info(module, reading=None):
    """linux_port_info's result: the report without ``conflicts``, with the firewall state."""
    params = module.params
    top, tables, firewall = read_host(module, reading, lambda: report.check_top(params['top']))
    result = collect(tables, processes=params['processes'], top=top)
    result['firewall'] = firewall
    return result


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
    portwarden table (nft_dynamic.py); the keys of report.FIREWALL_KEYS, null where nothing could be read."""
    from ansible_collections.portwarden.ports.plugins.module_utils import managers, nft_dynamic

    state = managers.firewall_report(run, which)
    nft = which('nft')
    state.update(nft_dynamic.DynamicState(run, nft).audit() if nft else {'banned': None, 'counters': None})
    return dict((key, state.get(key)) for key in report.FIREWALL_KEYS)

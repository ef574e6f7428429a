# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info on Linux: the host's port space read from procfs.

:func:`gather` reads the kernel (ranges and reservations from /proc/sys via
:mod:`procsys`, sockets via :mod:`procnet` with :mod:`sockdiag` as its
netlink reader), counts the sockets of the
ephemeral range, and hands the values to :func:`report.build`, the report
builder every OS shares. ``build_report`` is pure, so unit tests feed it
plain values.
"""

from __future__ import annotations

import os
import platform
import threading
from collections import Counter
from operator import itemgetter

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import backend
from ansible_collections.portwarden.ports.plugins.module_utils import conntrack, timewait
from ansible_collections.portwarden.ports.plugins.module_utils import managers, nft_dynamic
from ansible_collections.portwarden.ports.plugins.module_utils import procnet, procowners, procsys, sockdiag
from ansible_collections.portwarden.ports.plugins.module_utils import report

# Linux keeps a TCP socket in TIME_WAIT for TCP_TIMEWAIT_LEN (include/net/tcp.h),
# a compile-time constant of 60 seconds: no sysctl changes it.
TIME_WAIT_SECONDS = 60

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
    """Ephemeral usage: sockets by state, TIME_WAIT, busiest destinations, headroom.

    Sockets accepted by a TCP listener whose port is in the range share the
    listener's port: they take nothing from the ephemeral pool and are left
    out (counted in ``inbound_excluded``).
    """
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


def build_report(erange, unprivileged_start, reserved, scan, owners=None, services=None, top=10, tcp_tw_reuse=None,
                 tcp_timestamps=None, conntrack_table=None, conntrack_warn_percent=conntrack.DEFAULT_WARN_PERCENT):
    """The module's result (without ``changed``) from already-read values."""
    listeners = listeners_report(scan.listeners, owners)
    usage = usage_report(scan, erange, reserved, top=top, tcp_tw_reuse=tcp_tw_reuse, tcp_timestamps=tcp_timestamps)
    usage['conntrack'] = conntrack_table
    conflicts = report.conflicts_report(erange, reserved, listeners, services)
    conflicts.extend(conntrack.conntrack_conflicts(conntrack_table, conntrack_warn_percent))
    return report.build(erange, reserved, listeners, conflicts, usage, unprivileged_start)


def gather(processes=False, services=None, top=10, proc=procnet.PROC, system=None,
           conntrack_warn_percent=conntrack.DEFAULT_WARN_PERCENT):
    """Read the running kernel and return the report. Never writes anything."""
    system = system or platform.system()
    if system != 'Linux':
        raise PortwardenError('port_info reads Linux procfs and does not support %s.' % system)
    top, services = report.check_request(top, services)
    conntrack.check_warn_percent(conntrack_warn_percent)
    proc_sys = os.path.join(proc, 'sys')
    erange = procsys.read_port_range(proc_sys)
    reserved = procsys.read_reserved_ports(proc_sys)
    unprivileged = procsys.read_unprivileged_port_start(proc_sys)
    scan = procnet.scan_tables(erange.start, erange.end, root=proc, netlink=sockdiag)
    owners = None
    if processes:
        owners = procowners.socket_owners([listener.inode for listener in scan.listeners], root=proc)
    return build_report(erange, unprivileged, reserved, scan, owners=owners, services=services, top=top,
                        tcp_tw_reuse=timewait.read_flag(procsys.read_sysctl, 'net.ipv4.tcp_tw_reuse', proc_sys),
                        tcp_timestamps=timewait.read_flag(procsys.read_sysctl, 'net.ipv4.tcp_timestamps', proc_sys),
                        conntrack_table=conntrack.read_conntrack(proc), conntrack_warn_percent=conntrack_warn_percent)


def port_info(module):
    """port_info's report (without ``changed``) for this Linux host: :func:`gather`, and the firewall state."""
    params = module.params
    backend.check_system('port_info', 'linux')
    firewall = Background(firewall_state, backend.runner(module), module.get_bin_path)
    try:
        result = gather(processes=params['processes'], services=params['services'], top=params['top'],
                        conntrack_warn_percent=params['conntrack_warn_percent'])
    except BaseException:
        firewall.thread.join()  # its answer no longer matters, but it must not exit the module after this failure
        raise
    result['firewall'] = firewall.result()
    return result


class Background(object):
    """``function(*args)`` in a thread, started at once; :meth:`result` waits for it and returns its value,
    or raises in the caller's thread what it raised (fail_json's SystemExit too).

    port_info reads the firewall state (a few ``nft`` runs: the time is the child processes') while it
    reads the socket tables (the kernel's dump and the Python walk), so the two overlap.
    """

    def __init__(self, function, *args):
        self.value = self.error = None
        self.thread = threading.Thread(target=self._run, args=(function,) + args, name='portwarden-firewall-state')
        self.thread.daemon = True
        self.thread.start()

    def _run(self, function, *args):
        try:
            self.value = function(*args)
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self.error = exc

    def result(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


def firewall_state(run, which):
    """port_info's ``firewall``: the managers found (managers.py) and the live bans and drop counters of the
    portwarden table (nft_dynamic.py); the keys of report.FIREWALL_KEYS, null where nothing could be read."""
    state = managers.firewall_report(run, which)
    nft = which('nft')
    state.update(nft_dynamic.DynamicState(run, nft).audit() if nft else {'banned': None, 'counters': None})
    return dict((key, state.get(key)) for key in report.FIREWALL_KEYS)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info on FreeBSD and macOS: the socket tables from ``sockstat`` / ``netstat``.

Parsed by structure (``addr.port`` endpoints, ``*.*`` for a listener), then
handed to report.build, the report builder every OS shares. Never writes
anything; commands go through ``run(argv) -> (rc, out, err)``. The internal
module bsd_port_info runs :func:`module_report` (see backend.py).
"""

from __future__ import annotations

import re

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import backend, conflicts, report, table_report
from ansible_collections.portwarden.ports.plugins.module_utils.bsd import PREFIX, Sysctl

_PROTO = re.compile(r'^(tcp|udp)(4|6|46)$')


def _any_address(family):
    return '::' if family == 'ipv6' else '0.0.0.0'


def _family(digits, address):
    if digits == '4':
        return 'ipv4'
    if digits == '6' or ':' in address:
        return 'ipv6'
    return 'ipv6' if digits == '46' else 'ipv4'


def parse_sockstat(text):
    """FreeBSD ``sockstat -46l``: USER COMMAND PID FD PROTO LOCAL FOREIGN -> listener rows."""
    rows = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        match = _PROTO.match(fields[4])
        if not match:
            continue
        address, sep, port = fields[5].rpartition(':')
        if not sep or not port.isdigit():
            continue
        family = _family(match.group(2), address)
        rows.append({
            'proto': match.group(1), 'family': family,
            'address': _any_address(family) if address == '*' else address,
            'port': int(port), 'remote_address': None, 'remote_port': None, 'state': None,
            'pid': int(fields[2]) if fields[2].isdigit() else None,
            'process': fields[1] if fields[1] != '?' else None,
            'listening': True, 'time_wait': False,
        })
    return rows


def _split_dot(endpoint):
    address, sep, port = endpoint.rpartition('.')
    if not sep:
        return endpoint, None
    return address, int(port) if port.isdigit() else None


def parse_netstat(text):
    """``netstat -an -p tcp`` / ``-p udp`` (macOS and FreeBSD): ``addr.port`` endpoints.

    A listener is a row whose foreign endpoint is ``*.*`` (TCP in LISTEN, UDP
    bound and not connected); by structure, not by the state word.
    """
    rows = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        match = _PROTO.match(fields[0])
        if not match:
            continue
        address, port = _split_dot(fields[3])
        remote_address, remote_port = _split_dot(fields[4])
        if port is None:
            continue
        family = _family(match.group(2), address)
        listening = fields[4] == '*.*'
        state = fields[5] if len(fields) > 5 and match.group(1) == 'tcp' else None
        rows.append({
            'proto': match.group(1), 'family': family,
            'address': _any_address(family) if address == '*' else address, 'port': port,
            'remote_address': remote_address, 'remote_port': remote_port, 'state': state, 'pid': None, 'process': None,
            'listening': listening, 'time_wait': state == 'TIME_WAIT',
        })
    return rows


def _run(run, argv):
    rc, out, err = run(argv)
    if rc != 0:
        raise PortwardenError('"%s" failed (rc=%s): %s' % (' '.join(argv), rc, (err or out).strip()))
    return out


def port_info(run, system, processes=False, services=None, top=10, sysctl='sysctl', netstat='netstat', sockstat='sockstat'):
    """port_info's report on FreeBSD or macOS. Never writes anything."""
    top, services = conflicts.check_request(top, services)
    ctl = Sysctl(run, sysctl)
    erange = ctl.range('default')
    high = ctl.range('high', required=False)
    reserved_high = ctl.get(PREFIX + 'reservedhigh', required=False)
    msl = ctl.get('net.inet.tcp.msl', required=False)
    sockets = []
    for proto in ('tcp', 'udp'):
        sockets.extend(parse_netstat(_run(run, [netstat, '-an', '-p', proto])))
    listeners_from = sockets
    in_use = sockets
    if system == 'FreeBSD':
        listeners_from = parse_sockstat(_run(run, [sockstat, '-46l']))
        in_use = [s for s in sockets if not s['listening']] + listeners_from
    listeners = report.listener_dicts(listeners_from, {} if processes else None)
    # one range for every table, and no per-port reservation
    ranges = dict((table, erange) for table in report.TABLES)
    reserved = dict((table, PortSet()) for table in report.TABLES)
    return report.build(
        erange, PortSet(), listeners, table_report.table_conflicts(ranges, reserved, listeners, services),
        table_report.sockets_usage(in_use, ranges, reserved, (2 * msl // 1000) if msl else None, top=top),
        reserved_high + 1 if reserved_high is not None else None,
        high_range=high.to_dict() if high else None)


def module_report(module):
    """bsd_port_info's report (without ``changed``) for this FreeBSD or macOS host."""
    params = module.params
    system = backend.check_system('port_info', 'bsd')
    return port_info(
        backend.runner(module), system, processes=params['processes'], services=params['services'], top=params['top'],
        sysctl=module.get_bin_path('sysctl', required=True), netstat=module.get_bin_path('netstat', required=True),
        sockstat=module.get_bin_path('sockstat', required=system == 'FreeBSD') or 'sockstat')

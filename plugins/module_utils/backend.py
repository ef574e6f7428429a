# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where a module's parameters meet an OS backend.

Every backend offers the same three operations with the same parameters and
result shape: ``ephemeral_range``, ``reserved_ports`` and the port report.
:func:`os_family` chooses Linux or FreeBSD/macOS here and nowhere else
(Windows runs on the controller, plugin_utils/netsh_plan.py, behind the
action plugins). :func:`shape_result` gives every result of every OS the
same two keys for the same two values: ``ephemeral_range`` (the range after
the task) and ``reserved_ports`` (the reservations after the task).

:func:`run` is the one place where a PortwardenError becomes ``fail_json``.

What a module imports is what its AnsiballZ payload carries: this file
imports only the Linux and BSD code that setting a range or reservations
needs; the port report's gatherers (portinfo.py, bsd_report.py) are passed
in by the port_info module, so the other two payloads do not carry them
(tests/unit/test_payloads.py checks what each payload holds).
"""

from __future__ import annotations

import platform

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import linux

# bsd.py is imported where it is chosen, so that a Linux task does not spend the time to load it (the payload
# carries it all the same: AnsiballZ follows function-local imports too).
BSD_SYSTEMS = ('FreeBSD', 'Darwin')
# Each OS's own persistent file, used when the task leaves sysctl_file null (the same as bsd.SYSCTL_CONF).
SYSCTL_FILES = {'linux': linux.DEFAULT_SYSCTL_FILE, 'bsd': '/etc/sysctl.conf'}


def system():
    return platform.system()


def os_family(what):
    """``linux`` or ``bsd`` for this host; anything else is refused naming ``what``."""
    name = system()
    if name == 'Linux':
        return 'linux'
    if name in BSD_SYSTEMS:
        return 'bsd'
    raise PortwardenError('%s does not support %s; supported: Linux, FreeBSD, macOS (and Windows through the action '
                          'plugin of the same name).' % (what, name))


def shape_result(result, erange, reserved):
    """Add the keys every ephemeral_range, reserved_ports and port_info result has, on every OS.

    ``erange`` (PortRange or its dict) is the ephemeral range after the task,
    ``reserved`` (PortSet) the reservations after it (in check mode: what they
    would be).
    """
    result['ephemeral_range'] = erange.to_dict() if isinstance(erange, PortRange) else dict(erange)
    result['reserved_ports'] = PortSet.parse(reserved).to_dict()
    return result


def sysctl_file(params, family):
    return params.get('sysctl_file') or SYSCTL_FILES[family]


def _mover(module):
    def move(src, dest):
        module.atomic_move(src, dest)
    return move


def _runner(module):
    def run(argv):
        return module.run_command(argv, check_rc=False)
    return run


def _one_for_all(params, what):
    """Linux, FreeBSD and macOS have one range (and one reservation list) for TCP and UDP over IPv4 and IPv6."""
    if params.get('protocol', 'all') != 'all' or params.get('family', 'all') != 'all':
        raise PortwardenError('protocol=%s family=%s: %s has one %s for TCP and UDP over IPv4 and IPv6, so protocol and '
                              'family must both be "all" here (they select tables on Windows only).'
                              % (params.get('protocol'), params.get('family'), system(), what))


def ephemeral_range(module, listening=None):
    """Set the range. ``listening(start, end)`` (Linux, optional) lists the ports listened on inside it."""
    params = module.params
    family = os_family('ephemeral_range')
    if family == 'linux':
        _one_for_all(params, 'ephemeral range (net.ipv4.ip_local_port_range)')
        result = linux.set_ephemeral_range(
            params['start'], params['end'], persist=params['persist'], sysctl_file=sysctl_file(params, family),
            check_mode=module.check_mode, move=_mover(module), reserve=params['reserve'],
            listeners=(lambda: PortSet.parse(listening(params['start'], params['end']))) if listening else None)
        reserved = result['reserved']['after']['ports'] if 'reserved' in result else linux.read_reserved_ports()
    else:
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        _one_for_all(params, 'ephemeral range (net.inet.ip.portrange.*)')
        result = bsd.set_ephemeral_range(
            _runner(module), params['start'], params['end'], portrange=params['bsd_portrange'],
            persist=params['persist'], sysctl_file=sysctl_file(params, family), check_mode=module.check_mode,
            move=_mover(module), sysctl=module.get_bin_path('sysctl', required=True), reserve=params['reserve'],
            system=system())
        reserved = PortSet()
    return shape_result(result, result['after'], reserved)


def reserved_ports(module):
    params = module.params
    family = os_family('reserved_ports')
    if family == 'linux':
        _one_for_all(params, 'list of reserved ports (net.ipv4.ip_local_reserved_ports)')
        result = linux.set_reserved_ports(
            params['ports'], state=params['state'], persist=params['persist'], sysctl_file=sysctl_file(params, family),
            check_mode=module.check_mode, move=_mover(module))
        erange = linux.read_port_range()
    else:
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        _one_for_all(params, 'ephemeral range')
        sysctl = module.get_bin_path('sysctl', required=True)
        result = bsd.reserved_ports(_runner(module), params['ports'], state=params['state'], sysctl=sysctl,
                                    system=system())
        erange = bsd.Sysctl(_runner(module), sysctl).range('default')
    return shape_result(result, erange, result['after']['ports'])


def port_info(module, linux_gather, bsd_gather):
    """port_info's report (without ``changed``); the gatherers come from the port_info module.

    ``linux_gather(processes, services, top)`` is portinfo.gather;
    ``bsd_gather(run, system, processes, services, top, sysctl, netstat, sockstat)`` is bsd_report.port_info.
    """
    params = module.params
    if os_family('port_info') == 'bsd':
        return bsd_gather(
            _runner(module), system(), processes=params['processes'], services=params['services'], top=params['top'],
            sysctl=module.get_bin_path('sysctl', required=True), netstat=module.get_bin_path('netstat', required=True),
            sockstat=module.get_bin_path('sockstat', required=system() == 'FreeBSD') or 'sockstat')
    return linux_gather(processes=params['processes'], services=params['services'], top=params['top'])


def run(module, operation, *args, **kwargs):
    """Run one operation and exit: warnings, the diff in diff mode, and PortwardenError as fail_json."""
    try:
        result = operation(module, *args, **kwargs)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    result.setdefault('changed', False)
    for warning in result.pop('warnings', []):
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    module.exit_json(**result)

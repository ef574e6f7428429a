# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where a module's parameters meet an OS backend.

The same three operations on every OS, with the same parameters and result
shape: :func:`os_family` chooses Linux or FreeBSD/macOS here and nowhere else
(Windows: plugin_utils/netsh_plan.py, behind the action plugins);
:func:`shape_result` gives every result the same ``ephemeral_range`` and
``reserved_ports``; :func:`run` turns a PortwardenError into ``fail_json``.
A payload carries what its module imports, so the port report's two gatherers
are chosen in portinfo.port_info, through os_family (tests/unit/test_payloads.py).
"""

from __future__ import annotations

import functools
import platform

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import linux

# bsd.py is imported where it is chosen: a Linux task does not load it (its payload carries it all the same).
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


def runner(module):
    return functools.partial(module.run_command, check_rc=False)


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
            check_mode=module.check_mode, move=module.atomic_move, reserve=params['reserve'],
            conntrack_max=params['conntrack_max'],
            listeners=(lambda: PortSet.parse(listening(params['start'], params['end']))) if listening else None)
        reserved = result['reserved']['after']['ports'] if 'reserved' in result else linux.read_reserved_ports()
    else:
        if params.get('conntrack_max') is not None:
            raise PortwardenError('conntrack_max=%s: the conntrack table (net.netfilter.nf_conntrack_max) is a Linux '
                                  'setting; %s has none. Leave conntrack_max unset on this host.'
                                  % (params['conntrack_max'], system()))
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        _one_for_all(params, 'ephemeral range (net.inet.ip.portrange.*)')
        result = bsd.set_ephemeral_range(
            runner(module), params['start'], params['end'], portrange=params['bsd_portrange'],
            persist=params['persist'], sysctl_file=sysctl_file(params, family), check_mode=module.check_mode,
            move=module.atomic_move, sysctl=module.get_bin_path('sysctl', required=True), reserve=params['reserve'],
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
            check_mode=module.check_mode, move=module.atomic_move)
        erange = linux.read_port_range()
    else:
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        _one_for_all(params, 'ephemeral range')
        sysctl = module.get_bin_path('sysctl', required=True)
        result = bsd.reserved_ports(runner(module), params['ports'], state=params['state'], sysctl=sysctl,
                                    system=system())
        erange = bsd.Sysctl(runner(module), sysctl).range('default')
    return shape_result(result, erange, result['after']['ports'])


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

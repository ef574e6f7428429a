# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ephemeral_range and reserved_ports on Linux: the modules' parameters meet linux.py.

Imported by the Linux modules only (the action plugin runs them on Linux
targets, see backend.py); port_info's Linux report is portinfo.port_info.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import backend, linux, procsys


def ephemeral_range(module, listening=None):
    """Set the range. ``listening(start, end)`` (optional) lists the ports listened on inside it."""
    params = module.params
    backend.check_system('ephemeral_range', 'linux')
    backend.one_for_all(params, 'ephemeral range (net.ipv4.ip_local_port_range)')
    result = linux.set_ephemeral_range(
        params['start'], params['end'], persist=params['persist'], sysctl_file=backend.sysctl_file(params, 'linux'),
        check_mode=module.check_mode, move=module.atomic_move, reserve=params['reserve'],
        conntrack_max=params['conntrack_max'],
        listeners=(lambda: PortSet.parse(listening(params['start'], params['end']))) if listening else None)
    reserved = result['reserved']['after']['ports'] if 'reserved' in result else procsys.read_reserved_ports()
    return backend.shape_result(result, result['after'], reserved)


def reserved_ports(module):
    params = module.params
    backend.check_system('reserved_ports', 'linux')
    backend.one_for_all(params, 'list of reserved ports (net.ipv4.ip_local_reserved_ports)')
    result = linux.set_reserved_ports(
        params['ports'], state=params['state'], persist=params['persist'],
        sysctl_file=backend.sysctl_file(params, 'linux'), check_mode=module.check_mode, move=module.atomic_move)
    return backend.shape_result(result, procsys.read_port_range(), result['after']['ports'])

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ephemeral_range and reserved_ports on FreeBSD and macOS: the modules' parameters meet bsd.py.

Imported by the internal modules bsd_ephemeral_range and bsd_reserved_ports,
which the action plugins run on FreeBSD and macOS targets (see backend.py);
bsd_port_info's report is bsd_report.module_report.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import backend, bsd


def ephemeral_range(module):
    params = module.params
    system = backend.check_system('ephemeral_range', 'bsd')
    if params.get('conntrack_max') is not None:
        raise PortwardenError('conntrack_max=%s: the conntrack table (net.netfilter.nf_conntrack_max) is a Linux '
                              'setting; %s has none. Leave conntrack_max unset on this host.'
                              % (params['conntrack_max'], system))
    backend.one_for_all(params, 'ephemeral range (net.inet.ip.portrange.*)')
    result = bsd.set_ephemeral_range(
        backend.runner(module), params['start'], params['end'], portrange=params['bsd_portrange'],
        persist=params['persist'], sysctl_file=backend.sysctl_file(params, 'bsd'), check_mode=module.check_mode,
        move=module.atomic_move, sysctl=module.get_bin_path('sysctl', required=True), reserve=params['reserve'],
        system=system)
    return backend.shape_result(result, result['after'], PortSet())


def reserved_ports(module):
    params = module.params
    system = backend.check_system('reserved_ports', 'bsd')
    backend.one_for_all(params, 'ephemeral range')
    sysctl = module.get_bin_path('sysctl', required=True)
    result = bsd.reserved_ports(backend.runner(module), params['ports'], state=params['state'], sysctl=sysctl,
                                system=system)
    erange = bsd.Sysctl(backend.runner(module), sysctl).range('default')
    return backend.shape_result(result, erange, result['after']['ports'])

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where a module's parameters meet an OS backend.

Modules call these functions with their AnsibleModule; the backend is chosen
by platform here and nowhere else. Backends return plain result dicts with
``warnings`` and ``diff``; :func:`exit` hands them to Ansible.
"""

from __future__ import annotations

import platform

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils import linux
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet

# The other backends are imported where they are chosen, so that a Linux task
# does not pay for loading them (the payload carries them all the same).
BSD_SYSTEMS = ('FreeBSD', 'Darwin')


def system():
    return platform.system()


def _unsupported(what):
    return PortwardenError('%s is not supported on %s by this module; supported: Linux, FreeBSD, macOS (and Windows '
                           'through the action plugin of the same name).' % (what, system()))


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


def ephemeral_range(module):
    params = module.params
    if system() == 'Linux':
        _one_for_all(params, 'ephemeral range (net.ipv4.ip_local_port_range)')
        from ansible_collections.portwarden.ports.plugins.module_utils import procnet  # pylint: disable=import-outside-toplevel
        return linux.set_ephemeral_range(
            params['start'], params['end'], persist=params['persist'],
            sysctl_file=params['sysctl_file'] or linux.DEFAULT_SYSCTL_FILE,
            check_mode=module.check_mode, move=_mover(module), reserve=params['reserve'],
            listeners=lambda: PortSet.parse([item.port for item in procnet.scan_tables(params['start'], params['end']).listeners]))
    if system() in BSD_SYSTEMS:
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        _one_for_all(params, 'ephemeral range (net.inet.ip.portrange.*)')
        return bsd.set_ephemeral_range(
            _runner(module), params['start'], params['end'], portrange=params['bsd_portrange'],
            persist=params['persist'], sysctl_file=params['sysctl_file'] or bsd.SYSCTL_CONF,
            check_mode=module.check_mode, move=_mover(module), sysctl=module.get_bin_path('sysctl', required=True),
            reserve=params['reserve'], system=system())
    raise _unsupported('Setting the ephemeral port range')


def reserved_ports(module):
    params = module.params
    if system() == 'Linux':
        _one_for_all(params, 'list of reserved ports (net.ipv4.ip_local_reserved_ports)')
        return linux.set_reserved_ports(
            params['ports'], state=params['state'], persist=params['persist'], sysctl_file=params['sysctl_file'],
            check_mode=module.check_mode, move=_mover(module))
    if system() in BSD_SYSTEMS:
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        _one_for_all(params, 'ephemeral range')
        return bsd.reserved_ports(_runner(module), params['ports'], state=params['state'],
                                  sysctl=module.get_bin_path('sysctl', required=True), system=system())
    raise _unsupported('Reserving ports')


def port_info(module):
    """port_info's report (without ``changed``) on Linux, FreeBSD or macOS."""
    params = module.params
    if system() in BSD_SYSTEMS:
        from ansible_collections.portwarden.ports.plugins.module_utils import bsd  # pylint: disable=import-outside-toplevel
        return bsd.port_info(
            _runner(module), system(), processes=params['processes'], services=params['services'], top=params['top'],
            sysctl=module.get_bin_path('sysctl', required=True), netstat=module.get_bin_path('netstat', required=True),
            sockstat=module.get_bin_path('sockstat', required=system() == 'FreeBSD') or 'sockstat')
    from ansible_collections.portwarden.ports.plugins.module_utils import portinfo  # pylint: disable=import-outside-toplevel
    report = portinfo.gather(processes=params['processes'], services=params['services'], top=params['top'])
    report['firewall'] = firewall_state(module)
    return report


def firewall_state(module):
    """The portwarden table's bans and drop counters (both None without nft or the table)."""
    from ansible_collections.portwarden.ports.plugins.module_utils import nft_dynamic  # pylint: disable=import-outside-toplevel
    nft = module.get_bin_path('nft')
    if not nft:
        return {'banned': None, 'counters': None}
    return nft_dynamic.DynamicState(_runner(module), nft).audit()


def exit(module, result):
    """exit_json with the backend's warnings and (in diff mode) its diff."""
    for warning in result.pop('warnings', []):
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    module.exit_json(**result)

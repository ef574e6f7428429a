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


def system():
    return platform.system()


def _unsupported(what):
    return PortwardenError('%s is not supported on %s by this module; supported: Linux (and Windows through the action '
                           'plugin of the same name).' % (what, system()))


def _mover(module):
    def move(src, dest):
        module.atomic_move(src, dest)
    return move


def ephemeral_range(module):
    params = module.params
    if system() == 'Linux':
        if params['protocol'] != 'all' or params['family'] != 'all':
            raise PortwardenError('protocol=%s family=%s: Linux has one ephemeral range for TCP and UDP over IPv4 and IPv6 '
                                  '(net.ipv4.ip_local_port_range), so protocol and family must both be "all" here.'
                                  % (params['protocol'], params['family']))
        return linux.set_ephemeral_range(
            params['start'], params['end'], persist=params['persist'], sysctl_file=params['sysctl_file'],
            check_mode=module.check_mode, move=_mover(module))
    raise _unsupported('Setting the ephemeral port range')


def reserved_ports(module):
    params = module.params
    if system() == 'Linux':
        return linux.set_reserved_ports(
            params['ports'], state=params['state'], persist=params['persist'], sysctl_file=params['sysctl_file'],
            check_mode=module.check_mode, move=_mover(module))
    raise _unsupported('Reserving ports')


def exit(module, result):
    """exit_json with the backend's warnings and (in diff mode) its diff."""
    for warning in result.pop('warnings', []):
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    module.exit_json(**result)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which portwarden backend fits a Linux host, and stopping the managers that would filter next to it.

:func:`choose_backend` turns managers.py's detection into the role's decision:
``auto`` takes firewalld where it runs, nftables otherwise; ``nftables`` next
to an active firewalld or ufw fails before any change (or, with
``conflicting='stop'``, names them for :func:`stop_managers`). The role never
starts a manager. Used by nft_table and firewall_managers; port_info only
detects (managers.py).
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

BACKENDS = ('auto', 'nftables', 'firewalld')
CONFLICTING = ('fail', 'stop')


def _active(report, name):
    return any(item['name'] == name and item['active'] for item in report['managers'])


def _enabled(report, name):
    return any(item['name'] == name and item.get('enabled') for item in report['managers'])


def choose_backend(report, backend='auto', conflicting='fail'):
    """The role's decision: ``{'backend', 'stop', 'enable_nftables_service'}``.

    Raises PortwardenError (before anything changes) where the choice cannot be carried out: firewalld asked for
    but not running (the role never starts a manager); nftables asked for next to an active firewalld or ufw with
    ``conflicting='fail'``.
    """
    if backend not in BACKENDS:
        raise PortwardenError('host_firewall_backend: invalid value %r: allowed values are %s.' % (backend, ', '.join(BACKENDS)))
    if conflicting not in CONFLICTING:
        raise PortwardenError('host_firewall_conflicting: invalid value %r: allowed values are %s.'
                              % (conflicting, ', '.join(CONFLICTING)))
    firewalld = _active(report, 'firewalld')
    if backend == 'auto':
        backend = 'firewalld' if firewalld else 'nftables'
    if backend == 'firewalld':
        if not firewalld:
            raise PortwardenError('host_firewall_backend is firewalld, but firewalld is not running on this host; the '
                                  'role never starts a firewall manager. Start firewalld first, or use '
                                  'host_firewall_backend: nftables (or auto). Nothing was changed.')
        return {'backend': 'firewalld', 'stop': [], 'enable_nftables_service': False}
    active = [name for name in ('firewalld', 'ufw') if _active(report, name)]
    if active and conflicting == 'fail':
        raise PortwardenError(
            'host_firewall_backend is nftables, but %s %s active on this host and would filter the same traffic (a '
            'packet must pass both rulesets). Nothing was changed. Ways out: host_firewall_backend: firewalld%s, or '
            'host_firewall_conflicting: stop, which stops and disables %s before the table is loaded.'
            % (' and '.join(active), 'is' if len(active) == 1 else 'are',
               '' if firewalld else ' (where firewalld runs)', ' and '.join(active)), conflicting_managers=active)
    # nftables.service never enabled next to firewalld (enabled or running): several releases declare
    # Conflicts=nftables.service, and the two would fight at boot.
    stop = active if conflicting == 'stop' else []
    firewalld_stays = (firewalld or _enabled(report, 'firewalld')) and 'firewalld' not in stop
    return {'backend': 'nftables', 'stop': stop, 'enable_nftables_service': not firewalld_stays}


def stop_managers(run, which, names, check_mode=False):
    """Stop and disable ``names`` (firewalld, ufw); returns the list of what was (or would be) changed."""
    changed = []
    for name in names:
        if name == 'ufw':
            binary = which('ufw')
            argvs = [[binary, 'disable']] if binary else []
        elif name == 'firewalld':
            systemctl = which('systemctl')
            argvs = [[systemctl, 'disable', '--now', 'firewalld.service']] if systemctl else []
        else:
            raise PortwardenError('cannot stop %r: only firewalld and ufw are stopped by the role.' % (name,))
        if not argvs:
            raise PortwardenError('cannot stop %s: its command (ufw / systemctl) was not found on the host.' % name)
        changed.append(name)
        if check_mode:
            continue
        for argv in argvs:
            rc, out, err = run(argv)
            if rc != 0:
                raise PortwardenError('%s failed (rc=%d): %s' % (' '.join(argv), rc, (err or out).strip()))
    return changed

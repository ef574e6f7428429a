# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nftables boot persistence: the include line in the distribution's nftables.conf and nftables.service.

Planned before anything changes (:func:`plan_persistence`), carried out once
the table is confirmed (:func:`apply_persistence`). The distribution is read
with ansible-core's own ``distro`` (os-release), not a parser of ours.
"""

from __future__ import annotations

import os
import re

from ansible.module_utils import distro

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import read_text, write_file_atomic

RED_HAT_LIKE = frozenset(('rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'))
NFTABLES_CONF = '/etc/nftables.conf'
NFTABLES_CONF_RED_HAT = '/etc/sysconfig/nftables.conf'
SERVICE = 'nftables.service'
SYSTEMD_RUNNING = '/run/systemd/system'   # exists while systemd is the init system (sd_booted)
PATH_RE = re.compile(r'^/[A-Za-z0-9_./-]{1,200}\Z')


def safe_path(value, what):
    """An absolute path made of a safe character set (it is written into nftables.conf)."""
    if not isinstance(value, str) or not PATH_RE.match(value) or '/../' in value + '/' or '//' in value:
        raise PortwardenError('%s: invalid path %r: expected an absolute path of letters, digits, "_", ".", "-" and "/".'
                              % (what, value))
    return value


def distribution_nftables_conf(dist=distro, exists=os.path.exists):
    """The nftables.conf the distribution's nftables.service loads: /etc/sysconfig/nftables.conf on the Red Hat
    family (ID or ID_LIKE of the os-release, as ``distro`` reads it), /etc/nftables.conf elsewhere; where the
    distribution is unknown, the one of the two that exists (/etc/nftables.conf when both or neither do)."""
    ident = (dist.id() or '').lower()
    if ident:
        ids = set([ident]) | set((dist.like() or '').lower().split())
        return NFTABLES_CONF_RED_HAT if ids & RED_HAT_LIKE else NFTABLES_CONF
    if exists(NFTABLES_CONF_RED_HAT) and not exists(NFTABLES_CONF):
        return NFTABLES_CONF_RED_HAT
    return NFTABLES_CONF


def include_line(path):
    return 'include "%s"' % safe_path(path, 'path (written into the include line of nftables.conf)')


def plan_persistence(module, path, include_in=None, enable_service=False):
    """What loading the table at boot still needs: the include line in nftables.conf, nftables.service enabled.

    Returns a dict with ``changed``; with ``include_in``: ``include_file``, ``include_changed`` and the diff of that
    file; with ``enable_service``: ``systemd_running`` and ``service_changed``. Nothing is changed here.
    """
    plan = {'changed': False}
    if include_in:
        conf = distribution_nftables_conf() if include_in == 'auto' else include_in
        if not os.path.isabs(conf):
            raise PortwardenError('include_in: invalid value %r: expected auto or an absolute path. Nothing was changed.'
                                  % (include_in,))
        line = include_line(path)
        current = read_text(conf)
        present = current is not None and any(item.strip() == line for item in current.splitlines())
        plan.update(include_file=conf, include_changed=not present)
        if not present:
            text = current or ''
            after = text + ('\n' if text and not text.endswith('\n') else '') + line + '\n'
            plan['include_diff'] = {'before': text, 'after': after, 'before_header': conf, 'after_header': conf}
    if enable_service:
        running = os.path.isdir(SYSTEMD_RUNNING)
        plan.update(systemd_running=running, service_changed=False)
        if running:
            systemctl = module.get_bin_path('systemctl')
            if not systemctl:
                raise PortwardenError('systemd runs on this host but systemctl was not found: cannot enable %s. Nothing was '
                                      'changed.' % SERVICE)
            rc, _out, _err = module.run_command([systemctl, 'is-enabled', SERVICE], check_rc=False)
            plan['service_changed'] = rc != 0
    plan['changed'] = bool(plan.get('include_changed') or plan.get('service_changed'))
    return plan


def apply_persistence(module, plan, check):
    """Carry out a plan of plan_persistence: the include line (the new nftables.conf passed to ``check(tmp)``, which
    raises when ``nft -c -f`` refuses it; other lines untouched), then ``systemctl enable`` (never start or restart)."""
    if plan.get('include_changed'):
        conf = plan['include_file']
        try:
            mode = os.stat(conf).st_mode & 0o7777  # the file's own permissions are kept
        except OSError:
            mode = 0o755                          # a new one: like the stock file (#!/usr/sbin/nft -f)
        write_file_atomic(conf, plan['include_diff']['after'], module.atomic_move, mode, check=check)
    if plan.get('service_changed'):
        systemctl = module.get_bin_path('systemctl', required=True)
        rc, out, err = module.run_command([systemctl, 'enable', SERVICE], check_rc=False)
        if rc != 0:
            raise PortwardenError('systemctl enable %s failed (rc=%d): %s' % (SERVICE, rc, (err or out).strip()))


def public(plan):
    """The keys of a plan that the module returns."""
    return dict((k, v) for k, v in plan.items() if k not in ('changed', 'include_diff'))

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which firewall managers a Linux host has.

:func:`detect` reads, never changes: firewalld (running / enabled), ufw
(active), the nftables tables of other tools (Docker, kube-proxy, libvirt,
iptables-nft, anything else) with the hooks their chains sit on, and
iptables-legacy rules. It works through two callables, ``run(argv) -> (rc,
out, err)`` and ``which(name) -> path or None``, so unit tests feed it
recorded output and port_info and the role's modules give it the module's
``run_command`` / ``get_bin_path``.

firewall_choice.py turns that into the role's decision (which backend, which
managers to stop).
"""

from __future__ import annotations

import json
import os

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileread import read_text

OWN_TABLE = ('inet', 'portwarden')
FIREWALLD_SERVICES_DIR = '/etc/firewalld/services'
UFW_CONF = '/etc/ufw/ufw.conf'
SYSTEMD_RUNNING = '/run/systemd/system'
LEGACY_NAMES = {'iptables-legacy-save': '/proc/net/ip_tables_names', 'ip6tables-legacy-save': '/proc/net/ip6_tables_names'}
XTABLES = frozenset(('filter', 'nat', 'mangle', 'raw', 'security'))


def _systemctl_state(run, which, unit, exists=os.path.exists):
    """(active, enabled) of a systemd unit; (None, None) where systemd does not run."""
    systemctl = which('systemctl')
    if not systemctl or not exists(SYSTEMD_RUNNING):
        return None, None
    rc, out, _err = run([systemctl, 'is-active', unit])
    active = rc == 0 and out.strip() == 'active'
    rc, out, _err = run([systemctl, 'is-enabled', unit])
    enabled = rc == 0 and out.strip() in ('enabled', 'enabled-runtime', 'alias', 'static', 'indirect')
    return active, enabled


def _firewalld(run, which, exists):
    cmd = which('firewall-cmd')
    active, enabled = _systemctl_state(run, which, 'firewalld.service', exists)
    if cmd and not active:
        # Without systemd (or a firewalld started by hand): ask the daemon itself.
        rc, out, _err = run([cmd, '--state'])
        active = rc == 0 and out.strip() == 'running'
    if not (cmd or active or enabled):
        return None
    detail = 'firewalld.service %s, %s' % ('running' if active else 'not running', 'enabled' if enabled else 'not enabled')
    return {'name': 'firewalld', 'active': bool(active), 'enabled': bool(enabled), 'filters_input': bool(active),
            'detail': detail}


def _ufw(run, which, exists, read):
    conf = read(UFW_CONF)
    binary = which('ufw')
    if conf is None and not binary:
        return None
    configured = any(line.strip().replace(' ', '') in ('ENABLED=yes', 'ENABLED="yes"') for line in (conf or '').splitlines())
    active = False
    if binary:
        rc, out, _err = run([binary, 'status'])
        active = rc == 0 and out.strip().splitlines()[:1] == ['Status: active']
    else:
        active = configured
    _active, enabled = _systemctl_state(run, which, 'ufw.service', exists)
    return {'name': 'ufw', 'active': active, 'enabled': bool(configured and (enabled is not False)),
            'filters_input': active, 'detail': 'ufw %s' % ('active' if active else 'inactive')}


def _owner(family, table, chains):
    """Which tool a table belongs to, from its name and its chains' names."""
    names = set(chains)
    if (family, table) == OWN_TABLE:
        return 'portwarden'
    if table == 'firewalld':
        return 'firewalld'
    if table == 'kube-proxy' or any(name.startswith('KUBE-') for name in names):
        return 'kube-proxy'
    if any(name.startswith('DOCKER') for name in names):
        return 'docker'
    if any(name.startswith('ufw') for name in names):
        return 'ufw'
    if table.startswith('libvirt') or any(name.startswith('LIBVIRT') for name in names):
        return 'libvirt'
    if family in ('ip', 'ip6') and table in XTABLES:
        return 'iptables-nft'
    return 'nftables'


def nft_tables(run, which):
    """{(family, table): {'chains': [...], 'hooks': set of (hook, type)}} of the live ruleset, or None without nft."""
    nft = which('nft')
    if not nft:
        return None
    rc, out, err = run([nft, '-j', 'list', 'chains'])
    if rc != 0:
        raise PortwardenError('nft -j list chains failed (rc=%d): %s' % (rc, (err or out).strip()))
    tables = {}
    rc_t, out_t, _err = run([nft, '-j', 'list', 'tables'])
    for source in ((out_t if rc_t == 0 else ''), out):
        try:
            items = json.loads(source).get('nftables', []) if source.strip() else []
        except ValueError:
            raise PortwardenError('nft printed JSON that does not parse: %r' % source[:200])
        for item in items:
            if 'table' in item:
                key = (item['table'].get('family'), item['table'].get('name'))
                tables.setdefault(key, {'chains': [], 'hooks': set()})
            elif 'chain' in item:
                chain = item['chain']
                entry = tables.setdefault((chain.get('family'), chain.get('table')), {'chains': [], 'hooks': set()})
                entry['chains'].append(chain.get('name'))
                if chain.get('hook'):
                    entry['hooks'].add((chain['hook'], chain.get('type', 'filter')))
    return tables


def _legacy(run, which, read):
    """iptables-legacy: the tables with rules or a non-ACCEPT policy (only where the legacy modules are loaded)."""
    found = []
    for tool, names_file in sorted(LEGACY_NAMES.items()):
        names = read(names_file)
        binary = which(tool)
        if not names or not names.strip() or not binary:
            continue
        rc, out, _err = run([binary])
        if rc != 0:
            continue
        table = None
        for line in out.splitlines():
            if line.startswith('*'):
                table = line[1:].strip()
            elif line.startswith('-A ') or (line.startswith(':') and line.split()[1:2] not in (['ACCEPT'], ['-'])):
                found.append('%s %s' % (tool.split('-')[0], table))
    return sorted(set(found))


def detect(run, which, exists=os.path.exists, read=read_text):
    """The firewall managers of this host: ``{'managers': [...], 'backend': ..., 'filtering_input': [...]}``.

    ``managers`` lists each manager found (firewalld and ufw when installed, whether active or not; nftables
    tables of other tools; iptables-legacy) with ``name``, ``active``, ``filters_input`` and a ``detail``;
    ``backend`` is the portwarden backend in place (``nftables`` when the table inet portwarden is loaded,
    ``firewalld`` when firewalld holds portwarden services, else None); ``filtering_input`` names the active
    managers whose rules see this host's incoming traffic (two or more filter it twice).
    """
    managers = []
    firewalld = _firewalld(run, which, exists)
    if firewalld:
        managers.append(firewalld)
    ufw = _ufw(run, which, exists, read)
    if ufw:
        managers.append(ufw)
    tables = nft_tables(run, which) or {}
    by_owner = {}
    for (family, table), entry in sorted(tables.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        by_owner.setdefault(_owner(family, table, entry['chains']), []).append(((family, table), entry))
    own = by_owner.pop('portwarden', None)
    for owner in sorted(by_owner):
        if owner in ('firewalld', 'ufw') and any(item['name'] == owner for item in managers):
            continue                  # already reported by its daemon's state
        entries = by_owner[owner]
        input_filter = any(hook == 'input' and kind == 'filter' for _key, entry in entries for hook, kind in entry['hooks'])
        managers.append({'name': owner, 'active': True, 'filters_input': input_filter,
                         'detail': 'nftables tables %s' % ', '.join('%s %s' % key for key, _entry in entries)})
    legacy = _legacy(run, which, read)
    if legacy:
        managers.append({'name': 'iptables-legacy', 'active': True,
                         'filters_input': any(name.endswith(' filter') for name in legacy),
                         'detail': 'rules in %s' % ', '.join(legacy)})
    backend = None
    if own:
        backend = 'nftables'
    elif os.path.isdir(FIREWALLD_SERVICES_DIR) and any(
            name.startswith('portwarden-') and name.endswith('.xml') for name in os.listdir(FIREWALLD_SERVICES_DIR)):
        backend = 'firewalld'
    filtering = [item['name'] for item in managers if item['active'] and item['filters_input']]
    if own:
        filtering.insert(0, 'portwarden')
    return {'managers': managers, 'backend': backend, 'filtering_input': filtering}


def daemons(run, which, exists=os.path.exists, read=read_text):
    """The part of :func:`detect` that firewall_choice.choose_backend needs: ``{'managers': [...]}`` with firewalld and ufw
    only (when installed). No nft command: nft_table decides its backend with it on every run, also at 100,000
    set elements, where ``nft -j list tables`` alone takes half a second."""
    found = [_firewalld(run, which, exists), _ufw(run, which, exists, read)]
    return {'managers': [item for item in found if item]}


def two_filters_warning(report):
    """The warning to give when two or more managers filter this host's incoming traffic, or None."""
    names = report.get('filtering_input') or []
    if len(names) < 2:
        return None
    return ('%s all filter incoming traffic on this host: in nftables an accept is not final, so a packet must pass '
            'each of them. Let one manager own the host (host_firewall_backend, host_firewall_conflicting: stop).'
            % ' and '.join(names))


def firewall_report(run, which):
    """port_info's ``firewall``: ``managers`` (the active ones: names and details), ``backend`` (the portwarden
    backend in place, or None) and ``warning`` (two or more managers filter incoming traffic, or None). A failure to
    read is reported in ``error`` rather than failing the audit."""
    try:
        report = detect(run, which)
    except PortwardenError as exc:
        return {'managers': [], 'backend': None, 'filtering_input': [], 'warning': None, 'error': exc.msg}
    return {'managers': [item for item in report['managers'] if item['active']], 'backend': report['backend'],
            'filtering_input': report['filtering_input'], 'warning': two_filters_warning(report), 'error': None}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""firewalld backend of host_firewall (host side), through ``firewall-cmd`` only.

What the collection owns in firewalld, and nothing else is changed:

* service definitions ``portwarden-<name>`` (``portwarden-<name>-<proto>``
  where two catalogue entries share a name) and ``portwarden-management``,
  one per catalogue entry, holding its port(s);
* in one zone: those services (any-source entries without a rate limit) and
  rich rules that name them (one per source network, IPv4 and IPv6; a rate
  limit becomes the rule's ``limit``, which firewalld counts per rule).

:func:`desired_state` is pure (the catalogue to definitions + zone entries);
:class:`Firewalld` reads the runtime and the permanent configuration and
applies a :func:`plan` to both. Service definitions exist only in the
permanent configuration, so a plan that creates or changes one ends with a
reload, after which the zone's runtime-only entries (made by others without
``--permanent``) are put back as they were.

Lockout safety: before a change, copies of the zone file and of the owned
service files and the zone's runtime-only entries are saved in the state
directory; a detached timer (:data:`WATCHDOG`) puts them back and reloads
unless the controller confirms within the timeout. A change that fails
half-way is put back at once by the same code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services, normalize_sources
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import read_text
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet

PREFIX = 'portwarden-'
MANAGEMENT = 'portwarden-management'
CONFIG_DIR = '/etc/firewalld'
ZONE_RE = re.compile(r'^[A-Za-z0-9_+-]{1,17}\Z')
LIMIT_UNIT = {'second': 's', 'minute': 'm', 'hour': 'h', 'day': 'd'}
RATE_RE = re.compile(r'^([1-9][0-9]*)/(second|minute|hour|day)\Z')
# Zone entries a reload rebuilds from the permanent configuration: kept when only in the runtime one.
RUNTIME_KINDS = (('services', '--add-service'), ('ports', '--add-port'), ('protocols', '--add-protocol'),
                 ('source-ports', '--add-source-port'), ('sources', '--add-source'), ('rich rules', '--add-rich-rule'))


def _owned_rule(rule):
    return ' service name="%s' % PREFIX in rule


def _ports_text(ports):
    return sorted('%s/%s' % item for item in ports)


def desired_state(services, management_ports=None, management_sources=None):
    """``(definitions, zone_services, rich_rules, warnings)`` for a catalogue.

    ``definitions`` maps each owned service name to ``{'ports': [(port, proto)], 'short': text}``;
    ``zone_services`` and ``rich_rules`` are sets of what the zone must hold.
    """
    try:
        normalized = normalize_services(services)
    except PortwardenError as exc:
        raise PortwardenError('host_firewall_services: %s' % exc.msg)
    counts = {}
    for service in normalized:
        counts[service['name']] = counts.get(service['name'], 0) + 1
    definitions, zone_services, rules, warnings = {}, set(), set(), []
    entries = []
    for service in normalized:
        name = PREFIX + service['name'] + ('-' + service['proto'] if counts[service['name']] > 1 else '')
        port = str(service['start']) if service['start'] == service['end'] else '%d-%d' % (service['start'], service['end'])
        short = 'portwarden %s' % service['name']
        definitions[name] = {'ports': [(port, service['proto'])], 'short': short}
        entries.append((name, service['sources_v4'], service['sources_v6'], service['rate_limit']))
        if service['rate_limit']:
            warnings.append('%s: rate_limit %s is, on firewalld, one limit for the rich rule, shared by all its sources '
                            '(the nftables backend counts per source).' % (service['name'], service['rate_limit']))
    if management_ports:
        ports = management_ports if isinstance(management_ports, (list, tuple)) else [management_ports]
        try:
            pset = PortSet.parse(list(ports))
        except PortwardenError as exc:
            raise PortwardenError('host_firewall_management_ports: %s' % exc.msg)
        if pset.ranges:
            nets = normalize_sources(management_sources, 'host_firewall_management_sources')
            definitions[MANAGEMENT] = {'short': 'portwarden management (lockout guard)', 'ports': [
                (str(r.start) if r.start == r.end else '%d-%d' % (r.start, r.end), 'tcp') for r in pset.ranges]}
            entries.append((MANAGEMENT, [str(n) for n in nets if n.version == 4], [str(n) for n in nets if n.version == 6],
                            None))
    for name, v4, v6, rate in entries:
        limit = ''
        if rate:
            count, unit = RATE_RE.match(rate).groups()
            limit = ' limit value="%s/%s"' % (count, LIMIT_UNIT[unit])
        if not v4 and not v6:
            if limit:
                rules.add('rule service name="%s" accept%s' % (name, limit))
            else:
                zone_services.add(name)
            continue
        for family, nets in (('ipv4', v4), ('ipv6', v6)):
            for net in nets:
                rules.add('rule family="%s" source address="%s" service name="%s" accept%s' % (family, net, name, limit))
    return definitions, zone_services, rules, warnings


def parse_list_all(text):
    """``firewall-cmd --list-all`` as a dict of lists (``services``, ``ports``, ``rich rules`` ...)."""
    result = {}
    key = None
    for line in text.splitlines():
        if line.startswith('\t') and key == 'rich rules':
            result[key].append(line.strip())
            continue
        stripped = line.strip()
        if ':' not in stripped or not line.startswith(' '):
            continue
        key, _sep, value = stripped.partition(':')
        result[key] = value.split() if key != 'rich rules' else []
    return result


def parse_service_xml(text):
    """Ports of a firewalld service file, as sorted ``port/proto`` strings."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PortwardenError('a portwarden service file does not parse as XML: %s' % exc)
    return sorted('%s/%s' % (p.get('port'), p.get('protocol')) for p in root.findall('port'))


# The rollback, run detached (python3 -c WATCHDOG timeout pending state outcome): wait up to `timeout` seconds for
# the controller to take the pending marker away; if it is still there, take it (rename: only one of timer and
# confirmation wins), put the saved files back (removing those that did not exist), reload firewalld, and add the
# zone's runtime-only entries again. Self-contained: the module's payload is gone by then. With timeout 0 it
# restores at once (a change that failed half-way).
WATCHDOG = r'''
import json, os, subprocess, sys, time
timeout, pending, state, outcome = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
for _ in range(timeout):
    if not os.path.exists(pending):
        sys.exit(0)
    time.sleep(1)
try:
    os.rename(pending, pending + '.expired')
except OSError:
    sys.exit(0)
with open(state) as handle:
    saved = json.load(handle)
log = []
for path, content in sorted(saved['files'].items()):
    if content is None:
        if os.path.exists(path):
            os.unlink(path)
        continue
    tmp = path + '.portwarden-restore'
    with open(tmp, 'w') as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
for argv in [[saved['firewall_cmd'], '--reload']] + saved['after_reload']:
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    log.append('%s: rc=%d %s' % (' '.join(argv[1:3]), proc.returncode, proc.stdout.strip()))
with open(outcome + '.tmp', 'w') as handle:
    handle.write('\n'.join(log) + '\n')
os.rename(outcome + '.tmp', outcome)
os.unlink(pending + '.expired')
'''


class Firewalld(object):
    """Read and change ONE zone and the owned service definitions through firewall-cmd."""

    def __init__(self, module, zone='', config_dir=CONFIG_DIR, state_dir='/var/lib/portwarden'):
        self.module = module
        self.cmd = module.get_bin_path('firewall-cmd')
        if not self.cmd:
            raise PortwardenError('firewall-cmd was not found on the host: the firewalld backend needs firewalld running '
                                  '(host_firewall_backend: nftables uses nftables instead).')
        self.config_dir = config_dir
        self.state_dir = state_dir
        if zone:
            if not isinstance(zone, str) or not ZONE_RE.match(zone):
                raise PortwardenError('host_firewall_firewalld_zone: invalid zone %r: 1-17 letters, digits, "_", "+" or "-".'
                                      % (zone,))
        else:
            zone = self.run(['--get-default-zone']).strip()
        self.zone = zone

    def run(self, args, permanent=False):
        argv = [self.cmd] + (['--permanent'] if permanent else []) + list(args)
        rc, out, err = self.module.run_command(argv, check_rc=False)
        if rc != 0:
            raise PortwardenError('%s failed (rc=%d): %s' % (' '.join(argv), rc, (err or out).strip()))
        return out

    def zone_state(self, permanent):
        return parse_list_all(self.run(['--zone', self.zone, '--list-all'], permanent=permanent))

    def zone_file(self):
        return os.path.join(self.config_dir, 'zones', '%s.xml' % self.zone)

    def service_file(self, name):
        return os.path.join(self.config_dir, 'services', '%s.xml' % name)

    def owned_definitions(self):
        """{name: sorted ports} of the owned service files of the permanent configuration."""
        directory = os.path.join(self.config_dir, 'services')
        result = {}
        names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
        for entry in names:
            if entry.startswith(PREFIX) and entry.endswith('.xml'):
                result[entry[:-4]] = parse_service_xml(read_text(os.path.join(directory, entry)) or '<service/>')
        return result

    def runtime_ports(self, name):
        """Ports of a service definition as the runtime knows it, or None when the runtime does not know it."""
        rc, out, _err = self.module.run_command([self.cmd, '--info-service', name], check_rc=False)
        if rc != 0:
            return None
        for line in out.splitlines():
            if line.strip().startswith('ports:'):
                return sorted(line.split(':', 1)[1].split())
        return []

    def read(self):
        runtime, permanent = self.zone_state(False), self.zone_state(True)
        return {'runtime': runtime, 'permanent': permanent, 'definitions': self.owned_definitions()}


def plan(fw, current, definitions, zone_services, rules):
    """What to change, per configuration, touching owned entries only."""
    want = dict((name, _ports_text(spec['ports'])) for name, spec in definitions.items())
    have = current['definitions']
    result = {'create': sorted(n for n in want if n not in have), 'delete': sorted(n for n in have if n not in want),
              'change': sorted(n for n in want if n in have and have[n] != want[n])}
    stale = sorted(n for n in want if n not in result['create'] and fw.runtime_ports(n) != want[n])
    result['reload'] = bool(result['create'] or result['change'] or stale)
    for where in ('runtime', 'permanent'):
        zone = current[where]
        owned_services = set(s for s in zone.get('services', []) if s.startswith(PREFIX))
        owned_rules = set(r for r in zone.get('rich rules', []) if _owned_rule(r))
        result[where] = {'add_services': sorted(zone_services - owned_services),
                         'remove_services': sorted(owned_services - zone_services),
                         'add_rules': sorted(rules - owned_rules), 'remove_rules': sorted(owned_rules - rules)}
    zone_change = any(result[w][k] for w in ('runtime', 'permanent') for k in result[w])
    result['changed'] = bool(zone_change or result['create'] or result['delete'] or result['change'] or result['reload'])
    return result


def summary(current, where='permanent'):
    """The owned content as text lines (the diff's before and after)."""
    zone = current[where]
    lines = ['definition %s: %s' % (name, ' '.join(ports)) for name, ports in sorted(current['definitions'].items())]
    lines += ['zone service %s' % s for s in sorted(zone.get('services', [])) if s.startswith(PREFIX)]
    lines += ['zone %s' % r for r in sorted(zone.get('rich rules', [])) if _owned_rule(r)]
    return '\n'.join(lines) + ('\n' if lines else '')


def expected(definitions, zone_services, rules):
    """The owned content once the plan is applied, in the shape summary() reads."""
    return {'definitions': dict((n, _ports_text(s['ports'])) for n, s in definitions.items()),
            'permanent': {'services': sorted(zone_services), 'rich rules': sorted(rules)}}


def runtime_only(current):
    """argv tails that add the zone's runtime-only entries again after a reload."""
    tails = []
    for kind, option in RUNTIME_KINDS:
        permanent = set(current['permanent'].get(kind, []))
        for item in current['runtime'].get(kind, []):
            if item not in permanent:
                tails.append([option, item])
    return tails


def _zone_args(fw, changes):
    args = []
    for name in changes['remove_services']:
        args.append(['--zone', fw.zone, '--remove-service', name])
    for rule in changes['remove_rules']:
        args.append(['--zone', fw.zone, '--remove-rich-rule', rule])
    for name in changes['add_services']:
        args.append(['--zone', fw.zone, '--add-service', name])
    for rule in changes['add_rules']:
        args.append(['--zone', fw.zone, '--add-rich-rule', rule])
    return args


def apply_plan(fw, current, changes, definitions):
    """Carry out a plan: definitions and the zone in the permanent configuration, then the runtime one (directly, or
    by a reload that keeps the zone's runtime-only entries)."""
    for name in changes['create'] + changes['change']:
        if name in changes['create']:
            fw.run(['--new-service', name], permanent=True)
        fw.run(['--service', name, '--set-short', definitions[name]['short']], permanent=True)
        have = current['definitions'].get(name, [])
        want = _ports_text(definitions[name]['ports'])
        for port in have:
            if port not in want:
                fw.run(['--service', name, '--remove-port', port], permanent=True)
        for port in want:
            if port not in have:
                fw.run(['--service', name, '--add-port', port], permanent=True)
    for args in _zone_args(fw, changes['permanent']):
        fw.run(args, permanent=True)
    for name in changes['delete']:
        fw.run(['--delete-service', name], permanent=True)
    if changes['reload']:
        fw.run(['--reload'])
        for tail in runtime_only(current):
            if not (tail[0] == '--add-service' and tail[1].startswith(PREFIX)) and not (
                    tail[0] == '--add-rich-rule' and _owned_rule(tail[1])):
                fw.run(['--zone', fw.zone] + tail)
    else:
        for args in _zone_args(fw, changes['runtime']):
            fw.run(args)


# ---------------------------------------------------------------- the change, lockout safe
def _state_path(fw, token, suffix):
    return os.path.join(fw.state_dir, 'firewalld-%s.%s' % (token, suffix))


def snapshot(fw, current, token, created=()):
    """Save what a rollback puts back (``created``: owned definitions the change makes, whose files a rollback
    removes); returns the state file's path."""
    files = {fw.zone_file(): read_text(fw.zone_file())}
    files.update((fw.service_file(name), None) for name in created)
    directory = os.path.join(fw.config_dir, 'services')
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        if name.startswith(PREFIX) and name.endswith('.xml'):
            files[os.path.join(directory, name)] = read_text(os.path.join(directory, name))
    state = {'files': files, 'firewall_cmd': fw.cmd,
             'after_reload': [[fw.cmd, '--zone', fw.zone] + tail for tail in runtime_only(current)]}
    if not os.path.isdir(fw.state_dir):
        os.makedirs(fw.state_dir, 0o700)
    path = _state_path(fw, token, 'restore.json')
    tmp = path + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(state, handle)
    os.rename(tmp, path)
    return path


def _watchdog(fw, timeout, token, detach=True, marker='pending'):
    argv = [sys.executable, '-c', WATCHDOG, str(int(timeout)), _state_path(fw, token, marker),
            _state_path(fw, token, 'restore.json'), _state_path(fw, token, 'rolledback')]
    with open(os.devnull, 'r+b') as devnull:
        if detach:
            subprocess.Popen(argv, stdin=devnull, stdout=devnull, stderr=devnull, close_fds=True, start_new_session=True,
                             cwd='/')
        else:
            subprocess.call(argv, stdin=devnull, stdout=devnull, stderr=devnull, close_fds=True, cwd='/')


def apply_policy(fw, services, management_ports, management_sources, rollback_timeout, token, check_mode):
    """Apply phase: returns the result; ``pending`` is the token to confirm when a rollback timer runs."""
    definitions, zone_services, rules, warnings = desired_state(services, management_ports, management_sources)
    current = fw.read()
    changes = plan(fw, current, definitions, zone_services, rules)
    after = expected(definitions, zone_services, rules)
    result = {'changed': changes['changed'], 'zone': fw.zone, 'reloaded': changes['reload'] and not check_mode,
              'definitions': sorted(definitions), 'zone_services': sorted(zone_services), 'rich_rules': sorted(rules),
              'changes': dict((k, changes[k]) for k in ('create', 'delete', 'change', 'runtime', 'permanent')),
              'pending': None, 'rolled_back': False, 'warnings': warnings,
              'diff': {'before': summary(current), 'after': summary(after),
                       'before_header': 'firewalld zone %s (owned entries)' % fw.zone,
                       'after_header': 'firewalld zone %s (owned entries)' % fw.zone}}
    if check_mode or not changes['changed']:
        return result
    snapshot(fw, current, token, created=changes['create'])
    pending = _state_path(fw, token, 'pending')
    with open(pending, 'w') as handle:
        handle.write(token)
    if rollback_timeout > 0:
        _watchdog(fw, rollback_timeout, token)
    try:
        apply_plan(fw, current, changes, definitions)
    except PortwardenError as exc:
        _disarm(pending)            # the detached timer stands down; the restore runs here and now
        now = _state_path(fw, token, 'now')
        with open(now, 'w') as handle:
            handle.write(token)
        _watchdog(fw, 0, token, detach=False, marker='now')
        outcome = read_text(_state_path(fw, token, 'rolledback'))
        cleanup_token(fw, token)
        raise PortwardenError('%s The previous firewalld configuration was put back (%s).'
                              % (exc.msg, (outcome or 'no restore output').strip().replace('\n', '; ')))
    if rollback_timeout > 0:
        result['pending'] = token
    else:
        cleanup_token(fw, token)
    return result


def _disarm(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def confirm_policy(fw, token):
    pending = _state_path(fw, token, 'pending')
    try:
        os.rename(pending, pending + '.confirmed')
    except OSError:
        outcome = read_text(_state_path(fw, token, 'rolledback'))
        if outcome is not None or os.path.exists(pending + '.expired'):
            raise PortwardenError('too late to confirm: the rollback timer had already expired and the host put back the '
                                  'previous firewalld configuration (%s).' % (outcome or 'restore in progress').strip(),
                                  rolled_back=True)
        raise PortwardenError('nothing to confirm in firewalld: no pending change %s.' % token)
    _disarm(pending + '.confirmed')
    _disarm(_state_path(fw, token, 'restore.json'))
    return {'changed': True, 'confirmed': True, 'zone': fw.zone}


def status_policy(fw, token):
    outcome = read_text(_state_path(fw, token, 'rolledback'))
    pending = _state_path(fw, token, 'pending')
    return {'rolled_back': outcome is not None, 'rollback_output': (outcome or '').strip() or None,
            'waiting': os.path.exists(pending) or os.path.exists(pending + '.expired'), 'zone': fw.zone}


def cleanup_token(fw, token):
    for suffix in ('restore.json', 'rolledback', 'pending', 'now'):
        _disarm(_state_path(fw, token, suffix))

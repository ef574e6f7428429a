# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Windows: netsh command builders, locale-robust parsers, change planning.

This runs on the controller. The action plugins of the same names as the
modules send the commands built here through the connection (WinRM, PSRP or
SSH with a PowerShell or cmd shell) and hand the text back to the parsers.
Nothing here talks to Ansible: commands go out through a ``run(argv)``
callable that returns ``(rc, stdout, stderr)``.

Parsing is by structure, never by words: netsh prints its labels in the
language of the Windows image (and, through some connections, in a code page
that arrives as replacement characters), but the numbers, the dashed
separator line, the ``:`` before a value and the ``*`` that marks an
administered exclusion are the same in every language.

Windows keeps one dynamic (ephemeral) port range and one table of excluded
port ranges per protocol (TCP, UDP) and address family (IPv4, IPv6): four
"tables", named ``ipv4/tcp``, ``ipv4/udp``, ``ipv6/tcp`` and ``ipv6/udp``.

Excluded port ranges come in two kinds:

- administered (marked ``*``): added with ``netsh ... add excludedportrange``
  (by an administrator, an installer, a Windows feature, or this collection).
  They are the counterpart of Linux's reserved ports: the system never hands
  them out as dynamic ports, and a service can still bind them explicitly.
  ``reserved_ports`` adds them; since Windows does not record who made one, it
  deletes only ports a task names with ``state=absent`` (``exact`` reports and
  keeps the rest).
- held by the system (no ``*``): taken at runtime by Windows components and
  services through the API (Hyper-V, WinNAT, Docker, WSL, HTTP.sys ...). They
  block even explicit binds, move at every reboot, and netsh cannot delete
  them. This collection reports them and never deletes them.
"""

from __future__ import annotations

import csv
import re

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils import portinfo
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

NETSH = 'netsh'
PROTOCOLS = ('tcp', 'udp')
FAMILIES = ('ipv4', 'ipv6')
TABLE_ORDER = (('ipv4', 'tcp'), ('ipv4', 'udp'), ('ipv6', 'tcp'), ('ipv6', 'udp'))
STORES = ('active', 'persistent')

# What netsh accepts for "set dynamicportrange" (it answers "The parameter is
# incorrect." otherwise). A range read back from the system may start lower
# (1024 is seen on some images): that is reported as it is, never refused.
MIN_START = 1025
MIN_PORTS = 255
MAX_PORT = 65535

REMEDY_WINNAT = ('If Hyper-V, WSL or Docker hold the ports through WinNAT: run "net stop winnat", add the exclusion, '
                 'then "net start winnat" (WinNAT then picks its ranges around the administered exclusion). Moving the '
                 'dynamic port range away from the ports (portwarden.ports.ephemeral_range) keeps WinNAT from taking them '
                 'again after a reboot.')
REMEDY_ELEVATION = ('Run the task as a member of the Administrators group with an elevated token (for WinRM/PSRP a local '
                    'administrator; over SSH an administrator account, since UAC filters the token of other logons).')


# --------------------------------------------------------------------------- tables and commands

def tables(protocol='all', family='all'):
    """The (family, protocol) tables that the options select, in a fixed order."""
    if protocol not in PROTOCOLS + ('all',):
        raise PortwardenError('Invalid protocol %r: allowed values are tcp, udp, all.' % (protocol,))
    if family not in FAMILIES + ('all',):
        raise PortwardenError('Invalid family %r: allowed values are ipv4, ipv6, all.' % (family,))
    return [(fam, proto) for fam, proto in TABLE_ORDER if family in ('all', fam) and protocol in ('all', proto)]


def table_name(table):
    return '%s/%s' % table


def store_for(persist):
    return 'persistent' if persist else 'active'


def show_dynamic_cmd(family, proto):
    return [NETSH, 'interface', family, 'show', 'dynamicportrange', 'protocol=' + proto]


def set_dynamic_cmd(family, proto, prange, store='persistent'):
    return [NETSH, 'interface', family, 'set', 'dynamicportrange', 'protocol=' + proto,
            'startport=%d' % prange.start, 'numberofports=%d' % prange.size, 'store=' + store]


def show_excluded_cmd(family, proto):
    return [NETSH, 'interface', family, 'show', 'excludedportrange', 'protocol=' + proto]


def add_excluded_cmd(family, proto, prange, store='persistent'):
    return [NETSH, 'interface', family, 'add', 'excludedportrange', 'protocol=' + proto,
            'startport=%d' % prange.start, 'numberofports=%d' % prange.size, 'store=' + store]


def delete_excluded_cmd(family, proto, prange, store='persistent'):
    return [NETSH, 'interface', family, 'delete', 'excludedportrange', 'protocol=' + proto,
            'startport=%d' % prange.start, 'numberofports=%d' % prange.size, 'store=' + store]


def netstat_cmd():
    return ['netstat', '-ano']


def tasklist_cmd():
    return ['tasklist', '/fo', 'csv', '/nh']


_SAFE_TOKEN = re.compile(r'^[A-Za-z0-9=./_-]+$')


def command_line(argv):
    """One command line that PowerShell and cmd run the same way.

    Every token is checked to hold only letters, digits and ``= . / _ -``, so
    no quoting is ever needed (and none is made by hand): anything else is
    refused rather than escaped.
    """
    for token in argv:
        if not _SAFE_TOKEN.match(token):
            raise PortwardenError('Refusing to build a command with the token %r: only letters, digits and "=./_-" '
                                  'are sent to the Windows shell.' % (token,))
    return ' '.join(argv)


# --------------------------------------------------------------------------- parsers

class NetshOutputError(PortwardenError):
    """netsh printed something that does not have the expected structure."""


def _lines(text):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    text = text.lstrip('\ufeff')
    return [line.rstrip('\r') for line in text.splitlines()]


_DASHES = re.compile(r'^\s*-{3,}(?:\s+-{3,})*\s*$')
_TWO_DASH_GROUPS = re.compile(r'^\s*-{3,}\s+-{3,}\s*$')
# "label : 49152" in any language; Chinese and Japanese images may print a full-width colon.
_VALUE_LINE = re.compile(r'[:\uff1a]\s*(\d+)\s*$')
_EXCLUDED_ROW = re.compile(r'^\s*(\d+)\s+(\d+)\s*(\*)?\s*$')


def _excerpt(text, limit=400):
    text = text if isinstance(text, str) else str(text)
    # undecodable bytes arrive as lone surrogates (surrogateescape): show them as U+FFFD
    try:
        text = text.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')
    except UnicodeEncodeError:
        text = text.encode('utf-8', 'replace').decode('utf-8')
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + '...'


def parse_dynamic(text, what='netsh show dynamicportrange'):
    """``Start Port : 49152`` / ``Number of Ports : 16384`` -> PortRange(49152, 65535).

    Finds the dashed separator, then the first two lines after it that end in
    a colon and a number: the start and the number of ports, in that order in
    every language.
    """
    lines = _lines(text)
    dash = next((i for i, line in enumerate(lines) if _DASHES.match(line)), None)
    if dash is None:
        raise NetshOutputError('Cannot read the output of %s: no dashed separator line in %r.' % (what, _excerpt(text)))
    values = []
    for line in lines[dash + 1:]:
        match = _VALUE_LINE.search(line)
        if match:
            values.append(int(match.group(1)))
    if len(values) < 2:
        raise NetshOutputError('Cannot read the output of %s: expected a start port and a number of ports after the '
                               'separator, got %r.' % (what, _excerpt(text)))
    start, count = values[0], values[1]
    if start < 1 or count < 1 or start + count - 1 > MAX_PORT:
        raise NetshOutputError('%s reports start port %d and %d ports, which is not a range inside 1-65535.'
                               % (what, start, count))
    return PortRange(start, start + count - 1)


class ExcludedTable(object):
    """The rows of one ``show excludedportrange`` table."""

    def __init__(self, rows=()):
        # rows: (PortRange, administered) in the order netsh printed them
        self.rows = list(rows)

    @property
    def administered(self):
        return PortSet([r for r, admin in self.rows if admin])

    @property
    def held(self):
        return PortSet([r for r, admin in self.rows if not admin])

    @property
    def all(self):
        return PortSet([r for r, dummy in self.rows])

    def administered_rows(self):
        return [r for r, admin in self.rows if admin]

    def __eq__(self, other):
        return isinstance(other, ExcludedTable) and self.rows == other.rows

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'ExcludedTable(%r)' % (self.rows,)


def parse_excluded(text, what='netsh show excludedportrange'):
    """Rows under the two-column dashed separator: ``start end [*]``.

    The header, the title and the footnote that explains ``*`` are words in
    the image's language and are skipped; an empty table (separator, no rows)
    is an empty ExcludedTable.
    """
    lines = _lines(text)
    dash = next((i for i, line in enumerate(lines) if _TWO_DASH_GROUPS.match(line)), None)
    if dash is None:
        raise NetshOutputError('Cannot read the output of %s: no two-column dashed separator in %r.' % (what, _excerpt(text)))
    rows = []
    for line in lines[dash + 1:]:
        match = _EXCLUDED_ROW.match(line)
        if not match:
            continue
        start, end = int(match.group(1)), int(match.group(2))
        if not 1 <= start <= end <= MAX_PORT:
            raise NetshOutputError('%s lists the range %d-%d, which is not a range inside 1-65535.' % (what, start, end))
        rows.append((PortRange(start, end), match.group(3) is not None))
    return ExcludedTable(rows)


_NETSTAT_ROW = re.compile(r'^\s*(TCP|UDP)\s+(\S+)\s+(\S+)\s+(?:(\S+)\s+)?(\d+)\s*$', re.IGNORECASE)


def _split_endpoint(text):
    """``0.0.0.0:135`` / ``[::1]:8080`` / ``[fe80::1%4]:546`` / ``*:*`` -> (family, address, port or None)."""
    if text.startswith('['):
        address, dummy, port = text[1:].rpartition(']:')
        family = 'ipv6'
    else:
        address, dummy, port = text.rpartition(':')
        family = 'ipv6' if ':' in address else 'ipv4'
    if not dummy or not port.isdigit():
        return family, address or text, None
    return family, address, int(port)


def parse_netstat(text):
    """``netstat -ano`` -> list of socket dicts, by structure only.

    A TCP row whose foreign port is 0 is a listener; every UDP row is a bound
    socket (foreign ``*:*``). The state column is left as printed (it is
    translated on some images); a TCP connection owned by PID 0 is one in
    TIME_WAIT (its process is gone), which is how TIME_WAIT is counted here
    without reading the translated state word.
    """
    sockets = []
    for line in _lines(text):
        match = _NETSTAT_ROW.match(line)
        if not match:
            continue
        proto = match.group(1).lower()
        family, address, port = _split_endpoint(match.group(2))
        dummy, remote_address, remote_port = _split_endpoint(match.group(3))
        if port is None:
            continue
        if proto == 'tcp':
            listening = remote_port == 0
        else:
            listening = True
        sockets.append({
            'proto': proto,
            'family': family,
            'address': address,
            'port': port,
            'remote_address': remote_address,
            'remote_port': remote_port,
            'state': match.group(4) if proto == 'tcp' else None,
            'pid': int(match.group(5)),
            'listening': listening,
        })
    return sockets


def parse_tasklist(text):
    """``tasklist /fo csv /nh`` -> {pid: image name}."""
    names = {}
    for row in csv.reader(_lines(text)):
        if len(row) >= 2 and row[1].strip().isdigit():
            names[int(row[1].strip())] = row[0]
    return names


# --------------------------------------------------------------------------- failures

# The Win32 messages netsh prints, as a hint only (the remedy never depends
# on them): English, French, German, Chinese.
_HINTS = (
    ('in_use', ('being used by another process', 'utilisé par un autre processus', 'von einem anderen Prozess verwendet',
                '另一个程序正在使用此文件')),
    ('elevation', ('requires elevation', 'nécessite une élévation', 'erhöhte Rechte', 'erhöhte Berechtigungen',
                   '需要提升')),
    ('denied', ('Access is denied', 'Accès refusé', 'Zugriff verweigert', '拒绝访问')),
    ('not_found', ('cannot find the file', 'est introuvable', 'kann die angegebene Datei nicht finden', '找不到指定的文件')),
    ('parameter', ('parameter is incorrect', 'Paramètre incorrect', 'Falscher Parameter', '参数错误')),
)


def failure_kind(text):
    for kind, needles in _HINTS:
        for needle in needles:
            if needle.lower() in text.lower():
                return kind
    return None


def explain_failure(argv, rc, out, err, context=''):
    """A PortwardenError that quotes netsh and says what to do."""
    said = _excerpt(' '.join(part for part in (out or '', err or '') if part.strip()) or '(no output)')
    kind = failure_kind(said)
    line = command_line(argv)
    verb = argv[3] if len(argv) > 3 else ''
    if kind == 'elevation' or kind == 'denied':
        remedy = REMEDY_ELEVATION
        if verb == 'delete':
            remedy += (' An exclusion that Windows or a service holds (no "*" in the table) cannot be deleted with netsh '
                       'at all; this collection never tries to.')
    elif verb == 'add':
        remedy = ('netsh refuses an exclusion when a port of it is in use (a socket bound to it) or when it overlaps an '
                  'exclusion that already exists. Stop the program that uses the port, add the exclusion, then start '
                  'the program again (an administered exclusion does not stop a service from binding the port '
                  'explicitly). ' + REMEDY_WINNAT)
    elif verb == 'delete' and kind == 'not_found':
        remedy = 'The exclusion is no longer in the table as listed; run the task again to plan from the current table.'
    elif verb == 'set':
        remedy = ('netsh accepts a dynamic port range that starts at %d or above, holds at least %d ports and ends at '
                  '%d or below, from an administrator.' % (MIN_START, MIN_PORTS, MAX_PORT))
    else:
        remedy = ''
    if kind is None:
        # The message is in a language (or code page) not recognised: give every remedy that applies.
        remedy = (remedy + ' If netsh says the operation needs elevation or access is denied: ' + REMEDY_ELEVATION).strip()
    msg = '"%s" failed (rc=%s): %s %s%s' % (line, rc, said, (context + ' ') if context else '', remedy)
    return PortwardenError(msg.strip(), command=line, rc=rc, stdout=out or '', stderr=err or '')


class Netsh(object):
    """Runs commands through ``run(argv) -> (rc, stdout, stderr)`` and keeps a log."""

    def __init__(self, run):
        self._run = run
        self.log = []

    def __call__(self, argv):
        rc, out, err = self._run(argv)
        self.log.append(command_line(argv))
        return rc, out or '', err or ''

    def read(self, argv, parse):
        rc, out, err = self(argv)
        if rc != 0:
            raise explain_failure(argv, rc, out, err)
        return parse(out, what=command_line(argv))

    def change(self, argv, context=''):
        rc, out, err = self(argv)
        if rc != 0:
            raise explain_failure(argv, rc, out, err, context)
        return out

    def dynamic(self, table):
        return self.read(show_dynamic_cmd(*table), parse_dynamic)

    def excluded(self, table):
        return self.read(show_excluded_cmd(*table), parse_excluded)

    def sockets(self):
        rc, out, err = self(netstat_cmd())
        if rc != 0:
            raise explain_failure(netstat_cmd(), rc, out, err)
        return parse_netstat(out)

    def process_names(self):
        rc, out, dummy = self(tasklist_cmd())
        return parse_tasklist(out) if rc == 0 else {}


# --------------------------------------------------------------------------- ephemeral range

def validate_dynamic_range(start, end):
    """Refuse, before anything runs, what netsh would refuse."""
    for name, value in (('start', start), ('end', end)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PORT:
            raise PortwardenError('Invalid %s %r: ports go from 1 to 65535.' % (name, value))
    if start > end:
        raise PortwardenError('Invalid range: start %d is greater than end %d.' % (start, end))
    if start < MIN_START:
        raise PortwardenError('Invalid range %d-%d for Windows: netsh refuses a dynamic port range that starts below %d '
                              '(start %d). Use a start of at least %d.' % (start, end, MIN_START, start, MIN_START))
    size = end - start + 1
    if size < MIN_PORTS:
        raise PortwardenError('Invalid range %d-%d for Windows: it holds %d ports and netsh requires at least %d. Use an '
                              'end of at least %d.' % (start, end, size, MIN_PORTS, start + MIN_PORTS - 1))
    return PortRange(start, end)


def _range_text(prange):
    return '%d-%d (startport=%d numberofports=%d)\n' % (prange.start, prange.end, prange.start, prange.size)


def plan_dynamic(current, want, store='persistent'):
    """What would change: ``current`` maps each selected table to its PortRange."""
    per_table = {}
    commands = []
    diff = []
    for table, have in current.items():
        changed = have != want
        per_table[table_name(table)] = {'before': have.to_dict(), 'after': want.to_dict(), 'changed': changed}
        if changed:
            commands.append(set_dynamic_cmd(table[0], table[1], want, store))
        diff.append({
            'before_header': 'dynamicportrange %s' % table_name(table),
            'after_header': 'dynamicportrange %s' % table_name(table),
            'before': _range_text(have),
            'after': _range_text(want),
        })
    first = next(iter(current.values()))
    return {
        'changed': bool(commands),
        'before': first.to_dict(),
        'after': want.to_dict(),
        'tables': per_table,
        'commands': commands,
        'diff': diff,
    }


def ephemeral_range(run, start, end, protocol='all', family='all', persist=True, check_mode=False, reserve=None):
    """Plan and (unless check_mode) apply the dynamic port range on Windows.

    ``reserve`` (ports, optional) are added to the administered exclusions of
    the same tables first (reserved_ports with state=present), so that the new
    range never covers them unexcluded.
    """
    want = validate_dynamic_range(start, end)
    if reserve:
        reserved = reserved_ports(run, reserve, state='present', protocol=protocol, family=family, persist=persist,
                                  check_mode=check_mode)
        result = ephemeral_range(run, start, end, protocol=protocol, family=family, persist=persist,
                                 check_mode=check_mode)
        result['reserved'] = dict((key, reserved[key]) for key in ('before', 'after', 'added', 'changed', 'tables'))
        result['changed'] = result['changed'] or reserved['changed']
        result['commands'] = reserved['commands'] + result['commands']
        result['warnings'] = reserved['warnings'] + result['warnings']
        result['diff'] = reserved['diff'] + result['diff']
        return result
    selected = tables(protocol, family)
    store = store_for(persist)
    netsh = Netsh(run)
    current = dict((table, netsh.dynamic(table)) for table in selected)
    # dict keeps insertion order: the first selected table comes first
    plan = plan_dynamic(current, want, store)
    warnings = []
    if not persist and plan['changed']:
        warnings.append('persist=false: the range is set with store=active and returns to the persistent value at the '
                        'next boot.')
    if not check_mode:
        for argv in plan['commands']:
            netsh.change(argv)
        for table in selected:
            if plan['tables'][table_name(table)]['changed']:
                got = netsh.dynamic(table)
                if got != want:
                    raise PortwardenError('netsh accepted the dynamic port range %s for %s but it reads back as %s.'
                                          % (want, table_name(table), got))
    return {
        'changed': plan['changed'],
        'before': plan['before'],
        'after': plan['after'],
        'tables': plan['tables'],
        'commands': [command_line(argv) for argv in plan['commands']],
        'warnings': warnings,
        'diff': plan['diff'],
    }


# --------------------------------------------------------------------------- excluded port ranges

RESERVED_STATES = ('present', 'absent', 'exact')


def _ports_dict(pset):
    return {'ports': pset.format(), 'list': pset.to_list()}


def plan_excluded(current, requested, state='present', store='persistent'):
    """What would change in each table's administered exclusions.

    ``current`` maps tables to ExcludedTable. Returns the plan with, per table,
    the delete and add commands in the order they must run (deletes first;
    a partly released row is deleted whole and its remainder added back), the
    ports to add that something else already holds (``blocked``), and the
    warnings about exclusions held by the system.
    """
    if state not in RESERVED_STATES:
        raise PortwardenError('Invalid state %r: allowed values are %s.' % (state, ', '.join(RESERVED_STATES)))
    requested = PortSet.parse(requested)
    per_table = {}
    warnings = []
    for table, excluded in current.items():
        name = table_name(table)
        have = excluded.administered
        held = excluded.held
        unlisted = PortSet()
        if state == 'present':
            want = have | requested
        elif state == 'absent':
            want = have - requested
        else:
            # Windows does not record who made an administered exclusion (Windows features and installers make them
            # too, 50000-50059 on many hosts), so exact adds what is missing and keeps, reports and warns about the
            # rest: only a port named with state=absent is ever deleted.
            want = have | requested
            unlisted = have - requested
            if unlisted:
                warnings.append('%s: %s %s administered (*) but not in the list; kept, because Windows does not record '
                                'who made an exclusion (Windows features and installers add them too). To release one '
                                'of yours, name it with state=absent.'
                                % (name, unlisted.format(), 'is' if unlisted.size == 1 else 'are'))
        removed = have - want
        added = want - have
        deletes = []
        readd = PortSet()
        for row in excluded.administered_rows():
            if not PortSet([row]).isdisjoint(removed):
                deletes.append(row)
                readd = readd | (PortSet([row]) - removed)
        adds = (added | readd).ranges
        blocked = (added | readd) & held
        if state in ('absent', 'exact'):
            kept = (requested & held) if state == 'absent' else held
            if kept:
                warnings.append('%s: %s %s held by Windows or a service (exclusions without "*" made at runtime, e.g. '
                                'by Hyper-V, WinNAT or Docker); they are reported in held_by_system and never deleted.'
                                % (name, kept.format(), 'is' if kept.size == 1 else 'are'))
        per_table[name] = {
            'table': table,
            'have': have,
            'want': want,
            'held': held,
            'unlisted': unlisted,
            'added': added,
            'removed': removed,
            'blocked': blocked,
            'commands': [delete_excluded_cmd(table[0], table[1], r, store) for r in deletes]
            + [add_excluded_cmd(table[0], table[1], r, store) for r in adds],
            'adds': adds,
        }
    return {'tables': per_table, 'warnings': warnings, 'changed': any(t['commands'] for t in per_table.values())}


def _in_use(sockets, table, ports):
    """Sockets of this table's family and protocol bound to one of ``ports``."""
    family, proto = table
    return [s for s in sockets if s['proto'] == proto and s['family'] == family and s['port'] in ports]


def _blocked_error(plan):
    parts = []
    for name, entry in plan['tables'].items():
        if entry['blocked']:
            parts.append('%s: %s' % (name, entry['blocked'].format()))
    return PortwardenError('Cannot add the exclusion: port(s) %s are already held by an exclusion that Windows or a service '
                           'made at runtime (no "*" in "netsh interface ipv4 show excludedportrange"), and netsh refuses an '
                           'overlapping exclusion ("The process cannot access the file because it is being used by another '
                           'process."). %s Nothing was changed.' % ('; '.join(parts), REMEDY_WINNAT))


def _busy_error(busy):
    parts = []
    for name, sockets in busy:
        pids = sorted(set(s['pid'] for s in sockets))
        parts.append('%s port(s) %s (PID %s)' % (name, PortSet([PortRange(s['port']) for s in sockets]).format(),
                                                 ', '.join(str(p) for p in pids)))
    return PortwardenError('Cannot add the exclusion: %s in use, and netsh refuses an exclusion over a port in use ("The '
                           'process cannot access the file because it is being used by another process."). Stop the '
                           'program that holds the port, run the task, then start the program again: an administered '
                           'exclusion does not stop a service from binding its port explicitly. Nothing was changed.'
                           % '; '.join(parts))


def reserved_ports(run, ports, state='present', protocol='all', family='all', persist=True, check_mode=False):
    """Plan and (unless check_mode) apply administered excluded port ranges."""
    requested = PortSet.parse(ports)
    selected = tables(protocol, family)
    store = store_for(persist)
    netsh = Netsh(run)
    current = dict((table, netsh.excluded(table)) for table in selected)
    plan = plan_excluded(current, requested, state, store)
    if any(entry['blocked'] for entry in plan['tables'].values()):
        raise _blocked_error(plan)
    if any(entry['adds'] for entry in plan['tables'].values()):
        sockets = netsh.sockets()
        busy = []
        for name, entry in plan['tables'].items():
            found = _in_use(sockets, entry['table'], PortSet(entry['adds']))
            if found:
                busy.append((name, found))
        if busy:
            raise _busy_error(busy)
    warnings = list(plan['warnings'])
    if not persist and plan['changed']:
        warnings.append('persist=false: the exclusions are changed with store=active and the persistent store comes back '
                        'at the next boot.')
    if not check_mode:
        done = []
        for name, entry in plan['tables'].items():
            for argv in entry['commands']:
                context = ('Commands already run: %s.' % '; '.join(done)) if done else ''
                netsh.change(argv, context)
                done.append(command_line(argv))
        for name, entry in plan['tables'].items():
            if entry['commands']:
                got = netsh.excluded(entry['table']).administered
                if got != entry['want']:
                    raise PortwardenError('netsh accepted the changes for %s but its administered exclusions read back as '
                                          '"%s" instead of "%s".' % (name, got.format(), entry['want'].format()))
    before = PortSet()
    after = PortSet()
    added = PortSet()
    removed = PortSet()
    per_table = {}
    diff = []
    for name, entry in plan['tables'].items():
        before = before | entry['have']
        after = after | entry['want']
        added = added | entry['added']
        removed = removed | entry['removed']
        per_table[name] = {
            'before': _ports_dict(entry['have']),
            'after': _ports_dict(entry['want']),
            'added': entry['added'].to_list(),
            'removed': entry['removed'].to_list(),
            'held_by_system': entry['held'].format(),
            'kept_unlisted': entry['unlisted'].format(),
            'changed': bool(entry['commands']),
        }
        diff.append({
            'before_header': 'excludedportrange %s (administered)' % name,
            'after_header': 'excludedportrange %s (administered)' % name,
            'before': entry['have'].format() + '\n',
            'after': entry['want'].format() + '\n',
        })
    return {
        'changed': plan['changed'],
        'before': _ports_dict(before),
        'after': _ports_dict(after),
        'added': added.to_list(),
        'removed': removed.to_list(),
        'tables': per_table,
        'administered': dict((name, entry['want'].format()) for name, entry in plan['tables'].items()),
        'held_by_system': dict((name, entry['held'].format()) for name, entry in plan['tables'].items()),
        'commands': [command_line(argv) for entry in plan['tables'].values() for argv in entry['commands']],
        'warnings': warnings,
        'diff': diff,
    }


# --------------------------------------------------------------------------- port_info (Windows and BSD)

def sockets_usage(sockets, ranges, reserved, time_wait_seconds, top=10, tcp_tw_reuse=None):
    """Ephemeral usage from parsed socket rows, in port_info's ``usage`` shape.

    ``sockets``: dicts with proto, family, port, remote_address, remote_port,
    state, listening and time_wait (bool). ``ranges`` and ``reserved`` map
    (family, proto) to the PortRange and PortSet of that table; the counts are
    against the IPv4 TCP table, the one port_info reports as its range.
    Used by the Windows action plugin and by the FreeBSD/macOS backend.
    """
    main = ('ipv4', 'tcp')
    erange = ranges[main]
    usable = erange.size - (reserved[main] & PortSet([erange])).size
    listen_ports = set(s['port'] for s in sockets if s['proto'] == 'tcp' and s['listening'])
    states = {}
    endpoints = {}
    ports = set()
    inbound = 0
    time_wait = 0
    udp = 0
    for s in sockets:
        table = (s['family'], s['proto'])
        if table not in ranges or s['port'] not in ranges[table]:
            continue
        if s['port'] in reserved[table]:
            continue
        if s['proto'] == 'udp':
            udp += 1
            ports.add(s['port'])
            continue
        if s['listening']:
            ports.add(s['port'])
            continue
        if s['port'] in listen_ports:
            inbound += 1
            continue
        name = 'TIME_WAIT' if s.get('time_wait') else (s.get('state') or 'UNKNOWN')
        states[name] = states.get(name, 0) + 1
        if s.get('time_wait'):
            time_wait += 1
        ports.add(s['port'])
        key = (s['family'], s['remote_address'], s['remote_port'])
        counts = endpoints.setdefault(key, {})
        counts[name] = counts.get(name, 0) + 1
    return portinfo.usage_summary(erange, usable, sockets_total=len(sockets), tcp_states=states, time_wait=time_wait,
                                  udp_sockets=udp, inbound=inbound, ports_in_use=len(ports), destinations=endpoints,
                                  top=top, time_wait_seconds=time_wait_seconds, tcp_tw_reuse=tcp_tw_reuse)


def listener_dicts(sockets, names=None):
    """Sorted, de-duplicated listeners in port_info's ``listeners`` shape."""
    seen = set()
    result = []
    for s in sorted((s for s in sockets if s['listening']),
                    key=lambda s: (s['proto'], s['port'], s['family'], s['address'], s.get('pid') or 0)):
        item = {'proto': s['proto'], 'family': s['family'], 'address': s['address'], 'port': s['port'],
                'scope': portinfo.listenscope.listener_scope(s['address'])}
        if names is not None:
            item['pid'] = s.get('pid')
            item['process'] = names.get(s.get('pid')) if s.get('pid') is not None else s.get('process')
        key = (item['proto'], item['family'], item['address'], item['port'], item.get('pid'))
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def table_conflicts(ranges, reserved, listeners, services=None):
    """port_info conflicts with a range and reservations per (family, protocol).

    The catalogue checks use the IPv4 table of each protocol; a listener is
    checked against the table of its own family and protocol.
    """
    conflicts = []
    for proto in PROTOCOLS:
        of_proto = [item for item in listeners if item['proto'] == proto]
        svc = [s for s in services if s['proto'] == proto] if services else None
        v4 = ('ipv4', proto)
        v6 = ('ipv6', proto)
        if (ranges[v6], reserved[v6]) == (ranges[v4], reserved[v4]):
            conflicts.extend(portinfo.conflicts_report(ranges[v4], reserved[v4], of_proto, svc))
            continue
        found = portinfo.conflicts_report(ranges[v4], reserved[v4], [i for i in of_proto if i['family'] == 'ipv4'], svc)
        ports = set(c['port'] for c in found if c['type'] == 'listener_in_range')
        for c in portinfo.conflicts_report(ranges[v6], reserved[v6], [i for i in of_proto if i['family'] == 'ipv6']):
            if c['type'] == 'listener_in_range' and c['port'] not in ports:
                found.append(c)
        conflicts.extend(found)
    order = dict((name, index) for index, name in enumerate(portinfo.CONFLICT_ORDER))
    conflicts.sort(key=lambda c: (order[c['type']], c['port'] if isinstance(c['port'], int) else 0))
    return conflicts


def _top(top):
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Invalid top %r: expected a whole number of destinations, 0 or more.' % (top,))
    return top


# Windows keeps a closed connection in TIME_WAIT for TcpTimedWaitDelay seconds:
# 120 by default since Windows Vista / Server 2008 (a registry value can change it).
WINDOWS_TIME_WAIT_SECONDS = 120


def port_info(run, processes=False, services=None, top=10):
    """port_info's report for a Windows target, from netsh and netstat."""
    top = _top(top)
    services = normalize_services(services) if services is not None else None
    netsh = Netsh(run)
    ranges = dict((table, netsh.dynamic(table)) for table in TABLE_ORDER)
    excluded = dict((table, netsh.excluded(table)) for table in TABLE_ORDER)
    reserved = dict((table, excluded[table].all) for table in TABLE_ORDER)
    sockets = netsh.sockets()
    for s in sockets:
        s['time_wait'] = s['proto'] == 'tcp' and not s['listening'] and s['pid'] == 0
    names = netsh.process_names() if processes else None
    listeners = listener_dicts(sockets, names)
    main = ('ipv4', 'tcp')
    return {
        'ephemeral_range': ranges[main].to_dict(),
        'unprivileged_port_start': 0,
        'reserved_ports': _ports_dict(reserved[main]),
        'listeners': listeners,
        'conflicts': table_conflicts(ranges, reserved, listeners, services),
        'usage': sockets_usage(sockets, ranges, reserved, WINDOWS_TIME_WAIT_SECONDS, top=top),
        'tables': dict((table_name(t), {
            'ephemeral_range': ranges[t].to_dict(),
            'reserved_ports': _ports_dict(reserved[t]),
            'administered': excluded[t].administered.format(),
            'held_by_system': excluded[t].held.format(),
        }) for t in TABLE_ORDER),
    }


# --------------------------------------------------------------------------- action plugin glue

def is_windows_shell(shell):
    """True when the connection's shell plugin is PowerShell or cmd (a Windows target).

    ansible-core 2.16 to 2.19 set ``_IS_WINDOWS`` on both Windows shell plugins
    and ``SHELL_FAMILY`` to ``powershell`` or ``cmd``; either is enough.
    """
    if getattr(shell, '_IS_WINDOWS', False):
        return True
    return getattr(shell, 'SHELL_FAMILY', None) in ('powershell', 'cmd')


def runner(execute):
    """``run(argv)`` over ``execute(command_line) -> {'rc', 'stdout', 'stderr'}`` (the action's low-level execute)."""
    def run(argv):
        answer = execute(command_line(argv))
        return answer.get('rc'), answer.get('stdout') or '', answer.get('stderr') or ''
    return run


def action_result(result, report, diff_mode):
    """Merge a backend report into an action result the way a module's exit_json would."""
    warnings = report.pop('warnings', [])
    diff = report.pop('diff', None)
    result.update(report)
    if warnings:
        result['warnings'] = list(result.get('warnings', [])) + warnings
    if diff_mode and diff is not None:
        result['diff'] = diff
    return result


def action_failure(result, exc):
    result.update(exc.details)
    result['failed'] = True
    result['msg'] = exc.msg
    return result

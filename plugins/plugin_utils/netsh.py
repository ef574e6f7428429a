# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Windows on the controller: netsh commands, locale-robust parsers, failures explained.

The action plugins of ephemeral_range, reserved_ports and port_info run the
commands built here through the connection (WinRM, PSRP or SSH with a
PowerShell or cmd shell) and hand the text back to the parsers; planning is
in netsh_plan.py. Commands go out through a ``run(argv)`` callable that
returns ``(rc, stdout, stderr)``.

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
- held by the system (no ``*``): taken at runtime by Windows components and
  services through the API (Hyper-V, WinNAT, Docker, WSL, HTTP.sys ...). They
  block even explicit binds, move at every reboot, and netsh cannot delete
  them. This collection reports them and never deletes them.
"""

from __future__ import annotations

import csv
import re

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.module_utils.report import PROTOCOLS, TABLES as TABLE_ORDER

NETSH = 'netsh'
FAMILIES = ('ipv4', 'ipv6')

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

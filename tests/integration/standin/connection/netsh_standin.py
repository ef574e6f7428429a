# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""STAND-IN test connection: a pretend Windows target, for tests only.

NOT part of the collection and NOT a Windows host. It reports a PowerShell
shell (as the winrm and psrp connections do) and answers the command lines
that the collection's action plugins send with the behaviour of netsh,
netstat and tasklist, from a JSON state file that it updates: the dynamic
port ranges and excluded port ranges of the four tables, the sockets, the
image's language and output code page, and whether the logon is elevated.
Every command is appended to the state's ``log``.

Load it with ANSIBLE_CONNECTION_PLUGINS=tests/integration/standin/connection
and ``ansible_connection: netsh_standin`` plus ``netsh_standin_state: PATH``.
"""

from __future__ import annotations

DOCUMENTATION = """
name: netsh_standin
short_description: STAND-IN Windows target for tests (emulates netsh with state)
description:
  - A test double, not a Windows connection. Answers netsh, netstat and tasklist command lines from a JSON state file.
author: portwarden.ports contributors
options:
  state_file:
    description: Path of the JSON state file of the stand-in target.
    type: path
    required: true
    vars:
      - name: netsh_standin_state
    env:
      - name: NETSH_STANDIN_STATE
"""

import fcntl
import json

from ansible.errors import AnsibleError
from ansible.plugins.connection import ConnectionBase

TABLES = ('ipv4/tcp', 'ipv4/udp', 'ipv6/tcp', 'ipv6/udp')

TEXT = {
    'en': {
        'dyn_title': 'Protocol {p} Dynamic Port Range', 'dyn_start': 'Start Port      ', 'dyn_num': 'Number of Ports ',
        'exc_title': 'Protocol {p} Port Exclusion Ranges', 'exc_head': 'Start Port    End Port',
        'exc_foot': '* - Administered port exclusions.', 'ok': 'Ok.',
        'in_use': 'The process cannot access the file because it is being used by another process.',
        'elevation': 'The requested operation requires elevation (Run as administrator).',
        'param': 'The parameter is incorrect.', 'not_found': 'The system cannot find the file specified.',
        'netstat_title': 'Active Connections',
        'netstat_head': '  Proto  Local Address          Foreign Address        State           PID',
        'states': {'LISTEN': 'LISTENING', 'ESTABLISHED': 'ESTABLISHED', 'TIME_WAIT': 'TIME_WAIT'},
    },
    'fr': {
        'dyn_title': 'Plage de ports dynamique du protocole {p}', 'dyn_start': 'Port de d\u00e9marrage   ',
        'dyn_num': 'Nombre de ports     ', 'exc_title': "Protocole {p} Plages d'exclusion de ports",
        'exc_head': 'Port de d\u00e9but    Port de fin', 'exc_dash': '-------------    -----------',
        'exc_foot': '* - Exclusions de ports administr\u00e9s.', 'ok': 'Ok.',
        'in_use': 'Le processus ne peut pas acc\u00e9der au fichier car ce fichier est utilis\u00e9 par un autre processus.',
        'elevation': 'L\u2019op\u00e9ration demand\u00e9e n\u00e9cessite une \u00e9l\u00e9vation (Ex\u00e9cuter en tant '
                     'qu\u2019administrateur).',
        'param': 'Param\u00e8tre incorrect.', 'not_found': 'Le fichier sp\u00e9cifi\u00e9 est introuvable.',
        'netstat_title': 'Connexions actives',
        'netstat_head': '  Proto  Adresse locale         Adresse distante       \u00c9tat           PID',
        'states': {'LISTEN': 'LISTENING', 'ESTABLISHED': 'ESTABLISHED', 'TIME_WAIT': 'TIME_WAIT'},
    },
    'de': {
        'dyn_title': 'Dynamischer Portbereich f\u00fcr {p}-Protokoll', 'dyn_start': 'Startport        ',
        'dyn_num': 'Anzahl der Ports ', 'exc_title': 'Portausschlussbereiche f\u00fcr das Protokoll "{p}"',
        'exc_head': 'Startport      Endport', 'exc_foot': '* - Verwaltete Portausschl\u00fcsse.', 'ok': 'OK.',
        'in_use': 'Der Prozess kann nicht auf die Datei zugreifen, da sie von einem anderen Prozess verwendet wird.',
        'elevation': 'F\u00fcr den angeforderten Vorgang sind erh\u00f6hte Rechte erforderlich (als Administrator ausf\u00fchren).',
        'param': 'Falscher Parameter.', 'not_found': 'Das System kann die angegebene Datei nicht finden.',
        'netstat_title': 'Aktive Verbindungen',
        'netstat_head': '  Proto  Lokale Adresse         Remoteadresse          Status           PID',
        'states': {'LISTEN': 'ABH\u00d6REN', 'ESTABLISHED': 'HERGESTELLT', 'TIME_WAIT': 'WARTEND'},
    },
    'zh': {
        'dyn_title': '\u534f\u8bae {p} \u52a8\u6001\u7aef\u53e3\u8303\u56f4', 'dyn_start': '\u542f\u52a8\u7aef\u53e3        ',
        'dyn_num': '\u7aef\u53e3\u6570          ', 'exc_title': '\u534f\u8bae {p} \u7aef\u53e3\u6392\u9664\u8303\u56f4',
        'exc_head': '\u5f00\u59cb\u7aef\u53e3    \u7ed3\u675f\u7aef\u53e3',
        'exc_foot': '* - \u7ba1\u7406\u7684\u7aef\u53e3\u6392\u9664\u3002', 'ok': '\u786e\u5b9a\u3002',
        'in_use': '\u53e6\u4e00\u4e2a\u7a0b\u5e8f\u6b63\u5728\u4f7f\u7528\u6b64\u6587\u4ef6\uff0c\u8fdb\u7a0b\u65e0\u6cd5\u8bbf\u95ee\u3002',
        'elevation': '\u8bf7\u6c42\u7684\u64cd\u4f5c\u9700\u8981\u63d0\u5347(\u4f5c\u4e3a\u7ba1\u7406\u5458\u8fd0\u884c)\u3002',
        'param': '\u53c2\u6570\u9519\u8bef\u3002', 'not_found': '\u7cfb\u7edf\u627e\u4e0d\u5230\u6307\u5b9a\u7684\u6587\u4ef6\u3002',
        'netstat_title': '\u6d3b\u52a8\u8fde\u63a5',
        'netstat_head': '  \u534f\u8bae  \u672c\u5730\u5730\u5740          \u5916\u90e8\u5730\u5740        \u72b6\u6001           PID',
        'states': {'LISTEN': 'LISTENING', 'ESTABLISHED': 'ESTABLISHED', 'TIME_WAIT': 'TIME_WAIT'},
    },
}

KEYWORDS = ('protocol', 'startport', 'numberofports', 'store')
SHORT = {'start': 'startport', 'num': 'numberofports'}


def default_state():
    return {
        'locale': 'en',
        'encoding': 'utf-8',
        'elevated': True,
        'dynamic': dict((t, [49152, 16384]) for t in TABLES),
        'excluded': dict((t, []) for t in TABLES),
        'sockets': [],
        'processes': {},
        'log': [],
    }


class NetshEmulator(object):
    """netsh / netstat / tasklist behaviour over a state dict (see default_state)."""

    def __init__(self, state):
        self.state = state
        self.text = TEXT[state.get('locale', 'en')]

    def _out(self, rc, text):
        return rc, '\r\n'.join(text.split('\n')), ''

    def _fail(self, key):
        return self._out(1, self.text[key] + '\n\n')

    def run(self, line):
        self.state.setdefault('log', []).append(line)
        tokens = line.split()
        if not tokens:
            return self._out(1, 'empty command\n')
        command = tokens[0].lower()
        if command == 'netstat' and tokens[1:] == ['-ano']:
            return self._out(0, self.netstat())
        if command == 'tasklist':
            return self._out(0, ''.join('"%s","%s","Services","0","1,024 K"\n' % (name, pid)
                                        for pid, name in sorted(self.state['processes'].items())))
        if command != 'netsh':
            return self._out(1, "'%s' is not recognized as an internal or external command.\n" % tokens[0])
        return self.netsh(tokens[1:])

    def netsh(self, tokens):
        if len(tokens) < 4 or not 'interface'.startswith(tokens[0].lower()) or tokens[1] not in ('ipv4', 'ipv6'):
            return self._out(1, 'The following command was not found: %s.\n' % ' '.join(tokens))
        family, verb, obj = tokens[1], tokens[2].lower(), tokens[3].lower()
        args = {}
        positional = []
        for token in tokens[4:]:
            if '=' in token:
                key, value = token.split('=', 1)
                key = SHORT.get(key.lower(), key.lower())
                full = [k for k in KEYWORDS if k.startswith(key)]
                if len(full) != 1:
                    return self._fail('param')
                args[full[0]] = value.lower()
            else:
                positional.append(token.lower())
        for key, value in zip([k for k in KEYWORDS if k not in args], positional):
            args[key] = value
        proto = args.get('protocol')
        if proto not in ('tcp', 'udp'):
            return self._fail('param')
        table = '%s/%s' % (family, proto)
        if len(obj) >= 7 and 'dynamicportrange'.startswith(obj):
            return self.dynamic(verb, table, args)
        if len(obj) >= 8 and 'excludedportrange'.startswith(obj):
            return self.excluded(verb, table, args)
        return self._out(1, 'The following command was not found: %s.\n' % ' '.join(tokens))

    def _numbers(self, args):
        try:
            return int(args['startport']), int(args['numberofports'])
        except (KeyError, ValueError):
            return None, None

    def dynamic(self, verb, table, args):
        if verb == 'show':
            start, count = self.state['dynamic'][table]
            proto = table.split('/')[1]
            return self._out(0, '\n%s\n---------------------------------\n%s: %d\n%s: %d\n\n' % (
                self.text['dyn_title'].format(p=proto), self.text['dyn_start'], start, self.text['dyn_num'], count))
        if verb != 'set':
            return self._fail('param')
        if not self.state.get('elevated', True):
            return self._fail('elevation')
        start, count = self._numbers(args)
        if start is None or start < 1025 or count < 255 or start + count - 1 > 65535 or \
                args.get('store', 'persistent') not in ('active', 'persistent'):
            return self._fail('param')
        self.state['dynamic'][table] = [start, count]
        return self._out(0, self.text['ok'] + '\n\n')

    def excluded(self, verb, table, args):
        rows = self.state['excluded'][table]
        if verb == 'show':
            proto = table.split('/')[1]
            body = ''.join('%10d  %10d%s\n' % (s, e, '     *' if admin else '') for s, e, admin in sorted(rows))
            return self._out(0, '\n%s\n\n%s\n%s\n%s\n%s\n\n' % (
                self.text['exc_title'].format(p=proto), self.text['exc_head'],
                self.text.get('exc_dash', '----------    --------'), body, self.text['exc_foot']))
        if verb not in ('add', 'delete'):
            return self._fail('param')
        if not self.state.get('elevated', True):
            return self._fail('elevation')
        start, count = self._numbers(args)
        if start is None or count < 1 or start + count - 1 > 65535 or args.get('store', 'persistent') not in ('active', 'persistent'):
            return self._fail('param')
        end = start + count - 1
        if verb == 'add':
            if any(s <= end and start <= e for s, e, dummy in rows):
                return self._fail('in_use')
            family, proto = table.split('/')
            for sock in self.state['sockets']:
                if sock['proto'] == proto and sock['family'] == family and start <= sock['port'] <= end:
                    return self._fail('in_use')
            rows.append([start, end, True])
        else:
            if [start, end, True] not in rows:
                return self._fail('not_found')
            rows.remove([start, end, True])
        return self._out(0, self.text['ok'] + '\n\n')

    def netstat(self):
        lines = ['', self.text['netstat_title'], '', self.text['netstat_head']]
        for sock in self.state['sockets']:
            if sock['family'] == 'ipv6':
                local = '[%s]:%d' % (sock['address'], sock['port'])
            else:
                local = '%s:%d' % (sock['address'], sock['port'])
            if sock['proto'] == 'udp':
                lines.append('  UDP    %-22s %-22s %-15s %d' % (local, '*:*', '', sock['pid']))
                continue
            state = sock.get('state', 'LISTEN')
            remote = sock.get('remote') or ('[::]:0' if sock['family'] == 'ipv6' else '0.0.0.0:0')
            pid = 0 if state == 'TIME_WAIT' else sock['pid']
            lines.append('  TCP    %-22s %-22s %-15s %d' % (local, remote, self.text['states'].get(state, state), pid))
        return '\n'.join(lines) + '\n'


class Connection(ConnectionBase):
    """STAND-IN: pretends to be a Windows host with a PowerShell shell; runs nothing."""

    transport = 'netsh_standin'
    _shell_type = 'powershell'
    allow_executable = False
    has_pipelining = False

    def _connect(self):
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        path = self.get_option('state_file')
        with open(path, 'a+') as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            state = json.loads(text) if text.strip() else default_state()
            emulator = NetshEmulator(state)
            rc, out, err = emulator.run(cmd)
            handle.seek(0)
            handle.truncate()
            json.dump(state, handle, indent=1, sort_keys=True)
        encoding = state.get('encoding', 'utf-8')
        return rc, out.encode(encoding, 'replace'), err.encode(encoding, 'replace')

    def put_file(self, in_path, out_path):
        raise AnsibleError('netsh_standin is a stand-in Windows target for tests: it cannot receive files (%s).' % in_path)

    def fetch_file(self, in_path, out_path):
        raise AnsibleError('netsh_standin is a stand-in Windows target for tests: it has no files (%s).' % in_path)

    def close(self):
        self._connected = False

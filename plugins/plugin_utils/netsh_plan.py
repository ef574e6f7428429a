# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Windows on the controller: what ephemeral_range, reserved_ports and port_info do, planned from netsh.

The same three operations as the host backends (backend.py), with the same
parameters and result shape; commands and parsers are in netsh.py. Nothing
here talks to Ansible: commands go out through ``run(argv)``.

Administered exclusions (``*``) are Windows' counterpart of Linux's reserved
ports. Windows does not record who made one, so ``reserved_ports`` deletes
only ports a task names with ``state=absent`` (``exact`` reports and keeps
the rest). Exclusions held by the system (no ``*``) are reported and never
deleted; a catalogue port or a listener inside one is a ``service_port_held``
conflict.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.backend import shape_result
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.module_utils import conflicts as conflict_report, report, table_report
from ansible_collections.portwarden.ports.plugins.plugin_utils.netsh import (
    MAX_PORT, MIN_PORTS, MIN_START, REMEDY_WINNAT, TABLE_ORDER, Netsh, add_excluded_cmd, command_line,
    delete_excluded_cmd, set_dynamic_cmd, store_for, table_name, tables)


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
    selected = tables(protocol, family)
    netsh = Netsh(run)
    reserved = None
    if reserve:
        reserved, exclusions = _reserve(netsh, reserve, 'present', selected, persist, check_mode)
    else:
        exclusions = netsh.excluded(selected[0]).all
    result = _set_range(netsh, want, selected, persist, check_mode)
    if reserved is not None:
        result['reserved'] = dict((key, reserved[key]) for key in ('before', 'after', 'added', 'changed', 'tables'))
        result['changed'] = result['changed'] or reserved['changed']
        result['commands'] = reserved['commands'] + result['commands']
        result['warnings'] = reserved['warnings'] + result['warnings']
        result['diff'] = reserved['diff'] + result['diff']
    return shape_result(result, want, exclusions)


def _set_range(netsh, want, selected, persist, check_mode):
    store = store_for(persist)
    # dict keeps insertion order: the first selected table comes first
    current = dict((table, netsh.dynamic(table)) for table in selected)
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
    selected = tables(protocol, family)
    netsh = Netsh(run)
    result, exclusions = _reserve(netsh, ports, state, selected, persist, check_mode)
    return shape_result(result, netsh.dynamic(selected[0]), exclusions)


def _reserve(netsh, ports, state, selected, persist, check_mode):
    """The reserved_ports result, and every exclusion of the first selected table after the task."""
    requested = PortSet.parse(ports)
    store = store_for(persist)
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
            'before': entry['have'].to_dict(),
            'after': entry['want'].to_dict(),
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
    first = plan['tables'][table_name(selected[0])]
    return {
        'changed': plan['changed'],
        'before': before.to_dict(),
        'after': after.to_dict(),
        'added': added.to_list(),
        'removed': removed.to_list(),
        'tables': per_table,
        'administered': dict((name, entry['want'].format()) for name, entry in plan['tables'].items()),
        'held_by_system': dict((name, entry['held'].format()) for name, entry in plan['tables'].items()),
        'commands': [command_line(argv) for entry in plan['tables'].values() for argv in entry['commands']],
        'warnings': warnings,
        'diff': diff,
    }, first['want'] | first['held']


# --------------------------------------------------------------------------- port_info

# Windows keeps a closed connection in TIME_WAIT for TcpTimedWaitDelay seconds:
# 120 by default since Windows Vista / Server 2008 (a registry value can change it).
WINDOWS_TIME_WAIT_SECONDS = 120


def held_conflicts(held, listeners, services=None):
    """``service_port_held``: catalogue ports and listeners inside an exclusion the system holds (no ``*``).

    ``held`` maps (family, protocol) to the held PortSet of that table. Such a
    row blocks even an explicit bind, so the service cannot (re)start on its
    port. The catalogue is checked against the IPv4 table of its protocol (as
    the other catalogue checks), a listener against its own table.
    """
    conflicts = []
    for service in services or ():
        table = ('ipv4', service['proto'])
        overlap = held[table] & PortSet([PortRange(service['start'], service['end'])])
        if overlap:
            conflicts.append({
                'type': 'service_port_held',
                'proto': service['proto'],
                'service': service['name'],
                'port': service['port'],
                'ports': overlap.format(),
                'table': table_name(table),
                'msg': 'Service %s (%s %s) declares port(s) %s that Windows or a service holds as an exclusion (no "*" '
                       'in netsh %s show excludedportrange): nothing can bind them, not even the service.'
                       % (service['name'], service['proto'], service['port'], overlap.format(), table[0]),
                'remedy': REMEDY_WINNAT,
            })
    by_port = {}
    for item in listeners:
        table = (item['family'], item['proto'])
        if item['port'] in held[table]:
            by_port.setdefault((item['proto'], item['port']), []).append(item)
    for (proto, port), items in sorted(by_port.items()):
        conflicts.append({
            'type': 'service_port_held',
            'proto': proto,
            'port': port,
            'addresses': sorted(set(i['address'] for i in items)),
            'table': ', '.join(sorted(set(table_name((i['family'], proto)) for i in items))),
            'msg': '%s port %d is listened on inside an exclusion that Windows or a service holds (no "*"): the '
                   'listener cannot bind it again after a restart.' % (proto.upper(), port),
            'remedy': REMEDY_WINNAT,
        })
    return conflicts


def port_info(run, processes=False, services=None, top=10):
    """port_info's report for a Windows target, from netsh and netstat."""
    top, services = conflict_report.check_request(top, services)
    netsh = Netsh(run)
    ranges = dict((table, netsh.dynamic(table)) for table in TABLE_ORDER)
    excluded = dict((table, netsh.excluded(table)) for table in TABLE_ORDER)
    reserved = dict((table, excluded[table].all) for table in TABLE_ORDER)
    sockets = netsh.sockets()
    for s in sockets:
        s['time_wait'] = s['proto'] == 'tcp' and not s['listening'] and s['pid'] == 0
    names = netsh.process_names() if processes else None
    listeners = report.listener_dicts(sockets, names)
    conflicts = table_report.table_conflicts(ranges, reserved, listeners, services)
    conflicts = table_report.sort_conflicts(conflicts + held_conflicts(
        dict((table, excluded[table].held) for table in TABLE_ORDER), listeners, services))
    main = report.MAIN_TABLE
    return report.build(
        ranges[main], reserved[main], listeners, conflicts,
        table_report.sockets_usage(sockets, ranges, reserved, WINDOWS_TIME_WAIT_SECONDS, top=top), 0,
        tables=dict((table_name(t), {
            'ephemeral_range': ranges[t].to_dict(),
            'reserved_ports': reserved[t].to_dict(),
            'administered': excluded[t].administered.format(),
            'held_by_system': excluded[t].held.format(),
        }) for t in TABLE_ORDER))

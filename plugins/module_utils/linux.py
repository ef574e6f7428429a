# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux: kernel values in /proc/sys and their persistence in sysctl.d.

Reads (procsys.py) and writes ``/proc/sys`` directly (no ``sysctl`` binary
needed) and keeps the values in a sysctl.d drop-in (the text editing and the
boot order are in sysctld.py).

One task is all or nothing (:class:`Change`): the drop-in's new content is
staged in a temp file, then the kernel values are written, then the file is
moved into place; a failure puts back what was written. Tasks that change the
host hold the host lock (hostlock.HostLock) from the first read to the last
write, so that concurrent runs are serialized. No Ansible I/O here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import (
    StagedFile, read_text, remove_stale_temps, writable_directory)
from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock
from ansible_collections.portwarden.ports.plugins.module_utils.sysctld import boot_overrides, file_value, set_file_value
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.module_utils.procsys import (  # the reads, shared with port_info
    PROC_SYS, RANGE_KEY, RESERVED_KEY, normalize_key, parse_range_value, proc_path, read_reserved_ports, read_sysctl,
    read_unprivileged_port_start)

CONNTRACK_MAX_KEY = 'net.netfilter.nf_conntrack_max'
DEFAULT_SYSCTL_FILE = '/etc/sysctl.d/90-portwarden.conf'


def write_sysctl(key, value, proc_sys=PROC_SYS):
    """Write a kernel value; a refusal by the kernel becomes a PortwardenError."""
    path = proc_path(key, proc_sys)
    try:
        with open(path, 'w') as handle:
            handle.write(value + '\n')
    except (IOError, OSError) as exc:
        if exc.errno == errno.EROFS or exc.errno == errno.EACCES or exc.errno == errno.EPERM:
            raise PortwardenError('Cannot write %s: %s is read-only here (%s). In a container, run it privileged '
                                  'or set the value on the container host.' % (key, path, exc.strerror))
        if exc.errno == errno.EINVAL:
            raise PortwardenError('The kernel refused %s = %r (invalid argument).' % (key, value))
        raise PortwardenError('Cannot write %s = %r to %s: %s.' % (key, value, path, exc.strerror or exc))


def format_range_value(prange):
    return '%d %d' % (prange.start, prange.end)


def _writable_key(key, proc_sys):
    """Raise the error a write of ``key`` would meet, before anything is written (check mode predicts it too)."""
    path = proc_path(key, proc_sys)
    if os.access(path, os.W_OK):
        return
    if normalize_key(key) == CONNTRACK_MAX_KEY:
        raise PortwardenError('Cannot write %s: %s is read-only here. The kernel lets only the initial network namespace '
                              'of the host change it (not a container or another network namespace); set it on the '
                              'container host. Nothing was changed.' % (key, path))
    raise PortwardenError('Cannot write %s: %s is read-only here. In a container, run it privileged or set the value on '
                          'the container host. Nothing was changed.' % (key, path))


class SysctlKey(object):
    """One kernel key: its runtime value and its value in a sysctl.d drop-in.

    ``parse`` turns text into a comparable value, ``fmt`` turns a value back
    into text for /proc and for the file.
    """

    def __init__(self, key, parse, fmt, proc_sys=PROC_SYS):
        self.key = key
        self.parse = parse
        self.fmt = fmt
        self.proc_sys = proc_sys

    def read(self):
        return self.parse(read_sysctl(self.key, self.proc_sys))

    def plan(self, want, persist, sysctl_file, file_text=None):
        """Everything that would change, with no side effect.

        ``file_text`` stands for the drop-in's content when another key's plan
        will have changed it first (one task that sets several keys).
        """
        have = self.read()
        plan = {'key': self.key, 'have': have, 'want': want, 'runtime_changed': have != want,
                'file': None, 'file_before': None, 'file_after': None}
        if plan['runtime_changed']:
            _writable_key(self.key, self.proc_sys)
        if persist:
            before = read_text(sysctl_file) if file_text is None else file_text
            current = file_value(before, self.key)
            try:
                same = current is not None and self.parse(current) == want
            except PortwardenError:
                same = False
            after = before if same else set_file_value(before, self.key, self.fmt(want))
            plan.update({'file': sysctl_file, 'file_before': before, 'file_after': after})
        return plan

    def write(self, value):
        write_sysctl(self.key, self.fmt(value), self.proc_sys)
        got = self.read()
        if got != value:
            raise PortwardenError('The kernel did not take %s = %s: it reads back %s.' % (self.key, self.fmt(value), self.fmt(got)))

    def runtime_diff(self, plan):
        header = '%s (runtime)' % self.key
        return {'before_header': header, 'after_header': header,
                'before': self.fmt(plan['have']) + '\n', 'after': self.fmt(plan['want']) + '\n'}


def port_range_key(proc_sys=PROC_SYS):
    return SysctlKey(RANGE_KEY, parse_range_value, format_range_value, proc_sys=proc_sys)


def reserved_ports_key(proc_sys=PROC_SYS):
    return SysctlKey(RESERVED_KEY, PortSet.parse, PortSet.format, proc_sys=proc_sys)


def _parse_int(text, source=CONNTRACK_MAX_KEY):
    if not text.strip().isdigit():
        raise PortwardenError('Cannot parse %s value %r: expected a number.' % (source, text))
    return int(text)


def conntrack_max_key(proc_sys=PROC_SYS):
    if not os.path.exists(proc_path(CONNTRACK_MAX_KEY, proc_sys)):
        raise PortwardenError('Cannot set %s: %s is absent, so connection tracking (conntrack) is not loaded on this host. '
                              'Load the kernel module nf_conntrack (modprobe nf_conntrack, and list it in '
                              '/etc/modules-load.d/ so that it is loaded at boot before the drop-in is applied), or leave '
                              'conntrack_max unset. Nothing was changed.' % (CONNTRACK_MAX_KEY, proc_path(CONNTRACK_MAX_KEY, proc_sys)))
    return SysctlKey(CONNTRACK_MAX_KEY, _parse_int, str, proc_sys=proc_sys)


# --------------------------------------------------------------------------- one task: all or nothing

class Change(object):
    """The plans of one task's keys (in the order they are written) and the drop-in they share.

    ``apply`` writes the drop-in's new content to a temp file first, then the
    kernel values, then moves the file into place. When a kernel write or the
    move fails, the kernel values already written are put back and the temp
    file removed, so the host is as it was; the error says what was tried and
    what is live.
    """

    def __init__(self, steps, sysctl_file=None):
        self.steps = steps
        files = [plan for dummy, plan in steps if plan['file']]
        self.file = sysctl_file if files else None
        self.file_before = files[0]['file_before'] if files else None
        self.file_after = files[-1]['file_after'] if files else None
        self.file_changed = bool(files) and self.file_after != self.file_before
        if self.file_changed:
            try:
                writable_directory(self.file)
                _room_for(self.file, self.file_after)
            except PortwardenError as exc:
                raise PortwardenError('%s Tried: %s. Nothing was changed.' % (exc.msg, self._tried()), path=self.file,
                                      tried=self._tried(), live='unchanged')

    @property
    def changed(self):
        return self.file_changed or any(plan['runtime_changed'] for dummy, plan in self.steps)

    def diff(self):
        diffs = [keyobj.runtime_diff(plan) for keyobj, plan in self.steps]
        if self.file:
            diffs.append({'before_header': self.file, 'after_header': self.file,
                          'before': self.file_before or '', 'after': self.file_after or ''})
        return diffs

    def _tried(self):
        tried = ['%s %s -> %s' % (k.key, k.fmt(p['have']) or '(empty)', k.fmt(p['want']) or '(empty)')
                 for k, p in self.steps if p['runtime_changed']]
        if self.file_changed:
            tried.append('write %s' % self.file)
        return '; '.join(tried)

    def apply(self):
        if not self.changed:
            return
        if self.file:
            remove_stale_temps(os.path.dirname(self.file) or '.')
        staged = None
        if self.file_changed:
            try:
                staged = StagedFile(self.file, self.file_after, os.replace, mode=_file_mode(self.file))
            except PortwardenError as exc:
                raise PortwardenError('%s Tried: %s. Nothing was changed: the kernel values and %s are as they were.'
                                      % (exc.msg, self._tried(), self.file), tried=self._tried(), live='unchanged')
        written = []
        try:
            for keyobj, plan in self.steps:
                if plan['runtime_changed']:
                    written.append((keyobj, plan))
                    keyobj.write(plan['want'])
            if staged is not None:
                staged.commit()
        except PortwardenError as exc:
            raise self._undo(exc, written)
        finally:
            if staged is not None:
                staged.abort()

    def _undo(self, exc, written):
        failed = []
        for keyobj, plan in reversed(written):
            try:
                if keyobj.read() != plan['have']:
                    keyobj.write(plan['have'])
            except PortwardenError as undo:
                failed.append('%s is live at %s, not back at %s (%s)'
                              % (keyobj.key, _live(keyobj), keyobj.fmt(plan['have']), undo.msg))
        where = (' and %s' % self.file) if self.file else ''
        if failed:
            live = 'NOT undone: %s. %s was not changed.' % ('; '.join(failed), self.file or 'No file')
        else:
            live = 'Undone: the kernel values%s are as they were before the task.' % where
        return PortwardenError('%s Tried: %s. %s' % (exc.msg, self._tried(), live), tried=self._tried(),
                               live='unchanged' if not failed else '; '.join(failed))


def _live(keyobj):
    try:
        return keyobj.fmt(keyobj.read())
    except PortwardenError:
        return 'an unreadable value'


def _room_for(path, content):
    """Refuse, before any write, a file system that has no room for the new file (a full disk)."""
    directory = os.path.dirname(path) or '.'
    try:
        fs = os.statvfs(directory)
    except OSError:
        return
    need = len(content.encode('utf-8'))
    if fs.f_bavail * fs.f_frsize < need + fs.f_frsize:
        raise PortwardenError('Cannot write %s: the file system of %s is full (%d bytes free, %d needed).'
                              % (path, directory, fs.f_bavail * fs.f_frsize, need))


def _file_mode(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o644


def _locked(what, check_mode, lock):
    """The host lock around read -> plan -> apply (none in check mode, which changes nothing)."""
    if check_mode:
        return contextlib.nullcontext()
    return lock(what) if lock is not None else HostLock(what)


# --------------------------------------------------------------------------- module backends

def _ports_dict(pset):
    return {'ports': pset.format(), 'list': pset.to_list()}


def _result(change, check_mode, warnings):
    if not check_mode:
        change.apply()
    result = {'changed': change.changed, 'warnings': warnings, 'diff': change.diff()}
    if change.file:
        result['sysctl_file'] = change.file
    return result


def _check_range(start, end, proc_sys):
    for name, value in (('start', start), ('end', end)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise PortwardenError('Invalid %s %r: ports go from 1 to 65535.' % (name, value))
    if start > end:
        raise PortwardenError('Invalid range: start %d is greater than end %d; the kernel refuses it.' % (start, end))
    unprivileged = read_unprivileged_port_start(proc_sys)
    if start < unprivileged:
        raise PortwardenError('Invalid range %d-%d: start %d is below net.ipv4.ip_unprivileged_port_start (%d); the kernel '
                              'refuses an ephemeral range that reaches into the privileged ports. Use a start of at '
                              'least %d.' % (start, end, start, unprivileged, unprivileged))


def _check_conntrack_max(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2 ** 31 - 1):
        raise PortwardenError('Invalid conntrack_max %r: expected a number of connections from 1 to 2147483647.' % (value,))


def set_ephemeral_range(start, end, persist=True, sysctl_file=None, check_mode=False, move=None,
                        listeners=None, reserve=None, conntrack_max=None, proc_sys=PROC_SYS, lock=None):
    """Plan and (unless check_mode) apply the ephemeral port range, all or nothing.

    ``listeners`` is an optional callable returning the PortSet of ports that
    something listens on, for the warning about listeners the new range covers.
    ``reserve`` (ports, optional) are added to the reservations in the same
    task, and ``conntrack_max`` sets net.netfilter.nf_conntrack_max: every key
    is planned before any is written, the drop-in is planned once for all, the
    reservations are written before the range. ``move`` is not used: the
    drop-in is moved with ``os.replace``, whose failure is an exception that
    lets the kernel values be put back (``AnsibleModule.atomic_move`` would end
    the module at once). ``lock`` makes the host lock (tests).
    """
    del move
    _check_range(start, end, proc_sys)
    _check_conntrack_max(conntrack_max)
    requested = PortSet.parse(reserve) if reserve else None
    sysctl_file = sysctl_file or DEFAULT_SYSCTL_FILE
    with _locked('portwarden.ports.ephemeral_range', check_mode, lock):
        steps = []
        text = None
        rplan = None
        if requested is not None:
            rkey = reserved_ports_key(proc_sys)
            rplan = rkey.plan(rkey.read() | requested, persist, sysctl_file)
            steps.append((rkey, rplan))
            text = rplan['file_after']
        want = PortRange(start, end)
        keyobj = port_range_key(proc_sys)
        plan = keyobj.plan(want, persist, sysctl_file, file_text=text)
        steps.append((keyobj, plan))
        cplan = None
        if conntrack_max is not None:
            ckey = conntrack_max_key(proc_sys)
            cplan = ckey.plan(conntrack_max, persist, sysctl_file, file_text=plan['file_after'])
            steps.append((ckey, cplan))
        warnings = _range_warnings(want, plan, rplan, persist, sysctl_file, listeners, proc_sys)
        if cplan is not None and persist:
            warnings.extend(boot_overrides(sysctl_file, CONNTRACK_MAX_KEY))
        result = _result(Change(steps, sysctl_file if persist else None), check_mode, warnings)
    if rplan is not None:
        result['reserved'] = {'before': _ports_dict(rplan['have']), 'after': _ports_dict(rplan['want']),
                              'added': (rplan['want'] - rplan['have']).to_list(),
                              'changed': rplan['runtime_changed'] or _file_changed(rplan)}
    if cplan is not None:
        result['conntrack_max'] = {'before': cplan['have'], 'after': cplan['want'],
                                   'changed': cplan['runtime_changed'] or _file_changed(cplan)}
    result['before'] = plan['have'].to_dict()
    result['after'] = want.to_dict()
    return result


def _file_changed(plan):
    return plan['file'] is not None and plan['file_after'] != plan['file_before']


def _range_warnings(want, plan, rplan, persist, sysctl_file, listeners, proc_sys):
    warnings = []
    if want.start % 2 == want.end % 2:
        warnings.append('The range %d-%d has bounds of the same parity; the kernel prefers different parity (an even start '
                        'and an odd end, as in the default 32768-60999) so that connect() and bind() can use alternate '
                        'halves of the range.' % (want.start, want.end))
    if persist:
        warnings.extend(boot_overrides(sysctl_file, RANGE_KEY))
        if rplan:
            warnings.extend(boot_overrides(sysctl_file, RESERVED_KEY))
    if listeners is not None and plan['runtime_changed']:
        reserved = rplan['want'] if rplan else read_reserved_ports(proc_sys)
        exposed = (listeners() & PortSet([want])) - reserved
        if exposed:
            warnings.append('The range %s covers port(s) %s that a service listens on and that are not reserved: an '
                            'outgoing connection may take them while the service is down. Reserve them with '
                            'portwarden.ports.reserved_ports (or the reserve option).' % (want, exposed.format()))
    return warnings


RESERVED_STATES = ('present', 'absent', 'exact')


def set_reserved_ports(ports, state='present', persist=True, sysctl_file=None, check_mode=False, move=None,
                       proc_sys=PROC_SYS, lock=None):
    """Plan and (unless check_mode) apply reservations, all or nothing; compares in canonical form."""
    del move
    if state not in RESERVED_STATES:
        raise PortwardenError('Invalid state %r: allowed values are %s.' % (state, ', '.join(RESERVED_STATES)))
    requested = PortSet.parse(ports)
    sysctl_file = sysctl_file or DEFAULT_SYSCTL_FILE
    with _locked('portwarden.ports.reserved_ports', check_mode, lock):
        keyobj = reserved_ports_key(proc_sys)
        have = keyobj.read()
        if state == 'present':
            want = have | requested
        elif state == 'absent':
            want = have - requested
        else:
            want = requested
        plan = keyobj.plan(want, persist, sysctl_file)
        warnings = boot_overrides(sysctl_file, RESERVED_KEY) if persist else []
        result = _result(Change([(keyobj, plan)], sysctl_file if persist else None), check_mode, warnings)
    result['before'] = _ports_dict(have)
    result['after'] = _ports_dict(want)
    result['added'] = (want - have).to_list()
    result['removed'] = (have - want).to_list()
    return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux: kernel values in /proc/sys and their persistence in sysctl.d.

Reads and writes ``/proc/sys`` directly (no ``sysctl`` binary needed), and
edits one key of a sysctl.d drop-in while keeping every other line. Knows the
order in which systemd-sysctl and ``sysctl --system`` apply files at boot, to
tell the user when a later file would override the value written here.

No Ansible I/O here: file writes go through a callback (the module's
``atomic_move``) so that the module stays the only place that talks to Ansible.
"""

from __future__ import annotations

import errno
import glob
import os
import re

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import read_text, write_file_atomic
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

PROC_SYS = '/proc/sys'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
UNPRIVILEGED_KEY = 'net.ipv4.ip_unprivileged_port_start'
DEFAULT_SYSCTL_FILE = '/etc/sysctl.d/90-portwarden.conf'

# Directories in the order of precedence that systemd-sysctl and
# `sysctl --system` use: for one file name, the first directory wins; files
# are then applied sorted by name; /etc/sysctl.conf last of all (procps).
SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')
SYSCTL_CONF = '/etc/sysctl.conf'

_LINE_RE = re.compile(r'^\s*-?\s*([A-Za-z0-9_./*-]+)\s*=\s*(.*?)\s*$')


def normalize_key(key):
    """``net/ipv4/x`` and ``net.ipv4.x`` name the same key."""
    return key.replace('/', '.')


def proc_path(key, proc_sys=PROC_SYS):
    return os.path.join(proc_sys, *normalize_key(key).split('.'))


def read_sysctl(key, proc_sys=PROC_SYS):
    """The text of /proc/sys/<key>, whitespace-trimmed."""
    path = proc_path(key, proc_sys)
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError) as exc:
        raise PortwardenError('Cannot read %s (%s): %s.' % (key, path, exc.strerror or exc))


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


def parse_range_value(text, source=RANGE_KEY):
    """``"32768\\t60999"`` -> PortRange(32768, 60999)."""
    parts = text.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise PortwardenError('Cannot parse %s value %r: expected two port numbers.' % (source, text))
    return PortRange(int(parts[0]), int(parts[1]))


def format_range_value(prange):
    return '%d %d' % (prange.start, prange.end)


def read_port_range(proc_sys=PROC_SYS):
    return parse_range_value(read_sysctl(RANGE_KEY, proc_sys))


def read_reserved_ports(proc_sys=PROC_SYS):
    return PortSet.parse(read_sysctl(RESERVED_KEY, proc_sys))


def read_unprivileged_port_start(proc_sys=PROC_SYS):
    """ip_unprivileged_port_start, or 1024 on kernels older than 4.11 that lack it."""
    try:
        return int(read_sysctl(UNPRIVILEGED_KEY, proc_sys))
    except PortwardenError:
        return 1024


# --------------------------------------------------------------------------- sysctl.d files

def file_settings(content):
    """Yield (line index, key, value) for each setting line of a sysctl file."""
    for index, line in enumerate((content or '').splitlines()):
        stripped = line.strip()
        if not stripped or stripped[0] in '#;':
            continue
        match = _LINE_RE.match(line)
        if match:
            yield index, normalize_key(match.group(1)), match.group(2)


def file_value(content, key):
    """The last value a sysctl file gives ``key`` (the one that wins), or None."""
    key = normalize_key(key)
    value = None
    for dummy, name, text in file_settings(content):
        if name == key:
            value = text
    return value


def set_file_value(content, key, value):
    """Return ``content`` with ``key`` set to ``value``.

    The first line that sets the key is rewritten in place; later lines that
    set it again are dropped (they would win otherwise); every other line is
    kept as it was. A missing key is appended. ``value=None`` removes the key.
    """
    key = normalize_key(key)
    lines = (content or '').splitlines()
    out = []
    done = False
    for index, line in enumerate(lines):
        match = _LINE_RE.match(line) if line.strip()[:1] not in ('#', ';', '') else None
        if match and normalize_key(match.group(1)) == key:
            if not done and value is not None:
                out.append('%s = %s' % (key, value))
            done = True
            continue
        out.append(line)
    if not done and value is not None:
        if not out:
            out.append('# Managed by portwarden.ports: each key is owned by the module that sets it.')
        out.append('%s = %s' % (key, value))
    return '\n'.join(out) + '\n' if out else ''


def boot_order(dirs=SYSCTL_DIRS, sysctl_conf=SYSCTL_CONF):
    """Files in the order they are applied at boot (later ones win)."""
    chosen = {}
    for directory in dirs:
        for path in glob.glob(os.path.join(directory, '*.conf')):
            chosen.setdefault(os.path.basename(path), path)
    order = [chosen[name] for name in sorted(chosen)]
    real = set(os.path.realpath(p) for p in order)
    if os.path.exists(sysctl_conf) and os.path.realpath(sysctl_conf) not in real:
        order.append(sysctl_conf)
    return order


def boot_overrides(path, key, dirs=SYSCTL_DIRS, sysctl_conf=SYSCTL_CONF):
    """Warnings about files that would defeat ``path``'s value of ``key`` at boot."""
    key = normalize_key(key)
    path = os.path.abspath(path)
    warnings = []
    name = os.path.basename(path)
    in_dirs = os.path.dirname(path) in dirs
    if in_dirs and not name.endswith('.conf'):
        warnings.append('%s is not read at boot: files in %s must end in .conf.' % (path, os.path.dirname(path)))
        return warnings
    if not in_dirs and path != sysctl_conf:
        warnings.append('%s is not in a directory that is applied at boot (%s, or %s); the value set now will not survive '
                        'a reboot unless something loads that file.' % (path, ', '.join(dirs), sysctl_conf))
        return warnings
    order = boot_order(dirs, sysctl_conf)
    if in_dirs:
        for directory in dirs:
            if directory == os.path.dirname(path):
                break
            shadow = os.path.join(directory, name)
            if os.path.exists(shadow):
                warnings.append('%s shadows %s at boot (same name in a directory of higher precedence): %s will come from '
                                'there.' % (shadow, path, key))
    try:
        position = [os.path.realpath(p) for p in order].index(os.path.realpath(path))
    except ValueError:
        position = -1
    for later in order[position + 1:]:
        value = file_value(read_text(later), key)
        if value is not None:
            warnings.append('%s sets %s = %s and is applied after %s at boot, so it overrides the value written here after '
                            'a reboot. Remove the key there or give this file a later name.' % (later, key, value, path))
    return warnings


class SysctlKey(object):
    """One kernel key: its runtime value and its value in a sysctl.d drop-in.

    ``parse`` turns text into a comparable value, ``fmt_runtime`` and
    ``fmt_file`` turn a value back into text for /proc and for the file.
    """

    def __init__(self, key, parse, fmt_runtime, fmt_file=None, proc_sys=PROC_SYS):
        self.key = key
        self.parse = parse
        self.fmt_runtime = fmt_runtime
        self.fmt_file = fmt_file or fmt_runtime
        self.proc_sys = proc_sys

    def read(self):
        return self.parse(read_sysctl(self.key, self.proc_sys))

    def plan(self, want, persist, sysctl_file, file_text=None):
        """Everything that would change, with no side effect.

        ``file_text`` stands for the drop-in's content when another key's plan
        will have changed it first (one task that sets two keys).
        """
        have = self.read()
        plan = {
            'key': self.key,
            'have': have,
            'want': want,
            'runtime_changed': have != want,
            'file': None,
            'file_changed': False,
            'file_before': None,
            'file_after': None,
        }
        if persist:
            before = read_text(sysctl_file) if file_text is None else file_text
            current = file_value(before, self.key)
            try:
                same = current is not None and self.parse(current) == want
            except PortwardenError:
                same = False
            after = before if same else set_file_value(before, self.key, self.fmt_file(want))
            plan.update({'file': sysctl_file, 'file_before': before, 'file_after': after,
                         'file_changed': after != before})
        plan['changed'] = plan['runtime_changed'] or plan['file_changed']
        return plan

    def apply(self, plan, move):
        if plan['runtime_changed']:
            write_sysctl(self.key, self.fmt_runtime(plan['want']), self.proc_sys)
            got = self.read()
            if got != plan['want']:
                raise PortwardenError('The kernel did not take %s = %s: it reads back %s.'
                                      % (self.key, self.fmt_runtime(plan['want']), self.fmt_runtime(got)))
        if plan['file_changed']:
            write_file_atomic(plan['file'], plan['file_after'], move)

    def diff(self, plan):
        diffs = [{
            'before_header': '%s (runtime)' % self.key,
            'after_header': '%s (runtime)' % self.key,
            'before': self.fmt_runtime(plan['have']) + '\n',
            'after': self.fmt_runtime(plan['want']) + '\n',
        }]
        if plan['file']:
            diffs.append(file_diff(plan['file'], plan['file_before'], plan['file_after']))
        return diffs


def file_diff(path, before, after):
    """One diff entry for a file (None stands for a missing file)."""
    return {'before_header': path, 'after_header': path, 'before': before or '', 'after': after or ''}


def port_range_key(proc_sys=PROC_SYS):
    return SysctlKey(RANGE_KEY, parse_range_value, format_range_value, proc_sys=proc_sys)


def reserved_ports_key(proc_sys=PROC_SYS):
    return SysctlKey(RESERVED_KEY, PortSet.parse, PortSet.format, proc_sys=proc_sys)


# --------------------------------------------------------------------------- module backends

def _range_dict(prange):
    return prange.to_dict()


def _ports_dict(pset):
    return {'ports': pset.format(), 'list': pset.to_list()}


def _plan_result(keyobj, plan, check_mode, move, warnings):
    if plan['changed'] and not check_mode:
        keyobj.apply(plan, move)
    result = {'changed': plan['changed'], 'warnings': warnings, 'diff': keyobj.diff(plan)}
    if plan['file']:
        result['sysctl_file'] = plan['file']
    return result


def set_ephemeral_range(start, end, persist=True, sysctl_file=DEFAULT_SYSCTL_FILE, check_mode=False, move=None,
                        listeners=None, reserve=None, proc_sys=PROC_SYS):
    """Plan and (unless check_mode) apply the ephemeral port range.

    ``listeners`` is an optional callable returning the PortSet of ports that
    something listens on, for the warning about listeners the new range covers.
    ``reserve`` (ports, optional) are added to the reservations first, in the
    same call: both keys are planned before either is written, the drop-in is
    planned once for both, and the reservations are applied before the range.
    """
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
    rkey = rplan = None
    if reserve:
        rkey = reserved_ports_key(proc_sys)
        rhave = rkey.read()
        rplan = rkey.plan(rhave | PortSet.parse(reserve), persist, sysctl_file)
    want = PortRange(start, end)
    keyobj = port_range_key(proc_sys)
    plan = keyobj.plan(want, persist, sysctl_file, file_text=rplan['file_after'] if rplan and persist else None)
    warnings = []
    if start % 2 == end % 2:
        warnings.append('The range %d-%d has bounds of the same parity; the kernel prefers different parity (an even start '
                        'and an odd end, as in the default 32768-60999) so that connect() and bind() can use alternate '
                        'halves of the range.' % (start, end))
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
    if rplan is None:
        result = _plan_result(keyobj, plan, check_mode, move, warnings)
    else:
        if not check_mode:
            if rplan['changed']:
                rkey.apply(rplan, move)
            if plan['changed']:
                keyobj.apply(plan, move)
        result = {'changed': plan['changed'] or rplan['changed'], 'warnings': warnings,
                  'diff': _two_key_diff(rkey, rplan, keyobj, plan)}
        if plan['file']:
            result['sysctl_file'] = plan['file']
        result['reserved'] = {
            'before': _ports_dict(rplan['have']),
            'after': _ports_dict(rplan['want']),
            'added': (rplan['want'] - rplan['have']).to_list(),
            'changed': rplan['changed'],
        }
    result['before'] = _range_dict(plan['have'])
    result['after'] = _range_dict(plan['want'])
    return result


def _two_key_diff(first, first_plan, second, second_plan):
    """Runtime diffs of both keys, then one diff of the drop-in from its content now to the final one."""
    diffs = [d for d in first.diff(first_plan) + second.diff(second_plan) if d['before_header'].endswith('(runtime)')]
    if second_plan['file']:
        diffs.append(file_diff(second_plan['file'], first_plan['file_before'], second_plan['file_after']))
    return diffs


RESERVED_STATES = ('present', 'absent', 'exact')


def set_reserved_ports(ports, state='present', persist=True, sysctl_file=DEFAULT_SYSCTL_FILE, check_mode=False, move=None,
                       proc_sys=PROC_SYS):
    """Plan and (unless check_mode) apply reservations; compares in canonical form."""
    if state not in RESERVED_STATES:
        raise PortwardenError('Invalid state %r: allowed values are %s.' % (state, ', '.join(RESERVED_STATES)))
    requested = PortSet.parse(ports)
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
    result = _plan_result(keyobj, plan, check_mode, move, warnings)
    result['before'] = _ports_dict(have)
    result['after'] = _ports_dict(want)
    result['added'] = (want - have).to_list()
    result['removed'] = (have - want).to_list()
    return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""FreeBSD and macOS: the ``net.inet.ip.portrange.*`` sysctls and /etc/sysctl.conf.

Both kernels hand out ephemeral ports from ``net.inet.ip.portrange.first`` ..
``last`` (the default range, for TCP and UDP over IPv4 and IPv6 alike) and,
for sockets that ask for it with ``IP_PORTRANGE_HIGH``, from ``hifirst`` ..
``hilast`` (the high range). Neither has a per-port reservation.

Values are read with ``sysctl -n KEY`` and set with ``sysctl KEY=VALUE``;
the persistent values live in /etc/sysctl.conf, in the ``key=value`` form
(no blanks: FreeBSD's rc.d/sysctl splits each line at the first blank),
written atomically, changing only this module's keys and keeping every other
line. No Ansible I/O here: commands go through ``run(argv) -> (rc, out, err)``
and file writes through ``move(tmp, dest)`` (the module's atomic_move).
A change holds the host lock (hostlock.py) from the first read to the last
write. The socket tables and the port_info report are in bsd_report.py.
"""

from __future__ import annotations

import contextlib
import re

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet, suggest_range
from ansible_collections.portwarden.ports.plugins.module_utils import fileio
from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import DEFAULT_TIMEOUT, HostLock

SYSCTL_CONF = '/etc/sysctl.conf'
PREFIX = 'net.inet.ip.portrange.'
PAIRS = {
    'default': (PREFIX + 'first', PREFIX + 'last'),
    'high': (PREFIX + 'hifirst', PREFIX + 'hilast'),
}
PORTRANGE_CHOICES = ('default', 'high', 'both')
# IPPORT_RESERVED: both kernels refuse (or clamp) first/last/hifirst/hilast below it;
# the ports under it belong to the low range (lowfirst/lowlast) for privileged sockets.
MIN_START = 1024
# Neither system has /run; both keep runtime state in /var/run.
LOCK_DIR = '/var/run/portwarden'


def os_name(system):
    return 'macOS' if system == 'Darwin' else system


def pairs_for(portrange):
    if portrange not in PORTRANGE_CHOICES:
        raise PortwardenError('Invalid bsd_portrange %r: allowed values are %s.' % (portrange, ', '.join(PORTRANGE_CHOICES)))
    return ['default', 'high'] if portrange == 'both' else [portrange]


class Sysctl(object):
    """``sysctl`` through ``run(argv)``."""

    def __init__(self, run, binary='sysctl'):
        self.run = run
        self.binary = binary

    def get(self, key, required=True):
        rc, out, err = self.run([self.binary, '-n', key])
        value = (out or '').strip()
        if rc != 0 or not value.lstrip('-').isdigit():
            if not required:
                return None
            said = (err or out or '').strip() or 'no value'
            raise PortwardenError('Cannot read %s with "%s -n %s" (rc=%s): %s' % (key, self.binary, key, rc, said))
        return int(value)

    def set(self, key, value):
        argv = [self.binary, '%s=%d' % (key, value)]
        rc, out, err = self.run(argv)
        if rc != 0:
            raise PortwardenError('"%s" failed (rc=%s): %s. Setting a sysctl needs root (become: true); in a jail '
                                  'the host must allow it.' % (' '.join(argv), rc, (err or out or '').strip()))

    def range(self, pair, required=True):
        first, last = PAIRS[pair]
        start = self.get(first, required)
        end = self.get(last, required)
        if start is None or end is None:
            return None
        if not 1 <= start <= end <= 65535:
            raise PortwardenError('%s=%d and %s=%d do not form a port range.' % (first, start, last, end))
        return PortRange(start, end)


# --------------------------------------------------------------------------- /etc/sysctl.conf

_CONF_LINE = re.compile(r'^\s*([A-Za-z0-9_.]+)\s*=\s*(\S*)')


def conf_value(content, key):
    """The last value /etc/sysctl.conf gives ``key`` (the one applied last), or None."""
    value = None
    for line in (content or '').splitlines():
        if line.strip().startswith('#'):
            continue
        match = _CONF_LINE.match(line)
        if match and match.group(1) == key:
            value = match.group(2)
    return value


def set_conf_values(content, values):
    """``content`` with each key of ``values`` set; other lines untouched.

    The first line of a key is rewritten in place as ``key=value`` (keeping a
    trailing comment), later lines of the same key are dropped (they would win
    at boot), missing keys are appended.
    """
    lines = (content or '').splitlines()
    out = []
    done = set()
    for line in lines:
        match = None if line.strip().startswith('#') else _CONF_LINE.match(line)
        if match and match.group(1) in values:
            key = match.group(1)
            if key not in done:
                comment = line[line.index('#'):] if '#' in line else ''
                out.append(('%s=%d' % (key, values[key])) + ((' ' + comment) if comment else ''))
                done.add(key)
            continue
        out.append(line)
    for key in sorted(values, key=list(values).index):
        if key not in done:
            out.append('%s=%d' % (key, values[key]))
    return '\n'.join(out) + '\n'


def _conf_int(text):
    text = (text or '').strip()
    return int(text) if text.isdigit() else None


# --------------------------------------------------------------------------- ephemeral range

def validate_range(start, end):
    for name, value in (('start', start), ('end', end)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise PortwardenError('Invalid %s %r: ports go from 1 to 65535.' % (name, value))
    if start > end:
        raise PortwardenError('Invalid range: start %d is greater than end %d.' % (start, end))
    if start < MIN_START:
        raise PortwardenError('Invalid range %d-%d: FreeBSD and macOS do not take an ephemeral range below %d '
                              '(IPPORT_RESERVED; the ports under it are the low range, net.inet.ip.portrange.lowfirst/'
                              'lowlast, for privileged sockets). Use a start of at least %d.' % (start, end, MIN_START, MIN_START))
    return PortRange(start, end)


def _set_order(have, want, first, last):
    """Keys to write, in an order that keeps first <= last after every step."""
    steps = []
    if want.start > have.end:
        steps = [(last, want.end), (first, want.start)]
    else:
        steps = [(first, want.start), (last, want.end)]
    return [(key, value) for key, value in steps if value != (have.start if key == first else have.end)]


def set_ephemeral_range(run, start, end, portrange='default', persist=True, sysctl_file=SYSCTL_CONF, check_mode=False,
                        move=None, sysctl='sysctl', read_file=fileio.read_text, reserve=None, system='FreeBSD',
                        lock_dir=None, lock_timeout=DEFAULT_TIMEOUT):
    """Plan and (unless check_mode) apply first/last (and/or hifirst/hilast), runtime and persisted.

    ``reserve``: there is no per-port reservation here, so ports to keep out of
    the range must lie outside the new range; the task fails before it changes
    anything when one does not. Outside check mode the host lock is held from
    the first read to the last write.
    """
    want = validate_range(start, end)
    name = os_name(system)
    kept_out = PortSet.parse(reserve or [])
    inside = kept_out & PortSet([want])
    if inside:
        raise PortwardenError('%s has no per-port reservation, so reserve=%s cannot be kept out of the range %s by '
                              'reserving: port(s) %s lie inside it. Choose a range that excludes them, or move the '
                              'service.' % (name, kept_out.format(), want, inside.format()), ports=inside.format())
    selected = pairs_for(portrange)
    lock = contextlib.nullcontext()
    if not check_mode:
        lock = HostLock('ephemeral_range', directory=lock_dir or LOCK_DIR, timeout=lock_timeout)
    with lock:
        ctl = Sysctl(run, sysctl)
        have = {}
        for pair in selected:
            found = ctl.range(pair, required=False)
            if found is None:
                raise PortwardenError('This kernel has no %s/%s (bsd_portrange=%s); use bsd_portrange=default.'
                                      % (PAIRS[pair][0], PAIRS[pair][1], pair))
            have[pair] = found
        steps = []
        for pair in selected:
            steps.extend(_set_order(have[pair], want, *PAIRS[pair]))
        file_before = file_after = None
        if persist:
            file_before = read_file(sysctl_file)
            values = {}
            for pair in selected:
                for key, value in zip(PAIRS[pair], (want.start, want.end)):
                    if _conf_int(conf_value(file_before, key)) != value:
                        values[key] = value
            file_after = set_conf_values(file_before, values) if values else file_before
        file_changed = persist and file_after != file_before
        changed = bool(steps) or file_changed
        if changed and not check_mode:
            for key, value in steps:
                ctl.set(key, value)
            for pair in selected:
                got = ctl.range(pair)
                if got != want:
                    raise PortwardenError('The kernel did not take %s/%s = %d/%d: it reads back %d/%d.'
                                          % (PAIRS[pair][0], PAIRS[pair][1], want.start, want.end, got.start, got.end))
            if file_changed:
                fileio.write_file_atomic(sysctl_file, file_after, move)
    diff = [{
        'before_header': '%s (runtime)' % PREFIX + '*',
        'after_header': '%s (runtime)' % PREFIX + '*',
        'before': ''.join('%s=%d\n%s=%d\n' % (PAIRS[p][0], have[p].start, PAIRS[p][1], have[p].end) for p in selected),
        'after': ''.join('%s=%d\n%s=%d\n' % (PAIRS[p][0], want.start, PAIRS[p][1], want.end) for p in selected),
    }]
    if persist:
        diff.append({'before_header': sysctl_file, 'after_header': sysctl_file, 'before': file_before or '',
                     'after': file_after or ''})
    result = {
        'changed': changed,
        'before': have[selected[0]].to_dict(),
        'after': want.to_dict(),
        'ranges': dict((p, {'before': have[p].to_dict(), 'after': want.to_dict()}) for p in selected),
        'warnings': [],
        'diff': diff,
    }
    if kept_out:
        result['warnings'].append('%s has no per-port reservation; %s lie outside the range %s, so the kernel never hands '
                                  'them out: nothing to reserve.' % (name, kept_out.format(), want))
    if persist:
        result['sysctl_file'] = sysctl_file
    return result


# --------------------------------------------------------------------------- reserved ports

def reserved_ports(run, ports, state='present', sysctl='sysctl', system='FreeBSD'):
    """There is nothing to reserve on these kernels: succeed when nothing is at stake, else fail with the remedy."""
    requested = PortSet.parse(ports)
    name = os_name(system)
    result = {'changed': False, 'before': PortSet().to_dict(), 'after': PortSet().to_dict(), 'added': [], 'removed': [],
              'diff': None}
    if state == 'absent' or not requested:
        result['warnings'] = ['%s has no per-port reservation, so no port is reserved: nothing to release.' % name]
        return result
    ctl = Sysctl(run, sysctl)
    default = ctl.range('default')
    high = ctl.range('high', required=False)
    ranges = PortSet([default] + ([high] if high else []))
    inside = requested & ranges
    shown = '%d-%d' % (default.start, default.end) + ((' and %d-%d (hifirst-hilast)' % (high.start, high.end)) if high else '')
    if not inside:
        result['warnings'] = ['%s has no per-port reservation; %s lie outside its ephemeral port ranges (%s), so the '
                              'kernel never hands them out: nothing to do.' % (name, requested.format(), shown)]
        return result
    suggestion = suggest_range(default, inside)
    if suggestion is None:
        move = 'no part of the range %d-%d is free of them' % (default.start, default.end)
    else:
        move = ('portwarden.ports.ephemeral_range with start: %d and end: %d (%d ports instead of %d)'
                % (suggestion.start, suggestion.end, suggestion.size, default.size))
    raise PortwardenError('FreeBSD/macOS have no per-port reservation (nothing like Linux\'s ip_local_reserved_ports or '
                          'Windows\' excluded port ranges), and port(s) %s lie inside the ephemeral port range %s of this '
                          '%s host, so an outgoing connection can take them. Remedy: move the ephemeral range so that it '
                          'excludes them - %s - or move the service to a port outside the range.'
                          % (inside.format(), shown, name, move), ports=inside.format())

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux kernel values read from /proc/sys: nothing here writes.

The read side of linux.py, on its own so that a task that only reads
(port_info) carries no write-side code (staged files, the host lock, sysctl.d
editing) in its payload. linux.py builds its writes on these reads.
"""

from __future__ import annotations

import os

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

PROC_SYS = '/proc/sys'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
UNPRIVILEGED_KEY = 'net.ipv4.ip_unprivileged_port_start'


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


def parse_range_value(text, source=RANGE_KEY):
    """``"32768\\t60999"`` -> PortRange(32768, 60999)."""
    parts = text.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise PortwardenError('Cannot parse %s value %r: expected two port numbers.' % (source, text))
    return PortRange(int(parts[0]), int(parts[1]))


def read_port_range(proc_sys=PROC_SYS):
    return parse_range_value(read_sysctl(RANGE_KEY, proc_sys))


def read_reserved_ports(proc_sys=PROC_SYS):
    return PortSet.parse(read_sysctl(RESERVED_KEY, proc_sys))


def read_flag(key, proc_sys=PROC_SYS):
    """An integer sysctl, or None when the kernel has no such key."""
    try:
        value = read_sysctl(key, proc_sys)
    except PortwardenError:
        return None
    return int(value) if value.isdigit() else None


def read_unprivileged_port_start(proc_sys=PROC_SYS):
    """ip_unprivileged_port_start, or 1024 on kernels older than 4.11 that lack it."""
    try:
        return int(read_sysctl(UNPRIVILEGED_KEY, proc_sys))
    except PortwardenError:
        return 1024

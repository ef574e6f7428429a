# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The conntrack table of a Linux network namespace: how full it is, what it dropped.

A full table (``nf_conntrack: table full, dropping packet``) drops new
connections of every service. :func:`read_conntrack` reads it under ``proc``;
conflicts.conntrack_conflicts makes port_info's ``conntrack_near_full`` of it.
"""

from __future__ import annotations

import os

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileread import read_text

PROC = '/proc'
COUNT = 'sys/net/netfilter/nf_conntrack_count'
MAX = 'sys/net/netfilter/nf_conntrack_max'
BUCKETS = 'sys/net/netfilter/nf_conntrack_buckets'
STAT = 'net/stat/nf_conntrack'
# Per-CPU counters of /proc/net/stat/nf_conntrack summed in the report.
# ("entries", its first column, is the table-wide count repeated per CPU.)
SUMMED = ('drop', 'early_drop', 'insert_failed')


def parse_stat(text, path=STAT):
    """Sum the :data:`SUMMED` columns of ``/proc/net/stat/nf_conntrack`` over every CPU row.

    The header line names the columns (their set and order differ between
    kernels); every value is hexadecimal. A column the kernel does not have
    is None.
    """
    lines = [line.split() for line in (text or '').splitlines() if line.strip()]
    if not lines:
        raise PortwardenError('Cannot parse %s: the file is empty.' % path)
    header = lines[0]
    totals = dict((name, 0 if name in header else None) for name in SUMMED)
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            raise PortwardenError('Cannot parse %s line %d: %d values for %d columns (%s).'
                                  % (path, number, len(row), len(header), ' '.join(header)))
        for name in SUMMED:
            if totals[name] is None:
                continue
            try:
                totals[name] += int(row[header.index(name)], 16)
            except ValueError:
                raise PortwardenError('Cannot parse %s line %d: %s is %r, expected a hexadecimal number.'
                                      % (path, number, name, row[header.index(name)]))
    return totals


def _read_int(proc, name):
    text = read_text(os.path.join(proc, name))
    if text is None:
        return None
    text = text.strip()
    if not text.isdigit():
        raise PortwardenError('Cannot parse %s: %r is not a whole number.' % (os.path.join(proc, name), text))
    return int(text)


def read_conntrack(proc=PROC):
    """``usage.conntrack``: entries, max, percent, drop, early_drop, insert_failed; None without conntrack.

    The files exist only once the nf_conntrack module is loaded (a stateful
    firewall rule such as ``ct state established,related accept`` loads it).
    """
    entries = _read_int(proc, COUNT)
    if entries is None:
        return None
    limit = _read_int(proc, MAX)
    stat_path = os.path.join(proc, STAT)
    stat = read_text(stat_path)
    totals = parse_stat(stat, stat_path) if stat is not None else dict((name, None) for name in SUMMED)
    result = {
        'entries': entries,
        'max': limit,
        'percent': round(100.0 * entries / limit, 2) if limit else None,
        'buckets': _read_int(proc, BUCKETS),
    }
    result.update(totals)
    return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The port_metrics collector: port_info's report as Prometheus textfile metrics.

The portwarden.ports.port_metrics role copies this collection's module_utils
onto the host and runs :func:`main` from a systemd timer, so the metrics come
from exactly the code port_info runs (:func:`portinfo.gather`). The text is
written atomically into node_exporter's textfile directory.

The firewall metrics come from the host_firewall table (``inet portwarden``),
read as port_info reads it (nft_dynamic): each named drop counter is
``portwarden_firewall_drops_total{reason="<reason>"}`` and the sources in the
ban sets are ``portwarden_banned_sources``. Neither is emitted without nft or
without the table.
Pure apart from :func:`read_firewall` and :func:`main`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import read_text, remove_stale_temps, write_file_atomic
from ansible_collections.portwarden.ports.plugins.module_utils import conflicts, nft_dynamic, portinfo
from ansible_collections.portwarden.ports.plugins.module_utils.report import CONFLICT_ORDER

FILE_NAME = 'portwarden.prom'
NFT_PATHS = ('/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft')
CONFIG_KEYS = ('services', 'top', 'conntrack_warn_percent', 'textfile_dir')


def _escape(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _number(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(int(value))


class Exposition(object):
    """Prometheus text format: one HELP and TYPE block per metric name, in order of first use."""

    def __init__(self):
        self.order = []
        self.blocks = {}

    def add(self, name, kind, text, value, labels=None):
        if name not in self.blocks:
            self.order.append(name)
            self.blocks[name] = ['# HELP %s %s' % (name, text), '# TYPE %s %s' % (name, kind)]
        label_text = ''
        if labels:
            label_text = '{%s}' % ','.join('%s="%s"' % (key, _escape(val)) for key, val in sorted(labels.items()))
        self.blocks[name].append('%s%s %s' % (name, label_text, _number(value)))

    def text(self):
        return ''.join('\n'.join(self.blocks[name]) + '\n' for name in self.order)


def destination(item):
    """``ADDR:PORT``, with an IPv6 address in brackets."""
    address = item['address']
    return '[%s]:%d' % (address, item['port']) if ':' in address else '%s:%d' % (address, item['port'])


def read_firewall(run=None, nft=None):
    """The host_firewall table's drops by reason (its named counters) and the number of banned sources.

    Read with nft_dynamic (the two ban sets and the counters, never the whole table, which can hold 100,000
    sources); (None, None) without nft or without the table.
    """
    nft = nft or next((path for path in NFT_PATHS if os.access(path, os.X_OK)), None)
    if nft is None:
        return None, None
    state = nft_dynamic.DynamicState(run or _run, nft).audit()
    if state['counters'] is None:
        return None, None
    drops = dict((reason, value['packets']) for reason, value in state['counters'].items())
    return (drops or None), len(state['banned'] or [])


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def render(report, drops=None, banned=None, success=True, now=None):
    """The exposition text for one collector run (``report`` None: only the collector's own metrics)."""
    out = Exposition()
    if report is not None:
        erange = report['ephemeral_range']
        usage = report['usage']
        out.add('portwarden_ephemeral_range_start', 'gauge', 'First port of the ephemeral port range.', erange['start'])
        out.add('portwarden_ephemeral_range_end', 'gauge', 'Last port of the ephemeral port range (inclusive).', erange['end'])
        out.add('portwarden_ephemeral_ports_in_use', 'gauge',
                'Distinct usable ports of the ephemeral range held by a socket (as port_info usage.ports_in_use).',
                usage['ports_in_use'])
        out.add('portwarden_ephemeral_utilization_ratio', 'gauge',
                'Ports in use as a fraction of the usable ports of the ephemeral range (0-1).',
                round(float(usage['ports_in_use']) / usage['usable_ports'], 6) if usage['usable_ports'] else 0.0)
        for item in usage['busiest']:
            out.add('portwarden_destination_ports_in_use', 'gauge',
                    'Ephemeral ports in use toward one remote address and port (the busiest, port_metrics_top of them).',
                    item['ports_in_use'], {'destination': destination(item)})
        out.add('portwarden_time_wait_sockets', 'gauge', 'TCP sockets of the ephemeral range in TIME_WAIT.', usage['time_wait'])
        counts = dict((kind, 0) for kind in CONFLICT_ORDER)
        for conflict in report['conflicts']:
            counts[conflict['type']] = counts.get(conflict['type'], 0) + 1
        for kind in sorted(counts):
            out.add('portwarden_conflicts', 'gauge', 'Conflicts port_info reports, by type (0 when none).', counts[kind],
                    {'type': kind})
        table = usage.get('conntrack')
        if table is not None:
            out.add('portwarden_conntrack_entries', 'gauge', 'Entries in the conntrack table (nf_conntrack_count).',
                    table['entries'])
            if table['max'] is not None:
                out.add('portwarden_conntrack_max', 'gauge', 'Size limit of the conntrack table (nf_conntrack_max).',
                        table['max'])
    for reason in sorted(drops or {}):
        out.add('portwarden_firewall_drops_total', 'counter',
                'Packets dropped by the portwarden firewall, by reason (the named counters of its table).',
                drops[reason], {'reason': reason})
    if banned is not None:
        out.add('portwarden_banned_sources', 'gauge', 'Source addresses the portwarden firewall bans now.', banned)
    out.add('portwarden_collector_success', 'gauge', '1 when the last collector run read everything, else 0.', bool(success))
    out.add('portwarden_collector_timestamp_seconds', 'gauge', 'Unix time of the last collector run.',
            int(time.time() if now is None else now))
    return out.text()


def load_config(path):
    """The collector's JSON configuration (written by the role), checked: unknown keys and bad values fail."""
    text = read_text(path)
    if text is None:
        raise PortwardenError('Configuration %s does not exist.' % path)
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise PortwardenError('Configuration %s is not JSON: %s.' % (path, exc))
    if not isinstance(config, dict):
        raise PortwardenError('Configuration %s: expected a JSON object with %s.' % (path, ', '.join(CONFIG_KEYS)))
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise PortwardenError('Configuration %s: unknown key(s) %s; allowed: %s.' % (path, ', '.join(unknown), ', '.join(CONFIG_KEYS)))
    config.setdefault('services', None)
    config.setdefault('top', 10)
    config.setdefault('conntrack_warn_percent', conflicts.DEFAULT_WARN_PERCENT)
    directory = config.get('textfile_dir')
    if not isinstance(directory, str) or not os.path.isabs(directory):
        raise PortwardenError('Configuration %s: textfile_dir %r must be an absolute path.' % (path, directory))
    conflicts.check_warn_percent(config['conntrack_warn_percent'])
    top = config['top']
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise PortwardenError('Configuration %s: top %r must be a whole number, 0 or more.' % (path, top))
    normalize_services(config['services'])
    return config


def collect(config, gather=None, firewall=None, now=None):
    """(text, errors): the metrics of one run; a part that fails is left out and named in ``errors``."""
    gather = gather or portinfo.gather
    firewall = firewall or read_firewall
    errors = []
    report = drops = banned = None
    try:
        report = gather(services=config['services'], top=config['top'],
                        conntrack_warn_percent=config['conntrack_warn_percent'])
    except PortwardenError as exc:
        errors.append('port_info: %s' % exc)
    try:
        drops, banned = firewall()
    except PortwardenError as exc:
        errors.append('firewall: %s' % exc)
    return render(report, drops, banned, success=not errors, now=now), errors


def main(argv=None, gather=None, firewall=None):
    """``portwarden-metrics --config FILE [--check-config]``: write FILE_NAME into the textfile directory."""
    argv = list(sys.argv[1:] if argv is None else argv)
    check_only = '--check-config' in argv
    argv = [arg for arg in argv if arg != '--check-config']
    if len(argv) != 2 or argv[0] != '--config':
        sys.stderr.write('usage: portwarden-metrics --config FILE [--check-config]\n')
        return 2
    try:
        config = load_config(argv[1])
        if check_only:
            return 0
        text, errors = collect(config, gather=gather, firewall=firewall)
        remove_stale_temps(config['textfile_dir'])
        write_file_atomic(os.path.join(config['textfile_dir'], FILE_NAME), text, move=os.replace, mode=0o644)
    except PortwardenError as exc:
        sys.stderr.write('portwarden-metrics: %s\n' % exc)
        return 1
    for error in errors:
        sys.stderr.write('portwarden-metrics: %s\n' % error)
    return 1 if errors else 0

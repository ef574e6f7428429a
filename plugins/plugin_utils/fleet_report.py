# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report: port_info results of many hosts -> one report model, and the merge of several runs.

Controller side only (used by the ``fleet_report`` action plugin). Pure
functions: :func:`build_model` turns ``{host: port_info result}`` into one
report model (summary rows, per-host facts and the geometry of each host's
port-space picture, fleet_report_picture.py); :func:`load_report` reads the
``report.json`` of an earlier run and :func:`merge_runs` folds several runs
into the input of one model (a host present in several keeps its newest
result, and says so); :func:`render` turns the model into the files' text
(fleet_report_html.py: the HTML page and the Markdown file, with the
templates in ``templates/`` next to this file).
"""

from __future__ import annotations

import datetime
import json
import re

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report_html
from ansible_collections.portwarden.ports.plugins.plugin_utils.gc_pause import cyclic_gc_paused
from ansible_collections.portwarden.ports.plugins.plugin_utils.fleet_report_picture import host_picture

FORMATS = ('json', 'md', 'html', 'txt')
FILE_NAMES = {'json': 'report.json', 'md': 'report.md', 'html': 'report.html', 'txt': 'summary.txt'}
GENERATOR = 'portwarden.ports.fleet_report'

# Types of port_info conflicts. The first two endanger a service (red); the
# other two are drift between the catalogue and the host (amber).
CONFLICT_TYPES = ('listener_in_range', 'service_in_range', 'service_port_held', 'conntrack_near_full')
DRIFT_TYPES = ('service_not_listening', 'listener_not_declared')

# What a host of report.json keeps of its port_info result (enough to build the host again in a merge).
PORT_INFO_KEYS = ('ephemeral_range', 'unprivileged_port_start', 'reserved_ports', 'listeners', 'conflicts', 'usage',
                  'firewall')
NO_RESULT = 'no port_info result: the host was unreachable or failed before the audit'


def _plain(value):
    """Plain JSON-able Python values (drops Ansible's tagged subclasses)."""
    if isinstance(value, dict):
        return dict((to_text(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return to_text(value)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace('+00:00', 'Z')


def _slug(name, used):
    base = re.sub(r'[^a-z0-9]+', '-', to_text(name).lower()).strip('-') or 'host'
    slug = 'host-' + base
    n = 2
    while slug in used:
        slug = 'host-%s-%d' % (base, n)
        n += 1
    used.add(slug)
    return slug


def host_entry(name, result, slug):
    """One host of the report from its port_info result (or why there is none)."""
    entry = {'name': name, 'id': slug}
    if not isinstance(result, dict) or result.get('failed') or result.get('unreachable') or result.get('skipped') \
            or 'ephemeral_range' not in result:
        reason = None
        if isinstance(result, dict):
            reason = result.get('msg')
        entry.update(status='no-data', error=reason or NO_RESULT,
                     port_info=None)
        return entry

    erange = result['ephemeral_range']
    try:
        reserved = PortSet.parse(result.get('reserved_ports', {}).get('ports') or '')
        range_set = PortSet([PortRange(erange['start'], erange['end'])])
    except PortwardenError as exc:
        raise PortwardenError('host %s: the port_info result is not valid: %s' % (name, exc.msg))
    conflicts = [c for c in result.get('conflicts', []) if c.get('type') in CONFLICT_TYPES]
    drift = [c for c in result.get('conflicts', []) if c.get('type') in DRIFT_TYPES]
    conflict_ports = set()
    for conflict in conflicts:
        if conflict['type'] == 'listener_in_range':
            conflict_ports.add(int(conflict['port']))
        elif conflict.get('ports') or conflict.get('port'):  # conntrack_near_full has no port
            for item in PortSet.parse(conflict.get('ports') or conflict.get('port')).ranges:
                if item.size <= 64:
                    conflict_ports.update(range(item.start, item.end + 1))
                else:
                    conflict_ports.update((item.start, item.end))
    usage = result.get('usage') or {}
    busiest = (usage.get('busiest') or [None])[0]
    headroom = busiest['headroom_rate'] if busiest else usage.get('sustainable_rate')
    listeners = result.get('listeners', [])
    in_range_listeners = [item for item in listeners if erange['start'] <= item['port'] <= erange['end']]

    firewall = firewall_entry(result.get('firewall'))
    if conflicts:
        status = 'conflict'
    elif drift:
        status = 'drift'
    else:
        status = 'ok'
    entry.update({
        'status': status,
        'range': {'start': erange['start'], 'end': erange['end'], 'size': erange.get('size', range_set.size)},
        'range_text': '%d-%d' % (erange['start'], erange['end']),
        'unprivileged_port_start': result.get('unprivileged_port_start'),
        'reserved': {'ports': reserved.format(), 'count': reserved.size, 'in_range': (reserved & range_set).size},
        'listeners': listeners,
        'listeners_in_range': len(in_range_listeners),
        'conflicts': conflicts,
        'drift': drift,
        'usage': usage,
        'busiest': busiest,
        'busiest_endpoint': fleet_report_html.endpoint(busiest['address'], busiest['port']) if busiest else None,
        'busiest_detail': ('%s ports, %s%% of the range' % ('{:,}'.format(busiest['ports_in_use']), busiest['utilization_percent'])
                           if busiest else None),
        'busiest_text': ('%s (%s ports, %s%%)' % (
            fleet_report_html.endpoint(busiest['address'], busiest['port']), '{:,}'.format(busiest['ports_in_use']),
            busiest['utilization_percent']) if busiest else '-'),
        'headroom_rate': headroom,
        'headroom_text': fleet_report_html.rate_text(headroom),
        'utilization_percent': usage.get('utilization_percent', 0.0),
        'firewall': firewall,
        'picture': host_picture(entry_range(erange), reserved, listeners, conflict_ports),
        'port_info': dict((k, v) for k, v in result.items() if k in PORT_INFO_KEYS),
    })
    return entry


def firewall_entry(firewall):
    """The report's view of port_info's ``firewall``: manager names, the two-filters warning, bans and drops."""
    firewall = firewall if isinstance(firewall, dict) else {}
    names = [m.get('name') for m in firewall.get('managers') or [] if isinstance(m, dict) and m.get('name')]
    backend = firewall.get('backend')
    others = [n for n in names if n != backend]
    counters = firewall.get('counters') if isinstance(firewall.get('counters'), dict) else None
    banned = firewall.get('banned') if isinstance(firewall.get('banned'), list) else None
    drops = sum(int(c.get('packets', 0)) for c in counters.values() if isinstance(c, dict)) if counters else None
    text = '%s%s' % (backend or 'none', ' (+%s)' % ', '.join(others) if others else '') if firewall else '-'
    return {'backend': backend, 'managers': names, 'warning': firewall.get('warning'), 'text': text,
            'banned': banned or [], 'banned_count': None if banned is None else len(banned),
            'counters': counters or {}, 'drops': drops}


def entry_range(erange):
    return {'start': erange['start'], 'end': erange['end'],
            'size': erange.get('size', erange['end'] - erange['start'] + 1)}


def build_model(results, title='Port space of the fleet', generated=None, provenance=None, inputs=None):
    """The report model from ``{host: port_info result}``.

    ``provenance`` (from :func:`merge_runs`) says, per host, when its result
    was collected, from which report it came and which older results it
    replaced; a host without it was collected by this run (at ``generated``).
    ``inputs`` lists the reports merged in.
    """
    if not isinstance(results, dict):
        raise PortwardenError('hosts must be a dictionary of host name -> port_info result, got %s.'
                              % type(results).__name__)
    results = _plain(results)
    provenance = provenance or {}
    if generated is None:
        generated = now_utc()
    used = set()
    hosts = []
    for name in sorted(results):
        entry = host_entry(name, results[name], _slug(name, used))
        origin = provenance.get(name) or {}
        entry['collected'] = origin.get('collected') or generated
        entry['source'] = origin.get('source')
        entry['superseded'] = origin.get('superseded') or []
        hosts.append(entry)
    with_data = [h for h in hosts if h['status'] != 'no-data']
    lowest = None
    for host in with_data:
        if host['headroom_rate'] is not None and (lowest is None or host['headroom_rate'] < lowest['headroom_rate']):
            lowest = host
    fleet = {
        'hosts': len(hosts),
        'ok': sum(1 for h in hosts if h['status'] == 'ok'),
        'drift': sum(1 for h in hosts if h['status'] == 'drift'),
        'conflict': sum(1 for h in hosts if h['status'] == 'conflict'),
        'no_data': sum(1 for h in hosts if h['status'] == 'no-data'),
        'conflicts': sum(len(h['conflicts']) for h in with_data),
        'drift_findings': sum(len(h['drift']) for h in with_data),
        'reserved_ports': sum(h['reserved']['count'] for h in with_data),
        'listeners': sum(len(h['listeners']) for h in with_data),
        'ranges': sorted(set(h['range_text'] for h in with_data)),
        'lowest_headroom': ({'host': lowest['name'], 'rate': lowest['headroom_rate'], 'text': lowest['headroom_text'],
                             'destination': lowest['busiest_text']} if lowest else None),
        'merged': list(inputs or []),
        'superseded': sum(1 for h in hosts if h['superseded']),
        'banned_sources': sum(h['firewall']['banned_count'] or 0 for h in with_data),
        'firewall_drops': sum(h['firewall']['drops'] or 0 for h in with_data),
        'two_filters': sorted(h['name'] for h in with_data if h['firewall']['warning']),
    }
    return {'title': to_text(title), 'generated': generated, 'generator': GENERATOR, 'fleet': fleet, 'hosts': hosts}


# -- several runs -> one report ------------------------------------------------------------------------------------
def _when(text, where):
    try:
        return datetime.datetime.strptime(to_text(text), '%Y-%m-%dT%H:%M:%SZ')
    except (TypeError, ValueError):
        raise PortwardenError('%s: the time %r is not a UTC time like 2026-01-02T03:04:05Z.' % (where, text))


def load_report(path):
    """``(generated, {host: (port_info result or failure, collected, superseded)})`` of an earlier report.json."""
    try:
        with open(path, 'rb') as handle:
            document = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError) as exc:
        raise PortwardenError('merge: cannot read %s: %s' % (path, to_native(exc)))
    except ValueError as exc:
        raise PortwardenError('merge: %s is not JSON (%s); expected the report.json of a fleet_report run.'
                              % (path, to_native(exc)))
    if not isinstance(document, dict) or document.get('generator') != GENERATOR or not isinstance(document.get('hosts'), list):
        raise PortwardenError('merge: %s is not the report.json of a fleet_report run (no generator %r and hosts list).'
                              % (path, GENERATOR))
    generated = document.get('generated')
    _when(generated, 'merge: %s' % path)
    hosts = {}
    for host in document['hosts']:
        name = host.get('name') if isinstance(host, dict) else None
        if not name:
            raise PortwardenError('merge: %s has a host without a name.' % path)
        if host.get('status') == 'no-data':
            result = {'failed': True, 'msg': host.get('error') or NO_RESULT}
        elif isinstance(host.get('port_info'), dict):
            result = host['port_info']
        else:
            raise PortwardenError('merge: host %s in %s has neither a port_info result nor an error.' % (name, path))
        collected = host.get('collected') or generated
        _when(collected, 'merge: host %s in %s' % (name, path))
        hosts[name] = (result, collected, list(host.get('superseded') or []), host.get('source') or path)
    return generated, hosts


def merge_runs(reports, hosts=None, generated=None):
    """``(results, provenance)`` for :func:`build_model` from several runs.

    ``reports`` is a list of paths of report.json files; ``hosts`` this run's
    own ``{host: port_info result}`` (collected at ``generated``, so newer
    than any report). A host present in several keeps its newest result (by
    the time it was collected; the later input on a tie) and lists the others
    under ``superseded``.
    """
    generated = generated or now_utc()
    runs = [load_report(path) for path in reports]
    if hosts:
        runs.append((generated, dict((name, (result, generated, [], None)) for name, result in _plain(hosts).items())))
    results, provenance = {}, {}
    for dummy, run in runs:
        for name, (result, collected, superseded, source) in run.items():
            kept = provenance.get(name)
            entry = {'collected': collected, 'source': source, 'superseded': superseded}
            if kept is not None:
                older, newer = (kept, entry) if _when(kept['collected'], name) <= _when(collected, name) else (entry, kept)
                newer['superseded'] = newer['superseded'] + [{'collected': older['collected'], 'source': older['source']}] \
                    + older['superseded']
                entry = newer
                if newer is kept:
                    continue
            results[name] = result
            provenance[name] = entry
    return results, provenance


def summary_rows(model):
    """The fleet summary table, one dict per host (also returned by the action)."""
    rows = []
    for host in model['hosts']:
        if host['status'] == 'no-data':
            rows.append({'host': host['name'], 'status': 'no-data', 'range': '-', 'size': None, 'reserved': '-',
                         'reserved_count': None, 'conflicts': None, 'drift': None, 'busiest': '-', 'headroom': None,
                         'error': host['error']})
            continue
        rows.append({
            'host': host['name'], 'status': host['status'], 'range': host['range_text'], 'size': host['range']['size'],
            'reserved': host['reserved']['ports'] or '-', 'reserved_count': host['reserved']['count'],
            'conflicts': len(host['conflicts']), 'drift': len(host['drift']), 'busiest': host['busiest_text'],
            'headroom': host['headroom_rate'],
        })
    return rows


def text_table(model):
    """The summary as fixed-width text lines (for a terminal)."""
    header = ('HOST', 'STATUS', 'RANGE', 'SIZE', 'RESERVED', 'CONFLICTS', 'DRIFT', 'BUSIEST DESTINATION', 'HEADROOM',
              'FIREWALL')
    lines = []
    for row, host in zip(summary_rows(model), model['hosts']):
        reserved = row['reserved']
        if len(reserved) > 24:
            reserved = reserved[:21] + '...'
        lines.append((row['host'], row['status'], row['range'],
                      '-' if row['size'] is None else '{:,}'.format(row['size']), reserved,
                      '-' if row['conflicts'] is None else str(row['conflicts']),
                      '-' if row['drift'] is None else str(row['drift']), row['busiest'],
                      fleet_report_html.rate_text(row['headroom']) if row['headroom'] is not None else '-',
                      fleet_report_html.firewall_text(host.get('firewall'))))
    widths = [max(len(to_text(r[i])) for r in [header] + lines) for i in range(len(header))]
    out = ['  '.join(to_text(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in [header] + lines]
    fleet = model['fleet']
    out.extend('warning: %s: %s' % (host['name'], host['firewall']['warning']) for host in model['hosts']
               if (host.get('firewall') or {}).get('warning'))
    out.append('')
    out.append('%d host(s): %d ok, %d drift, %d with conflicts, %d without data; %d conflict(s).'
               % (fleet['hosts'], fleet['ok'], fleet['drift'], fleet['conflict'], fleet['no_data'], fleet['conflicts']))
    return out


def json_document(model):
    """The machine-readable report: the model without the drawing geometry and without the copies of the
    port_info values (listeners, usage) that ``port_info`` holds once."""
    hosts = []
    for host in model['hosts']:
        hosts.append(dict((k, v) for k, v in host.items() if k not in ('picture', 'id', 'listeners', 'usage')))
    document = {'title': model['title'], 'generated': model['generated'], 'generator': model['generator'],
                'fleet': model['fleet'], 'summary': summary_rows(model), 'hosts': hosts}
    # One host per line: compact, and still readable with grep and diff.
    lines = ['{"fleet":%s,"generated":%s,"generator":%s,"summary":%s,"title":%s,"hosts":[' % tuple(
        json.dumps(document[k], sort_keys=True, separators=(',', ':')) for k in ('fleet', 'generated', 'generator', 'summary', 'title'))]
    lines.append(',\n'.join(json.dumps(h, sort_keys=True, separators=(',', ':')) for h in hosts))
    lines.append(']}')
    return '\n'.join(lines) + '\n'


def render(model, formats=FORMATS):
    """``{format: text}`` for the wanted formats."""
    files = {}
    for fmt in formats:
        if fmt == 'json':
            files[fmt] = json_document(model)
        elif fmt == 'txt':
            files[fmt] = '\n'.join(text_table(model)) + '\n'
        elif fmt in ('html', 'md'):
            files[fmt] = fleet_report_html.render(model, fmt)
        else:
            raise PortwardenError('unknown report format %r: allowed formats are %s.' % (fmt, ', '.join(FORMATS)))
    return files


def make_report(hosts=None, merge=(), title='Port space of the fleet', formats=FORMATS, generated=None):
    """``(model, {format: text})`` of this run's ``hosts`` and the report.json files in ``merge``."""
    with cyclic_gc_paused():
        generated = generated or now_utc()
        if merge:
            results, provenance = merge_runs(merge, hosts, generated)
        else:
            results, provenance = hosts if hosts is not None else {}, None
        model = build_model(results, title=title, generated=generated, provenance=provenance, inputs=merge)
        return model, render(model, formats)

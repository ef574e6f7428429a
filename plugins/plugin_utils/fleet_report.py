# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report: port_info results of many hosts -> JSON, Markdown, HTML, text.

Controller side only (used by the ``fleet_report`` action plugin). Pure
functions: :func:`build_model` turns ``{host: port_info result}`` into one
report model (summary rows, per-host facts and the geometry of each host's
port-space picture); :func:`render` turns the model into the files' text with
the Jinja templates in ``templates/`` next to this file. The HTML template is
rendered with autoescaping, the Markdown one with a finalizer that escapes
every value, so no value from a host can inject markup.
"""

from __future__ import annotations

import datetime
import json
import os
import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')
FORMATS = ('json', 'md', 'html', 'txt')
FILE_NAMES = {'json': 'report.json', 'md': 'report.md', 'html': 'report.html', 'txt': 'summary.txt'}

# Types of port_info conflicts. The first two endanger a service (red); the
# other two are drift between the catalogue and the host (amber).
CONFLICT_TYPES = ('listener_in_range', 'service_in_range', 'conntrack_near_full')
DRIFT_TYPES = ('service_not_listening', 'listener_not_declared')

WELL_KNOWN = (0, 1023)
REGISTERED = (1024, 49151)
DYNAMIC = (49152, 65535)

# The picture: ports 0-1023 get WELL_KNOWN_WIDTH pixels, 1024-65535 the rest
# of the axis, linearly. Without this, 0-1023 would be 1.5% of the width and
# every well-known listener would sit on the same pixel.
SVG_WIDTH = 1000
AXIS_LEFT = 20
AXIS_RIGHT = 980
WELL_KNOWN_WIDTH = 130
BAR_TOP = 78
BAR_HEIGHT = 34
LANE_HEIGHT = 15
LANES = 4
CHAR_WIDTH = 6.4


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


def port_x(port):
    """x coordinate of a port on the axis (piecewise linear, see WELL_KNOWN_WIDTH)."""
    port = max(0, min(65536, port))
    if port <= 1024:
        return round(AXIS_LEFT + WELL_KNOWN_WIDTH * port / 1024.0, 2)
    span = AXIS_RIGHT - AXIS_LEFT - WELL_KNOWN_WIDTH
    return round(AXIS_LEFT + WELL_KNOWN_WIDTH + span * (port - 1024) / (65536.0 - 1024), 2)


def span_rect(start, end, min_width=2.0):
    """x and width of the ports start..end (inclusive), at least min_width wide."""
    x1 = port_x(start)
    x2 = port_x(end + 1)
    width = max(min_width, x2 - x1)
    return {'x': round(min(x1, AXIS_RIGHT - width), 2), 'width': round(width, 2)}


def _endpoint(address, port):
    return '[%s]:%s' % (address, port) if ':' in to_text(address) else '%s:%s' % (address, port)


def _slug(name, used):
    base = re.sub(r'[^a-z0-9]+', '-', to_text(name).lower()).strip('-') or 'host'
    slug = 'host-' + base
    n = 2
    while slug in used:
        slug = 'host-%s-%d' % (base, n)
        n += 1
    used.add(slug)
    return slug


def _place_labels(marks):
    """Give each mark with a label a lane above the bar so labels do not overlap.

    ``marks`` are dicts with ``x`` and ``label``; conflicts first, so they get
    the lanes nearest the bar. A label that fits no lane is dropped (the
    port is still drawn and listed in the host's tables).
    """
    lanes = [[] for dummy in range(LANES)]
    for mark in sorted(marks, key=lambda m: (0 if m['kind'] == 'conflict' else 1, m['x'])):
        width = CHAR_WIDTH * len(mark['label']) + 8
        left = min(max(mark['x'] - width / 2.0, 2), SVG_WIDTH - width - 2)
        mark['label_x'] = round(left + width / 2.0, 2)
        mark['lane'] = None
        for index, lane in enumerate(lanes):
            if all(left + width <= other[0] or left >= other[1] for other in lane):
                lane.append((left, left + width))
                mark['lane'] = index
                mark['label_y'] = BAR_TOP - 12 - index * LANE_HEIGHT
                break
    return marks


def _axis_ticks(erange):
    ticks = [(0, 'start'), (1024, 'middle'), (16384, 'middle'), (32768, 'middle'), (49152, 'middle'), (65535, 'end')]
    if erange:
        for port in (erange['start'], erange['end']):
            ticks = [t for t in ticks if abs(port_x(t[0]) - port_x(port)) > 38]
    result = []
    for port, anchor in ticks:
        result.append({'x': port_x(port + (1 if port == 65535 else 0)), 'label': str(port), 'anchor': anchor,
                       'range': False})
    if erange:
        for port in (erange['start'], erange['end']):
            result.append({'x': port_x(port), 'label': str(port), 'anchor': 'middle', 'range': True})
    return sorted(result, key=lambda t: t['x'])


def host_picture(erange, reserved, listeners, conflict_ports):
    """Geometry of one host's port-space picture (an SVG drawn by the template)."""
    bands = []
    for (start, end), name, css in ((WELL_KNOWN, 'well-known 0-1023', 'band-wk'),
                                    (REGISTERED, 'registered 1024-49151', 'band-reg'),
                                    (DYNAMIC, 'dynamic (IANA) 49152-65535', 'band-dyn')):
        rect = span_rect(start, end)
        bands.append(dict(rect, name=name, css=css, text_x=round(rect['x'] + rect['width'] / 2.0, 2)))
    picture = {
        'width': SVG_WIDTH, 'height': BAR_TOP + BAR_HEIGHT + 62, 'bar_top': BAR_TOP, 'bar_height': BAR_HEIGHT,
        'bar_bottom': BAR_TOP + BAR_HEIGHT, 'axis_left': AXIS_LEFT, 'axis_right': AXIS_RIGHT,
        'bands': bands, 'range': None, 'reserved': [], 'marks': [], 'ticks': _axis_ticks(erange),
    }
    if erange:
        rect = span_rect(erange['start'], erange['end'])
        label = 'ephemeral %d-%d (%s ports)' % (erange['start'], erange['end'], '{:,}'.format(erange['size']))
        picture['range'] = dict(rect, label=label)
    for item in reserved.ranges:
        rect = span_rect(item.start, item.end, min_width=2.5)
        picture['reserved'].append(dict(rect, label='reserved %s' % item))

    marks = {}
    for listener in listeners:
        port = listener['port']
        key = port
        in_range = bool(erange) and erange['start'] <= port <= erange['end']
        if port in conflict_ports:
            kind = 'conflict'
        elif in_range and port in reserved:
            kind = 'reserved'
        else:
            kind = 'listener'
        mark = marks.get(key)
        what = '%s %s' % (listener['proto'], port)
        if mark is None:
            marks[key] = {'port': port, 'x': port_x(port + 0.5), 'kind': kind, 'label': str(port), 'title': [what]}
        elif what not in mark['title']:
            mark['title'].append(what)
    for port in conflict_ports:
        if port not in marks:  # a service port in the range that nothing listens on yet
            marks[port] = {'port': port, 'x': port_x(port + 0.5), 'kind': 'conflict', 'label': str(port),
                           'title': ['declared %s' % port]}
    for mark in marks.values():
        mark['title'] = ', '.join(mark['title'])
        if mark['kind'] == 'conflict':
            mark['label'] = '%s !' % mark['port']
    picture['marks'] = sorted(_place_labels(list(marks.values())), key=lambda m: (m['kind'] == 'conflict', m['x']))
    # Crop the empty label lanes: the view box starts just above the highest label.
    tops = [m['label_y'] for m in picture['marks'] if m['lane'] is not None]
    picture['top'] = min(tops + [BAR_TOP - 12]) - 14
    picture['view_height'] = picture['height'] - picture['top']
    return picture


def _rate_text(rate):
    if rate is None:
        return '-'
    if rate >= 100:
        return '{:,.0f}/s'.format(rate)
    return '{:,.1f}/s'.format(rate)


def host_entry(name, result, slug):
    """One host of the report from its port_info result (or why there is none)."""
    entry = {'name': name, 'id': slug}
    if not isinstance(result, dict) or result.get('failed') or result.get('unreachable') or result.get('skipped') \
            or 'ephemeral_range' not in result:
        reason = None
        if isinstance(result, dict):
            reason = result.get('msg')
        entry.update(status='no-data', error=reason or 'no port_info result: the host was unreachable or failed before the audit',
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

    # s-firewalld: port_info's firewall managers (column) and the two-managers warning.
    firewall = result.get('firewall') or {}
    firewall_names = [item.get('name') for item in firewall.get('managers') or [] if isinstance(item, dict)]
    firewall_text = '%s%s' % (firewall.get('backend') or 'none', (' (+%s)' % ', '.join(
        n for n in firewall_names if n != firewall.get('backend'))) if firewall_names else '')

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
        'busiest_endpoint': _endpoint(busiest['address'], busiest['port']) if busiest else None,
        'busiest_detail': ('%s ports, %s%% of the range' % ('{:,}'.format(busiest['ports_in_use']), busiest['utilization_percent'])
                           if busiest else None),
        'busiest_text': ('%s (%s ports, %s%%)' % (
            _endpoint(busiest['address'], busiest['port']), '{:,}'.format(busiest['ports_in_use']),
            busiest['utilization_percent']) if busiest else '-'),
        'headroom_rate': headroom,
        'headroom_text': _rate_text(headroom),
        'utilization_percent': usage.get('utilization_percent', 0.0),
        'firewall': {'backend': firewall.get('backend'), 'managers': firewall_names, 'warning': firewall.get('warning'),
                     'text': firewall_text if firewall else '-'},
        'picture': host_picture(entry_range(erange), reserved, listeners, conflict_ports),
        'port_info': dict((k, v) for k, v in result.items()
                          if k in ('ephemeral_range', 'unprivileged_port_start', 'reserved_ports', 'listeners',
                                   'conflicts', 'usage', 'firewall')),
    })
    return entry


def entry_range(erange):
    return {'start': erange['start'], 'end': erange['end'],
            'size': erange.get('size', erange['end'] - erange['start'] + 1)}


def build_model(results, title='Port space of the fleet', generated=None):
    """The report model from ``{host: port_info result}``."""
    if not isinstance(results, dict):
        raise PortwardenError('hosts must be a dictionary of host name -> port_info result, got %s.'
                              % type(results).__name__)
    results = _plain(results)
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace('+00:00', 'Z')
    used = set()
    hosts = [host_entry(name, results[name], _slug(name, used)) for name in sorted(results)]
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
    }
    return {'title': to_text(title), 'generated': generated, 'generator': 'portwarden.ports.fleet_report',
            'fleet': fleet, 'hosts': hosts}


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
                      _rate_text(row['headroom']) if row['headroom'] is not None else '-',
                      host.get('firewall', {}).get('text', '-')))
    widths = [max(len(to_text(r[i])) for r in [header] + lines) for i in range(len(header))]
    out = ['  '.join(to_text(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in [header] + lines]
    fleet = model['fleet']
    out.extend('warning: %s: %s' % (host['name'], host['firewall']['warning']) for host in model['hosts']
               if host.get('firewall', {}).get('warning'))
    out.append('')
    out.append('%d host(s): %d ok, %d drift, %d with conflicts, %d without data; %d conflict(s).'
               % (fleet['hosts'], fleet['ok'], fleet['drift'], fleet['conflict'], fleet['no_data'], fleet['conflicts']))
    return out


def json_document(model):
    """The machine-readable report: the model without the drawing geometry."""
    hosts = []
    for host in model['hosts']:
        hosts.append(dict((k, v) for k, v in host.items() if k not in ('picture', 'id')))
    document = {'title': model['title'], 'generated': model['generated'], 'generator': model['generator'],
                'fleet': model['fleet'], 'summary': summary_rows(model), 'hosts': hosts}
    return json.dumps(document, indent=2, sort_keys=True) + '\n'


_MD_SPECIAL = re.compile(r'([\\`*_\[\]<>|~])')


def markdown_escape(value):
    """Escape a value for Markdown text and table cells (no markup, no HTML, no line breaks)."""
    if value is None:
        return ''
    text = to_text(value).replace('\r', ' ').replace('\n', ' ')
    text = _MD_SPECIAL.sub(r'\\\1', text)
    return text.replace('&', '&amp;')


def _environment(kind):
    try:
        import jinja2
    except ImportError:  # pragma: no cover - jinja2 comes with ansible-core
        raise PortwardenError('the fleet report needs the jinja2 Python package on the controller.')
    if kind == 'html':
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    else:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                 finalize=markdown_escape)
    env.filters['thousands'] = lambda n: '-' if n is None else '{:,}'.format(n)
    env.filters['ports'] = lambda n: '%s port%s' % ('{:,}'.format(n), '' if n == 1 else 's')
    env.filters['rate'] = _rate_text
    env.filters['endpoint'] = lambda item: _endpoint(item['address'], item['port'])
    return env


def render(model, formats=FORMATS):
    """``{format: text}`` for the wanted formats."""
    files = {}
    for fmt in formats:
        if fmt == 'json':
            files[fmt] = json_document(model)
        elif fmt == 'txt':
            files[fmt] = '\n'.join(text_table(model)) + '\n'
        elif fmt in ('html', 'md'):
            template = _environment(fmt).get_template('fleet_report.%s.j2' % fmt)
            files[fmt] = template.render(report=model).rstrip('\n') + '\n'
        else:
            raise PortwardenError('unknown report format %r: allowed formats are %s.' % (fmt, ', '.join(FORMATS)))
    return files

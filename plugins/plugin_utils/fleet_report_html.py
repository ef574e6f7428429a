# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report's pages: the overview of the fleet, report.html and report.md (controller side only).

:func:`overview` reduces the model to what reads at any fleet size: counts by
status, hosts with problems first, the distribution of range utilization and
of headroom (histogram geometry), the ranges in use, and the findings grouped
by kind (the same conflict on 800 hosts is one group with a count and its
hosts). :func:`render` fills the Jinja templates of ``templates/``: the HTML
page is rendered with autoescaping and carries each host's table row and
detail as JSON data (escaped for a script element) that its own inline script
draws on demand; the Markdown file escapes every value.
"""

from __future__ import annotations

import json
import os
import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report_picture as picture

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')

# Hosts with problems first: conflicts, then hosts without data, then drift, then the rest.
STATUS_ORDER = ('conflict', 'no-data', 'drift', 'ok')
SEVERITY = {'listener_in_range': 'conflict', 'service_in_range': 'conflict', 'service_port_held': 'conflict',
            'conntrack_near_full': 'conflict',
            'service_not_listening': 'drift', 'listener_not_declared': 'drift'}
UTILIZATION_EDGES = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
HEADROOM_EDGES = ((None, 10, '< 10/s'), (10, 100, '10-100/s'), (100, 1000, '100-1,000/s'),
                  (1000, 10000, '1,000-10,000/s'), (10000, None, '>= 10,000/s'))
TOP_RANGES = 12
GROUP_HOSTS_SHOWN = 12
HIST_WIDTH, HIST_HEIGHT, HIST_TOP, HIST_BOTTOM = 520, 190, 22, 150


def rate_text(rate):
    if rate is None:
        return '-'
    if rate >= 100:
        return '{:,.0f}/s'.format(rate)
    return '{:,.1f}/s'.format(rate)


def firewall_text(firewall):
    """One cell: the backend in place (and other managers), banned sources, drops."""
    if not firewall:
        return '-'
    parts = [firewall.get('text') or '-']
    if firewall.get('banned_count'):
        parts.append('%s banned' % '{:,}'.format(firewall['banned_count']))
    if firewall.get('drops'):
        parts.append('%s drops' % '{:,}'.format(firewall['drops']))
    return ', '.join(parts)


def endpoint(address, port):
    return '[%s]:%s' % (address, port) if ':' in to_text(address) else '%s:%s' % (address, port)


def problems_first(hosts):
    """The hosts in the page's order: by status (STATUS_ORDER), busiest range first, then by name."""
    rank = dict((status, index) for index, status in enumerate(STATUS_ORDER))
    return sorted(hosts, key=lambda h: (rank[h['status']], -(h.get('utilization_percent') or 0), h['name']))


def finding_group(item):
    """(key, text) of a conflict or drift finding: what is the same on every host that has it."""
    kind, proto = item.get('type'), to_text(item.get('proto', 'tcp')).upper()
    port = to_text(item.get('ports') or item.get('port'))
    if kind == 'listener_in_range':
        return (kind, proto, port), '%s %s listened on inside the ephemeral range, not reserved' % (proto, port)
    if kind == 'service_in_range':
        return (kind, proto, port, item.get('service')), 'Service %s (%s %s) inside the ephemeral range, not reserved' % (
            item.get('service'), proto, port)
    if kind == 'service_not_listening':
        return (kind, proto, port, item.get('service')), 'Service %s (%s %s) declared, nothing listens on it' % (
            item.get('service'), proto, port)
    if kind == 'conntrack_near_full':
        return (kind,), 'Conntrack table near full (at or over %s%% of nf_conntrack_max)' % item.get('warn_percent')
    if kind == 'service_port_held':
        return (kind, proto, port), '%s %s inside an exclusion the system holds (Windows)' % (proto, port)
    return (kind, proto, port), '%s %s listened on, not declared in the catalogue' % (proto, port)


def finding_groups(hosts):
    """``(groups, {host name: [group index]})``: conflicts first, then drift; the most frequent first."""
    found, order = {}, []
    for host in hosts:
        for item in host.get('conflicts', []) + host.get('drift', []):
            key, text = finding_group(item)
            group = found.get(key)
            if group is None:
                group = found[key] = {'severity': SEVERITY.get(item.get('type'), 'drift'), 'type': item.get('type'),
                                      'what': text, 'example': item.get('remedy'), 'hosts': []}
                order.append(key)
            if not group['hosts'] or group['hosts'][-1] != host['name']:
                group['hosts'].append(host['name'])
    groups = sorted((found[k] for k in order), key=lambda g: (g['severity'] != 'conflict', -len(g['hosts']), g['what']))
    membership = {}
    for index, group in enumerate(groups):
        group.update(index=index, count=len(group['hosts']), shown=group['hosts'][:GROUP_HOSTS_SHOWN],
                     more=max(0, len(group['hosts']) - GROUP_HOSTS_SHOWN))
        for name in group['hosts']:
            membership.setdefault(name, []).append(index)
    return groups, membership


def histogram(counts, labels, css):
    """Bars of a histogram (SVG geometry): one per label, heights relative to the highest count."""
    top = max(counts + [1])
    step = (HIST_WIDTH - 40) / float(len(counts))
    bars = []
    for index, (count, label) in enumerate(zip(counts, labels)):
        height = round((HIST_BOTTOM - HIST_TOP) * count / float(top), 2)
        x = round(30 + index * step + 3, 2)
        bars.append({'x': x, 'y': round(HIST_BOTTOM - height, 2), 'width': round(step - 6, 2), 'height': height,
                     'count': count, 'label': label, 'text_x': round(x + (step - 6) / 2.0, 2), 'css': css})
    return {'width': HIST_WIDTH, 'height': HIST_HEIGHT, 'bottom': HIST_BOTTOM, 'bars': bars,
            'total': sum(counts)}


def utilization_histogram(hosts):
    counts = [0] * len(UTILIZATION_EDGES)
    for host in hosts:
        value = host.get('utilization_percent') or 0.0
        counts[min(len(counts) - 1, int(value // 10))] += 1
    labels = ['%d-%d%%' % (low, low + 10) for low in UTILIZATION_EDGES]
    return histogram(counts, labels, 'bar-util')


def headroom_histogram(hosts):
    counts = [0] * len(HEADROOM_EDGES)
    for host in hosts:
        rate = host.get('headroom_rate')
        if rate is None:
            continue
        for index, (low, high, dummy) in enumerate(HEADROOM_EDGES):
            if (low is None or rate >= low) and (high is None or rate < high):
                counts[index] += 1
                break
    return histogram(counts, [label for dummy, dummy2, label in HEADROOM_EDGES], 'bar-headroom')


def ranges_in_use(hosts):
    """The ephemeral ranges of the fleet, most used first: the first TOP_RANGES and the rest summed."""
    count = {}
    for host in hosts:
        count[host['range_text']] = count.get(host['range_text'], 0) + 1
    rows = sorted(count.items(), key=lambda item: (-item[1], item[0]))
    total = max(1, len(hosts))
    shown = [{'range': r, 'hosts': n, 'percent': round(100.0 * n / total, 1)} for r, n in rows[:TOP_RANGES]]
    rest = rows[TOP_RANGES:]
    return {'rows': shown, 'other_ranges': len(rest), 'other_hosts': sum(n for dummy, n in rest), 'distinct': len(rows)}


def _detail(host):
    """What the page shows when a host is opened: facts, picture, findings, destinations, listeners."""
    origin = 'Collected %s%s.' % (host.get('collected'), ' from %s' % host['source'] if host.get('source') else ' by this run')
    if host.get('superseded'):
        origin += ' Newest of %d results; it replaced: %s.' % (len(host['superseded']) + 1, '; '.join(
            '%s from %s' % (s['collected'], s['source'] or 'the run that merged it') for s in host['superseded']))
    if host['status'] == 'no-data':
        return {'o': origin}
    usage = host['usage']
    facts = [
        'Ephemeral range %s (%s ports)' % (host['range_text'], '{:,}'.format(host['range']['size'])),
        'Reserved %s (%s in the range)' % (host['reserved']['ports'] or 'none', '{:,}'.format(host['reserved']['in_range'])),
        'Listeners %d (%d in the range)' % (len(host['listeners']), host['listeners_in_range']),
        'Ports in use %s of %s (%s%%), TIME_WAIT %s' % ('{:,}'.format(usage.get('ports_in_use', 0)),
                                                        '{:,}'.format(usage.get('usable_ports', host['range']['size'])),
                                                        host['utilization_percent'], '{:,}'.format(usage.get('time_wait', 0))),
        'Unprivileged ports from %s' % host.get('unprivileged_port_start'),
        'Firewall %s' % firewall_text(host.get('firewall')),
    ]
    conntrack = usage.get('conntrack')
    if conntrack:
        facts.append('Conntrack %s of %s entries (%s%%)' % (
            '{:,}'.format(conntrack.get('entries') or 0), '{:,}'.format(conntrack.get('max') or 0), conntrack.get('percent')))
    firewall = host.get('firewall') or {}
    warnings = [[firewall['warning'], 'Let one manager filter incoming traffic (host_firewall_backend, '
                 'host_firewall_conflicting).']] if firewall.get('warning') else []
    return {
        'o': origin, 'f': facts, 'p': picture.compact(host['picture']),
        'cf': [[c.get('msg'), c.get('remedy')] for c in host['conflicts']] + warnings,
        'df': [[c.get('msg'), c.get('remedy')] for c in host['drift']],
        'bu': [[endpoint(b['address'], b['port']), b['ports_in_use'], b['utilization_percent'], rate_text(b['headroom_rate'])]
               for b in usage.get('busiest') or []],
        'l': [[item.get('proto'), item.get('address'), item.get('port'), item.get('process'), item.get('pid')]
              for item in host['listeners']],
        'ban': [[b.get('source'), b.get('seconds_left')] for b in firewall.get('banned') or []],
        'dr': [[reason, c.get('packets'), c.get('bytes')] for reason, c in sorted((firewall.get('counters') or {}).items())
               if isinstance(c, dict)],
    }


def page_data(ordered, membership):
    """The page's JSON data: one entry per host, in the page's order."""
    rows = []
    for host in ordered:
        row = {'n': host['name'], 's': host['status'], 'g': membership.get(host['name'], []), 'x': _detail(host)}
        if host['status'] == 'no-data':
            row['e'] = host['error']
        else:
            row.update(r=host['range_text'], z=host['range']['size'], v=host['reserved']['ports'] or '-',
                       c=len(host['conflicts']), d=len(host['drift']), b=host['busiest_text'], h=host['headroom_text'],
                       u=host['utilization_percent'], w=firewall_text(host.get('firewall')))
        rows.append(row)
    return {'frame': picture.frame(), 'hosts': rows}


def script_json(data):
    """JSON that is safe inside a <script type="application/json"> element (no <, >, & or line separators)."""
    text = json.dumps(data, separators=(',', ':'), sort_keys=True)
    for char, escape in (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'), ('\u2028', '\\u2028'), ('\u2029', '\\u2029')):
        text = text.replace(char, escape)
    return text


def overview(model):
    """The fleet-level view that both pages show."""
    hosts = model['hosts']
    with_data = [h for h in hosts if h['status'] != 'no-data']
    ordered = problems_first(hosts)
    groups, membership = finding_groups(ordered)
    return {
        'ordered': ordered, 'groups': groups, 'membership': membership,
        'conflict_groups': [g for g in groups if g['severity'] == 'conflict'],
        'drift_groups': [g for g in groups if g['severity'] == 'drift'],
        'utilization': utilization_histogram(with_data), 'headroom': headroom_histogram(with_data),
        'ranges': ranges_in_use(with_data),
    }


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
    options = dict(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)
    if kind == 'html':
        env = jinja2.Environment(autoescape=True, **options)
    else:
        env = jinja2.Environment(autoescape=False, finalize=markdown_escape, **options)
    env.filters['thousands'] = lambda n: '-' if n is None else '{:,}'.format(n)
    env.filters['rate'] = rate_text
    env.filters['fw'] = firewall_text
    return env


def render(model, kind):
    """The text of report.html (``kind`` html) or report.md (md)."""
    view = overview(model)
    values = {'report': model, 'view': view}
    if kind == 'html':
        import markupsafe
        values['data'] = markupsafe.Markup(script_json(page_data(view['ordered'], view['membership'])))
    template = _environment(kind).get_template('fleet_report.%s.j2' % kind)
    return template.render(**values).rstrip('\n') + '\n'

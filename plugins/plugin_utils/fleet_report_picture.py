# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry of a host's port-space picture in the fleet report (controller side only).

:func:`host_picture` places the IANA bands, the ephemeral range, the reserved
ports and the listeners on one axis and gives every labelled mark a lane so
that labels never overlap; :func:`compact` is the same picture as the short
lists the HTML page carries for each host (the page draws it when the host's
detail is opened).
"""

from __future__ import annotations

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
    picture = {
        'width': SVG_WIDTH, 'height': BAR_TOP + BAR_HEIGHT + 62, 'bar_top': BAR_TOP, 'bar_height': BAR_HEIGHT,
        'bar_bottom': BAR_TOP + BAR_HEIGHT, 'axis_left': AXIS_LEFT, 'axis_right': AXIS_RIGHT,
        'bands': frame()['bands'], 'range': None, 'reserved': [], 'marks': [], 'ticks': _axis_ticks(erange),
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


BANDS = tuple(dict(span_rect(start, end), name=name, css=css)
              for (start, end), name, css in ((WELL_KNOWN, 'well-known 0-1023', 'band-wk'),
                                              (REGISTERED, 'registered 1024-49151', 'band-reg'),
                                              (DYNAMIC, 'dynamic (IANA) 49152-65535', 'band-dyn')))


def frame():
    """What every picture shares (drawn once by the page): size, bar, axis and the three bands."""
    return {'width': SVG_WIDTH, 'bar_top': BAR_TOP, 'bar_height': BAR_HEIGHT, 'axis_left': AXIS_LEFT,
            'axis_right': AXIS_RIGHT, 'bands': [dict(b, text_x=round(b['x'] + b['width'] / 2.0, 2)) for b in BANDS]}


def compact(picture):
    """The per-host part of a picture as short lists (what the HTML page embeds for each host)."""
    erange = picture['range']
    return {
        'top': picture['top'], 'vh': picture['view_height'],
        'range': [erange['x'], erange['width'], erange['label']] if erange else None,
        'res': [[r['x'], r['width'], r['label']] for r in picture['reserved']],
        'marks': [[m['x'], m['kind'], m['label'], m['lane'], m.get('label_x'), m.get('label_y'), m['title']]
                  for m in picture['marks']],
        'ticks': [[t['x'], t['label'], t['anchor'], t['range']] for t in picture['ticks']],
    }

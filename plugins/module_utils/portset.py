# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Port ranges and port sets: parse, merge, subtract, format.

Pure values, no I/O. The canonical text form of a :class:`PortSet` is the one
the Linux kernel prints for ``net.ipv4.ip_local_reserved_ports``: sorted,
adjacent and overlapping ranges merged, single ports without a dash, items
joined by commas (``8080-8081,9100``). The empty set formats as ``""``.
"""

from __future__ import annotations

import re

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

PORT_MIN = 1
PORT_MAX = 65535

_ITEM_RE = re.compile(r'^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$')


def _port(value, source=None):
    """Return ``value`` as a port number 1..65535 or raise PortwardenError."""
    shown = source if source is not None else value
    if isinstance(value, bool):
        raise PortwardenError('Invalid port %r: expected an integer from %d to %d.' % (shown, PORT_MIN, PORT_MAX))
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text.isdigit():
            raise PortwardenError('Invalid port %r: expected an integer from %d to %d.' % (shown, PORT_MIN, PORT_MAX))
        number = int(text)
    if number < PORT_MIN or number > PORT_MAX:
        raise PortwardenError('Invalid port %r: ports go from %d to %d.' % (shown, PORT_MIN, PORT_MAX))
    return number


class PortRange(object):
    """An inclusive range of ports ``start``..``end``, 1 <= start <= end <= 65535."""

    __slots__ = ('start', 'end')

    def __init__(self, start, end=None):
        start = _port(start)
        end = start if end is None else _port(end)
        if start > end:
            raise PortwardenError('Invalid port range %d-%d: the start must not be greater than the end.' % (start, end))
        self.start = start
        self.end = end

    @classmethod
    def parse(cls, value):
        """Parse an int, ``"a"`` or ``"a-b"`` into a PortRange."""
        if isinstance(value, PortRange):
            return value
        if isinstance(value, bool) or value is None:
            raise PortwardenError('Invalid port %r: expected a port (1-65535) or a range "start-end".' % (value,))
        if isinstance(value, int):
            return cls(value)
        text = str(value)
        match = _ITEM_RE.match(text)
        if not match:
            raise PortwardenError('Invalid port or range %r: expected a port (1-65535) or a range "start-end".' % (value,))
        start = _port(match.group(1), source=value)
        end = start if match.group(2) is None else _port(match.group(2), source=value)
        if start > end:
            raise PortwardenError('Invalid port range %r: the start (%d) is greater than the end (%d).' % (value, start, end))
        return cls(start, end)

    @property
    def size(self):
        return self.end - self.start + 1

    def __len__(self):
        return self.size

    def __contains__(self, port):
        return isinstance(port, int) and self.start <= port <= self.end

    def __iter__(self):
        return iter(range(self.start, self.end + 1))

    def __eq__(self, other):
        return isinstance(other, PortRange) and (self.start, self.end) == (other.start, other.end)

    def __ne__(self, other):
        return not self == other

    def __lt__(self, other):
        return (self.start, self.end) < (other.start, other.end)

    def __hash__(self):
        return hash((self.start, self.end))

    def __repr__(self):
        return 'PortRange(%d, %d)' % (self.start, self.end)

    def __str__(self):
        if self.start == self.end:
            return str(self.start)
        return '%d-%d' % (self.start, self.end)

    def to_dict(self):
        return {'start': self.start, 'end': self.end, 'size': self.size}


class PortSet(object):
    """An immutable set of ports held as sorted, merged, disjoint ranges."""

    __slots__ = ('_ranges',)

    def __init__(self, ranges=()):
        self._ranges = self._normalize(ranges)

    @staticmethod
    def _normalize(ranges):
        items = sorted((r.start, r.end) for r in ranges)
        merged = []
        for start, end in items:
            if merged and start <= merged[-1][1] + 1:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        return tuple(PortRange(s, e) for s, e in merged)

    @classmethod
    def parse(cls, value):
        """Parse ports into a PortSet.

        Accepts None or ``""`` (the empty set), an int, a PortRange, a PortSet,
        a string of comma- or whitespace-separated items (``"8080-8081,9100"``),
        or a list/tuple/set of any of these.
        """
        if isinstance(value, PortSet):
            return value
        ranges = []
        cls._collect(value, ranges, top=True)
        return cls(ranges)

    @classmethod
    def _collect(cls, value, ranges, top=False):
        if value is None:
            if top:
                return
            raise PortwardenError('Invalid port None: expected a port (1-65535) or a range "start-end".')
        if isinstance(value, PortSet):
            ranges.extend(value.ranges)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                cls._collect(item, ranges)
        elif isinstance(value, (PortRange, int)):
            ranges.append(PortRange.parse(value))
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                if top:
                    return
                raise PortwardenError('Invalid port %r: an empty item; expected a port (1-65535) or a range "start-end".' % (value,))
            # The kernel prints commas; sysctl.d files and users may add blanks.
            parts = re.split(r'\s*,\s*|\s+', re.sub(r'\s*-\s*', '-', text))
            for part in parts:
                if not part.strip():
                    raise PortwardenError('Invalid port list %r: an empty item between commas; expected items like 22 or 8080-8081.' % (value,))
                ranges.append(PortRange.parse(part))
        else:
            raise PortwardenError('Invalid port %r (%s): expected a port (1-65535), a range "start-end" or a list of them.'
                                  % (value, type(value).__name__))

    @property
    def ranges(self):
        return self._ranges

    @property
    def size(self):
        return sum(r.size for r in self._ranges)

    def __len__(self):
        return self.size

    def __bool__(self):
        return bool(self._ranges)

    __nonzero__ = __bool__

    def __iter__(self):
        for r in self._ranges:
            yield from r

    def __contains__(self, item):
        if isinstance(item, PortRange):
            return self.covers(item)
        if not isinstance(item, int) or isinstance(item, bool):
            return False
        lo, hi = 0, len(self._ranges)
        while lo < hi:
            mid = (lo + hi) // 2
            r = self._ranges[mid]
            if item < r.start:
                hi = mid
            elif item > r.end:
                lo = mid + 1
            else:
                return True
        return False

    def covers(self, prange):
        """True when every port of ``prange`` is in this set."""
        return any(r.start <= prange.start and prange.end <= r.end for r in self._ranges)

    def __eq__(self, other):
        return isinstance(other, PortSet) and self._ranges == other._ranges

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._ranges)

    def __repr__(self):
        return 'PortSet(%r)' % (str(self),)

    def __str__(self):
        return ','.join(str(r) for r in self._ranges)

    def format(self):
        """The kernel's canonical text form, e.g. ``8080-8081,9100``."""
        return str(self)

    def to_dict(self):
        """``{'ports': canonical text, 'list': canonical items}``: how every result shows a set of ports."""
        return {'ports': self.format(), 'list': self.to_list()}

    def to_list(self):
        """Canonical items as ints (single ports) and ``"a-b"`` strings (ranges)."""
        return [r.start if r.start == r.end else str(r) for r in self._ranges]

    def union(self, other):
        return PortSet(self._ranges + PortSet.parse(other).ranges)

    __or__ = union

    def difference(self, other):
        other = PortSet.parse(other)
        result = []
        cuts = other.ranges
        index = 0
        for r in self._ranges:
            start = r.start
            while index < len(cuts) and cuts[index].end < start:
                index += 1
            j = index
            while j < len(cuts) and cuts[j].start <= r.end and start <= r.end:
                cut = cuts[j]
                if cut.start > start:
                    result.append(PortRange(start, cut.start - 1))
                start = max(start, cut.end + 1)
                j += 1
            if start <= r.end:
                result.append(PortRange(start, r.end))
        return PortSet(result)

    __sub__ = difference

    def intersection(self, other):
        other = PortSet.parse(other)
        result = []
        a, b = self._ranges, other.ranges
        i = j = 0
        while i < len(a) and j < len(b):
            start = max(a[i].start, b[j].start)
            end = min(a[i].end, b[j].end)
            if start <= end:
                result.append(PortRange(start, end))
            if a[i].end < b[j].end:
                i += 1
            else:
                j += 1
        return PortSet(result)

    __and__ = intersection

    def issubset(self, other):
        return not self.difference(other)

    def isdisjoint(self, other):
        return not self.intersection(other)


def suggest_range(erange, avoid):
    """The largest part of ``erange`` that holds none of the ports in ``avoid``.

    Ends on a port of the other parity than the start when it can: the kernel
    prefers different parity for the two bounds (it gives even ports to
    connect() and odd ones to bind(0)). A part of the current range is always
    a range the kernel accepts. Returns a PortRange, or None when nothing is left.
    """
    free = PortSet([erange]) - PortSet.parse(avoid)
    best = None
    for part in free.ranges:
        if best is None or part.size > best.size:
            best = part
    if best is not None and best.size > 2 and (best.start % 2) == (best.end % 2):
        best = PortRange(best.start, best.end - 1)
    return best

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Port set filters: canonical form and set arithmetic, as the kernel counts.

Every filter accepts what ``PortSet.parse`` accepts (ints, ``"a-b"`` strings,
comma-separated strings, lists of these) and also a range dictionary with
``start`` and ``end`` (what ``port_info`` and ``ephemeral_range`` return).
Results are canonical strings (``"8080-8081,9100"``, ``""`` when empty).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet


def _parse(value, what):
    try:
        if isinstance(value, dict):
            if 'start' not in value or 'end' not in value:
                raise PortwardenError('a port range dictionary needs start and end, got %r' % (dict(value),))
            return PortSet([PortRange(value['start'], value['end'])])
        return PortSet.parse(value)
    except PortwardenError as exc:
        raise AnsibleFilterError('%s: %s' % (what, exc.msg))


def portset(value):
    """Canonical form of a port set."""
    return _parse(value, 'portset').format()


def portset_list(value):
    """Canonical items: single ports as integers, ranges as ``"a-b"`` strings."""
    return _parse(value, 'portset_list').to_list()


def portset_size(value):
    """Number of ports in the set."""
    return _parse(value, 'portset_size').size


def portset_union(value, other):
    return (_parse(value, 'portset_union') | _parse(other, 'portset_union')).format()


def portset_intersection(value, other):
    return (_parse(value, 'portset_intersection') & _parse(other, 'portset_intersection')).format()


def portset_difference(value, other):
    return (_parse(value, 'portset_difference') - _parse(other, 'portset_difference')).format()


class FilterModule(object):
    """Port set filters."""

    def filters(self):
        return {
            'portset': portset,
            'portset_list': portset_list,
            'portset_size': portset_size,
            'portset_union': portset_union,
            'portset_intersection': portset_intersection,
            'portset_difference': portset_difference,
        }

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet


# ---------------------------------------------------------------- examples

@pytest.mark.parametrize('value, text', [
    ('9100,8080-8081', '8080-8081,9100'),
    ([9100, '8080-8081'], '8080-8081,9100'),
    (['8081', 8080, 9100], '8080-8081,9100'),
    ('8080-8081, 9100', '8080-8081,9100'),
    ('22 80-81 443', '22,80-81,443'),
    ('80 - 81', '80-81'),
    ([1, 2, 3, 5], '1-3,5'),
    (['1-10', '5-20', 30], '1-20,30'),
    ('65535', '65535'),
    ('', ''),
    (None, ''),
    ([], ''),
    (PortRange(5, 6), '5-6'),
])
def test_parse_canonical(value, text):
    assert PortSet.parse(value).format() == text


@pytest.mark.parametrize('value, fragment', [
    (0, 'Invalid port 0'),
    ('0', "Invalid port '0'"),
    (65536, 'Invalid port 65536'),
    ('70000-70001', "'70000-70001'"),
    ('10-5', "'10-5': the start (10) is greater than the end (5)"),
    ('abc', "'abc'"),
    ('22,,23', "'22,,23': an empty item"),
    ('22,', "'22,'"),
    ([' '], "' '"),
    ([None], 'None'),
    (True, 'True'),
    ([1.5], '1.5'),
    ('-5', "'-5'"),
    ('1-2-3', "'1-2-3'"),
    ('22;rm', "'22;rm'"),
])
def test_parse_rejects(value, fragment):
    with pytest.raises(PortwardenError) as info:
        PortSet.parse(value)
    assert fragment in str(info.value)


def test_range_basics():
    r = PortRange.parse('100-199')
    assert (r.start, r.end, r.size, len(r)) == (100, 199, 100, 100)
    assert 150 in r and 99 not in r and 200 not in r
    assert str(r) == '100-199' and str(PortRange(7)) == '7'
    assert r.to_dict() == {'start': 100, 'end': 199, 'size': 100}
    with pytest.raises(PortwardenError):
        PortRange(5, 4)


def test_set_operations():
    a = PortSet.parse('1-100')
    b = PortSet.parse('50-150,200')
    assert (a | b).format() == '1-150,200'
    assert (a - b).format() == '1-49'
    assert (b - a).format() == '101-150,200'
    assert (a & b).format() == '50-100'
    assert 100 in a and 101 not in a and 'x' not in a and True not in a
    assert PortRange(10, 20) in a and PortRange(90, 101) not in a
    assert a.size == 100 and len(b) == 102
    assert PortSet.parse('5-6').issubset(a) and not b.issubset(a)
    assert PortSet.parse('300').isdisjoint(a)
    assert PortSet.parse('1,3').to_list() == [1, 3]
    assert PortSet.parse('1-2').to_list() == ['1-2']
    assert list(PortSet.parse('1-3,7')) == [1, 2, 3, 7]
    assert not PortSet() and PortSet.parse('1')


def test_equality_and_hash():
    assert PortSet.parse('9100,8080-8081') == PortSet.parse([8080, 8081, 9100])
    assert hash(PortSet.parse('1-2')) == hash(PortSet.parse([2, 1]))
    assert PortSet.parse('1') != PortSet.parse('2')


# ---------------------------------------------------------------- properties

ports = st.integers(min_value=1, max_value=65535)
ranges = st.tuples(ports, ports).map(lambda t: PortRange(min(t), max(t)))
small_ranges = st.tuples(st.integers(1, 400), st.integers(0, 30)).map(lambda t: PortRange(t[0], min(65535, t[0] + t[1])))
portsets = st.lists(st.one_of(ranges, small_ranges), max_size=12).map(PortSet)
small_sets = st.lists(small_ranges, max_size=8).map(PortSet)


def members(pset):
    return set(pset)


@settings(max_examples=300)
@given(portsets)
def test_format_parse_roundtrip(pset):
    assert PortSet.parse(pset.format()) == pset
    assert PortSet.parse(pset.to_list()) == pset


@settings(max_examples=300)
@given(portsets)
def test_canonical_form_is_sorted_merged_disjoint(pset):
    rs = pset.ranges
    for left, right in zip(rs, rs[1:]):
        assert left.end + 1 < right.start  # disjoint and not adjacent
    assert pset.size == sum(r.size for r in rs)


@settings(max_examples=300)
@given(small_sets, small_sets)
def test_algebra_matches_python_sets(a, b):
    assert members(a | b) == members(a) | members(b)
    assert members(a - b) == members(a) - members(b)
    assert members(a & b) == members(a) & members(b)
    assert (a | b).size == len(members(a) | members(b))
    assert a.issubset(b) == members(a).issubset(members(b))
    assert a.isdisjoint(b) == members(a).isdisjoint(members(b))


@settings(max_examples=200)
@given(small_sets, st.integers(1, 500))
def test_membership(a, port):
    assert (port in a) == (port in members(a))


@settings(max_examples=200)
@given(portsets, portsets)
def test_algebra_laws(a, b):
    assert (a | b) == (b | a)
    assert (a & b) == (b & a)
    assert ((a - b) | (a & b)) == a
    assert (a - b).isdisjoint(b)
    assert (a | b).size == a.size + b.size - (a & b).size


@given(st.permutations(['8080', '8081', '9100', '22', '23-25']))
def test_order_does_not_matter(items):
    assert PortSet.parse(items).format() == '22-25,8080-8081,9100'
    assert PortSet.parse(','.join(items)).format() == '22-25,8080-8081,9100'

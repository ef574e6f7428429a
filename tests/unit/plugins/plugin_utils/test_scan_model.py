# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils.scan_model import refill_rate, scan_model


@pytest.mark.parametrize('threshold, window, rate', [
    (20, 60, '20/minute'), (10, 1, '10/second'), (20, 45, '1600/hour'), (1, 3600, '1/hour'), (7, 13, '46523/day'),
    (1, 86400, '1/day'),
])
def test_refill_rate(threshold, window, rate):
    assert refill_rate(threshold, window) == rate


def test_defaults_and_allowlist():
    model = scan_model(allow=['192.0.2.0/25', '192.0.2.128/25', '2001:db8::/32'], management_sources=['10.0.0.0/8'])
    assert model['detect'] is True and model['threshold'] == 20 and model['window'] == 60 and model['ban'] == 600
    assert model['rate'] == '20/minute'
    assert model['allow_v4'] == '10.0.0.0/8, 192.0.2.0/24'          # merged
    assert model['allow_v6'] == '2001:db8::/32'
    assert model['keep_sets'] == ['banned_v4', 'banned_v6'] and model['release'] == []


def test_strings_as_given_on_the_command_line():
    model = scan_model(detect='false', threshold='30', window='60', ban='120')
    assert model['detect'] is False and model['threshold'] == 30 and model['ban'] == 120 and model['keep_sets'] == []


def test_unban():
    model = scan_model(unban=['192.0.2.7', '2001:db8:1:2::5'])
    assert model['release'] == [{'set': 'banned_v4', 'element': '192.0.2.7'}, {'set': 'banned_v6', 'element': '2001:db8:1:2::'}]


@pytest.mark.parametrize('kwargs, words', [
    ({'detect': 'maybe'}, ['host_firewall_scan_detect', "'maybe'"]),
    ({'threshold': 0}, ['host_firewall_scan_threshold', '0', 'from 1 to 100000']),
    ({'threshold': True}, ['host_firewall_scan_threshold', 'True']),
    ({'window': 86401}, ['host_firewall_scan_window', '86401']),
    ({'ban': 'ten'}, ['host_firewall_scan_ban', "'ten'"]),
    ({'ban': 1.5}, ['host_firewall_scan_ban', '1.5']),
    ({'allow': ['10.0.0.1/8']}, ['host_firewall_scan_allow', '10.0.0.1/8']),
    ({'allow': 'x; drop'}, ['host_firewall_scan_allow']),
    ({'unban': ['10.0.0.0/24']}, ['host_firewall_unban[0]', 'per address']),
    ({'unban': {'a': 1}}, ['host_firewall_unban', 'expected a list']),
])
def test_refusals_name_the_variable_and_value(kwargs, words):
    with pytest.raises(PortwardenError) as info:
        scan_model(**kwargs)
    for word in words:
        assert word in info.value.msg, (word, info.value.msg)

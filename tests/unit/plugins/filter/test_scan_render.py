# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's template with port-scan detection on and off, rendered as the role renders it."""

from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.filter.host_firewall_model import FilterModule

FILTER = FilterModule().filters()['host_firewall_model']
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(ROOT, 'roles', 'host_firewall', 'templates', 'portwarden.nft.j2')) as handle:
    TEMPLATE = handle.read()
SERVICES = [{'name': 'web', 'port': 443}, {'name': 'api', 'port': 8443, 'rate_limit': '10/minute'}]


def render(**options):
    return FILTER(SERVICES, template=TEMPLATE, management_ports=[22], **options)


def test_detection_on_by_default():
    text = render(management_sources=['10.0.0.0/8'], scan_allow=['192.0.2.5', '2001:db8::/32'], scan_threshold=30,
                  scan_window=60, scan_ban=900)
    lines = [line.strip() for line in text.splitlines()]
    assert 'ip saddr @banned_v4 counter name "banned" drop' in lines
    assert 'ip6 saddr & ffff:ffff:ffff:ffff:: @banned_v6 counter name "banned" drop' in lines
    assert lines.count('ip saddr @banned_v4 counter name "banned" drop') == 2          # input and forward
    assert 'timeout 900s' in lines and 'timeout 60s' in lines
    assert 'elements = { 10.0.0.0/8, 192.0.2.5/32 }' in lines and 'elements = { 2001:db8::/32 }' in lines
    detect = [line for line in lines if line.startswith('meta l4proto { tcp, udp } ct state new')]
    assert len(detect) == 2 and all('limit rate over 30/minute burst 30 packets' in line for line in detect)
    # detection comes after every accept of the catalogue, right before the default drop
    start = lines.index('chain input {')
    input_chain = lines[start:start + lines[start:].index('}')]
    last_accept = max(i for i, line in enumerate(input_chain) if 'comment "web"' in line or 'comment "api"' in line)
    assert input_chain.index(detect[0]) > last_accept
    assert input_chain[input_chain.index(detect[1]) + 1] == 'counter name "default_drop" jump log_input'
    for reason in ('spoofed', 'invalid', 'scan_flags', 'rate_limit', 'scan_detected', 'banned', 'default_drop'):
        assert 'counter %s {' % reason in lines


def test_detection_off_keeps_the_counters():
    lines = [line.strip() for line in render(scan_detect=False, log=False).splitlines()]
    assert not any('banned_v4' in line or 'scan_v4' in line for line in lines)
    assert 'counter name "default_drop" drop' in lines and 'counter banned {' in lines


def test_bad_scan_value_fails_in_the_filter():
    with pytest.raises(AnsibleFilterError) as info:
        render(scan_threshold='lots')
    assert 'host_firewall_scan_threshold' in str(info.value) and "'lots'" in str(info.value)

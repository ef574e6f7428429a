# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Listener scope (loopback listeners are not drift), expect_listener (listener-less entries) and
TIME_WAIT reuse with tcp_timestamps, through port_info's gather() on a fake procfs."""

from __future__ import annotations

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import listenscope, portinfo, timewait
from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

from test_conntrack import fake  # noqa: F401 pylint: disable=unused-import


def kinds(report):
    return [(c['type'], c.get('service'), c['proto'], c['port']) for c in report['conflicts']]


@pytest.mark.parametrize('address, scope', [
    ('127.0.0.1', 'loopback'), ('127.0.0.53', 'loopback'), ('127.255.255.254', 'loopback'), ('::1', 'loopback'),
    ('::ffff:127.0.0.1', 'loopback'), ('0.0.0.0', 'any'), ('::', 'any'), ('*', 'any'), ('[::]', 'any'),
    ('10.0.0.5', 'address'), ('fe80::1%eth0', 'address'), ('2001:db8::1', 'address'), ('128.0.0.1', 'address'),
])
def test_listener_scope(address, scope):
    assert listenscope.listener_scope(address) == scope


def test_listeners_carry_their_scope(fake):
    fake.add('tcp', ('127.0.0.53', 53), state='0A', inode=1)
    fake.add('tcp', ('10.0.0.5', 80), state='0A', inode=2)
    fake.add('tcp6', ('::', 22), state='0A', inode=3)
    report = portinfo.gather(proc=fake.write(), system='Linux')
    assert [(item['port'], item['scope']) for item in report['listeners']] == [(22, 'any'), (53, 'loopback'), (80, 'address')]


def test_loopback_listener_is_not_drift_but_address_and_any_are(fake):
    fake.add('udp', ('127.0.0.53', 53), state='07', inode=1)     # systemd-resolved
    fake.add('tcp6', ('::1', 5432), state='0A', inode=2)         # a local database
    fake.add('tcp', ('10.0.0.5', 8080), state='0A', inode=3)
    fake.add('tcp', ('0.0.0.0', 9100), state='0A', inode=4)
    fake.add('tcp', ('127.0.0.1', 9100), state='0A', inode=5)    # same port also on loopback: still drift once
    report = portinfo.gather(proc=fake.write(), system='Linux', services=[])
    assert kinds(report) == [('listener_not_declared', None, 'tcp', 8080), ('listener_not_declared', None, 'tcp', 9100)]
    assert report['conflicts'][1]['addresses'] == ['0.0.0.0']
    assert all('loopback' not in c['msg'] for c in report['conflicts'])


def test_loopback_listener_in_the_range_is_still_a_conflict(fake):
    fake.add('tcp', ('127.0.0.1', 40100), state='0A', inode=1)
    report = portinfo.gather(proc=fake.write(), system='Linux', services=[])
    assert kinds(report) == [('listener_in_range', None, 'tcp', 40100)]
    assert 'firewall' not in report['conflicts'][0]['remedy']


def test_expect_listener_defaults_and_override():
    services = normalize_services([
        {'name': 'ssh', 'port': 22},
        {'name': 'nodeports', 'port': '30000-32767'},
        {'name': 'spare', 'port': 7000, 'expect_listener': False},
        {'name': 'pool', 'port': '7100-7199', 'expect_listener': True},
    ])
    assert [(s['name'], s['expect_listener']) for s in services] == [
        ('ssh', True), ('nodeports', False), ('spare', False), ('pool', True)]


@pytest.mark.parametrize('value', ['yes', 1, 'false', []])
def test_expect_listener_must_be_a_boolean(value):
    with pytest.raises(PortwardenError, match=r'service #0 \(x\): invalid expect_listener .*: expected true or false'):
        normalize_services([{'name': 'x', 'port': 1, 'expect_listener': value}])


def test_service_not_listening_only_where_a_listener_is_expected(fake):
    fake.add('tcp', ('0.0.0.0', 7150), state='0A', inode=1)
    services = [
        {'name': 'ssh', 'port': 22},                                     # expected, missing
        {'name': 'nodeports', 'port': '30000-32767'},                    # range: not expected
        {'name': 'spare', 'port': 7000, 'expect_listener': False},       # said so
        {'name': 'pool', 'port': '7100-7199', 'expect_listener': True},  # expected, one listens
        {'name': 'batch', 'port': '7200-7299', 'expect_listener': True},  # expected, none listens
    ]
    report = portinfo.gather(proc=fake.write(), system='Linux', services=services)
    assert kinds(report) == [('service_not_listening', 'ssh', 'tcp', '22'),
                             ('service_not_listening', 'batch', 'tcp', '7200-7299')]


# ---------------------------------------------------------------- TIME_WAIT reuse and timestamps

@pytest.mark.parametrize('reuse, stamps, address, seconds', [
    (1, 1, '10.0.0.9', 1), (1, 2, '10.0.0.9', 1), (1, 0, '10.0.0.9', 60), (0, 1, '10.0.0.9', 60),
    (2, 1, '10.0.0.9', 60), (2, 1, '127.0.0.1', 1), (2, 1, '::1', 1), (2, 0, '127.0.0.1', 60),
    (1, 1, None, 1), (2, 1, None, 60), (None, None, '10.0.0.9', 60),
])
def test_wait_seconds(reuse, stamps, address, seconds):
    assert timewait.wait_seconds(reuse, stamps, address, 60) == seconds


def busy(fake, reuse, stamps):
    fake.sysctl['tcp_tw_reuse'] = str(reuse)
    fake.sysctl['tcp_timestamps'] = str(stamps)
    for i in range(10):
        fake.add('tcp', ('10.0.0.1', 40200 + i), ('10.0.0.9', 443), '06')
        fake.add('tcp', ('127.0.0.1', 40300 + i), ('127.0.0.1', 8080), '06')
    return portinfo.gather(proc=fake.write(), system='Linux')['usage']


def test_reuse_counts_only_with_timestamps(fake):
    usage = busy(fake, 1, 0)
    assert (usage['tcp_tw_reuse'], usage['tcp_timestamps']) == (1, False)
    assert usage['sustainable_rate'] == round(1000 / 60.0, 2)
    assert [b['sustainable_rate'] for b in usage['busiest']] == [round(1000 / 60.0, 2)] * 2


def test_reuse_everywhere_with_timestamps(fake):
    usage = busy(fake, 1, 1)
    assert usage['tcp_timestamps'] is True
    assert usage['sustainable_rate'] == 1000.0
    assert [(b['address'], b['sustainable_rate'], b['headroom_rate'], b['recent_rate']) for b in usage['busiest']] == [
        ('10.0.0.9', 1000.0, 990.0, round(10 / 60.0, 2)), ('127.0.0.1', 1000.0, 990.0, round(10 / 60.0, 2))]


def test_default_reuse_is_loopback_only(fake):
    usage = busy(fake, 2, 1)
    assert usage['sustainable_rate'] == round(1000 / 60.0, 2)  # a remote destination gets no reuse
    rates = dict((b['address'], b['sustainable_rate']) for b in usage['busiest'])
    assert rates == {'10.0.0.9': round(1000 / 60.0, 2), '127.0.0.1': 1000.0}


def test_timestamps_null_when_the_kernel_has_no_key(fake):
    del fake.sysctl['tcp_tw_reuse']
    usage = portinfo.gather(proc=fake.write(), system='Linux')['usage']
    assert (usage['tcp_tw_reuse'], usage['tcp_timestamps']) == (None, None)

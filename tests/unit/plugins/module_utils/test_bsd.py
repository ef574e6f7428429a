# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bsd.py and bsd_report.py with a scripted sysctl and a temporary /etc/sysctl.conf (no FreeBSD or macOS host here),
plus the BSD modules' entry points (backend_bsd.py, bsd_report.module_report), which the action plugins run on
FreeBSD and macOS, and the refusal that sends a module to the other OS's module."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import backend, backend_bsd, backend_linux, bsd, bsd_report, portinfo
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

# Recorded the way FreeBSD 13/14 print them (sockstat -46l; netstat -an -p tcp|udp).
SOCKSTAT_FREEBSD = """\
USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS
root     sshd        812   3  tcp6   *:22                  *:*
root     sshd        812   4  tcp4   *:22                  *:*
www      nginx      1033   6  tcp4   *:80                  *:*
node     node_expor 1201   3  tcp46  *:45100               *:*
root     syslogd     640   6  udp6   *:514                 *:*
root     syslogd     640   7  udp4   *:514                 *:*
ntpd     ntpd        900  20  udp4   127.0.0.1:123         *:*
ntpd     ntpd        900  21  udp6   ::1:123               *:*
?        ?           ?     ?  tcp4   *:111                 *:*
root     syslogd     640   4  dgram  /var/run/log
root     devd        512   4  stream /var/run/devd.pipe
"""

NETSTAT_FREEBSD_TCP = """\
Active Internet connections (including servers)
Proto Recv-Q Send-Q Local Address          Foreign Address        (state)
tcp4       0     44 10.0.2.15.22           10.0.2.2.51514         ESTABLISHED
tcp4       0      0 10.0.2.15.45210        10.0.0.7.5432          ESTABLISHED
tcp4       0      0 10.0.2.15.45211        10.0.0.7.5432          TIME_WAIT
tcp4       0      0 10.0.2.15.45212        10.0.0.7.5432          TIME_WAIT
tcp4       0      0 *.80                   *.*                    LISTEN
tcp46      0      0 *.45100                *.*                    LISTEN
tcp4       0      0 *.22                   *.*                    LISTEN
tcp6       0      0 *.22                   *.*                    LISTEN
"""

NETSTAT_FREEBSD_UDP = """\
Active Internet connections (including servers)
Proto Recv-Q Send-Q Local Address          Foreign Address        (state)
udp4       0      0 127.0.0.1.123          *.*
udp6       0      0 ::1.123                *.*
udp4       0      0 *.514                  *.*
udp6       0      0 *.514                  *.*
"""

# macOS (netstat -an -p tcp / -p udp): same addr.port form, scope ids on link-local addresses.
NETSTAT_MACOS_TCP = """\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
tcp4       0      0  192.168.1.5.52144      17.57.146.20.5223      ESTABLISHED
tcp4       0      0  192.168.1.5.52150      151.101.1.69.443       TIME_WAIT
tcp46      0      0  *.5000                 *.*                    LISTEN
tcp6       0      0  ::1.631                *.*                    LISTEN
tcp4       0      0  127.0.0.1.631          *.*                    LISTEN
tcp4       0      0  *.55000                *.*                    LISTEN
tcp6       0      0  fe80::1%lo0.49200      *.*                    LISTEN
"""

NETSTAT_MACOS_UDP = """\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
udp4       0      0  *.5353                 *.*
udp46      0      0  *.*                    *.*
udp4       0      0  192.168.1.5.61000      192.168.1.1.53
"""


class FakeSysctl(object):
    """sysctl -n KEY / sysctl KEY=VALUE over a dict; FreeBSD-like checks."""

    def __init__(self, values, outputs=None, refuse=None):
        self.values = dict(values)
        self.outputs = outputs or {}
        self.refuse = refuse or set()
        self.ran = []

    def __call__(self, argv):
        self.ran.append(list(argv))
        if argv[0].endswith('sysctl') and argv[1] == '-n':
            if argv[2] not in self.values:
                return 1, '', "sysctl: unknown oid '%s'" % argv[2]
            return 0, '%d\n' % self.values[argv[2]], ''
        if argv[0].endswith('sysctl'):
            key, value = argv[1].split('=')
            if key in self.refuse:
                return 1, '', 'sysctl: %s=%s: Operation not permitted' % (key, value)
            old = self.values[key]
            self.values[key] = int(value)
            return 0, '%s: %d -> %s\n' % (key, old, value), ''
        return self.outputs[tuple(argv)]

    def sets(self):
        return [argv for argv in self.ran if argv[0].endswith('sysctl') and argv[1] != '-n']


FREEBSD = {
    'net.inet.ip.portrange.first': 10000, 'net.inet.ip.portrange.last': 65535,
    'net.inet.ip.portrange.hifirst': 49152, 'net.inet.ip.portrange.hilast': 65535,
    'net.inet.ip.portrange.reservedhigh': 1023, 'net.inet.tcp.msl': 30000,
}
MACOS = {
    'net.inet.ip.portrange.first': 49152, 'net.inet.ip.portrange.last': 65535,
    'net.inet.ip.portrange.hifirst': 49152, 'net.inet.ip.portrange.hilast': 65535, 'net.inet.tcp.msl': 15000,
}


def move(src, dest):
    shutil.move(src, dest)


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    """The host lock in a directory of the test's own, not the machine's /var/run."""
    path = tmp_path / 'lock'
    monkeypatch.setattr(bsd, 'LOCK_DIR', str(path))
    return path


def cycle(fake, conf, **kwargs):
    results = []
    for check in (True, False, True, False):
        sets = len(fake.sets())
        before = open(conf).read() if os.path.exists(conf) else None
        results.append(bsd.set_ephemeral_range(fake, sysctl_file=conf, check_mode=check, move=move, **kwargs))
        if check:
            assert len(fake.sets()) == sets, 'check mode set a sysctl'
            assert (open(conf).read() if os.path.exists(conf) else None) == before, 'check mode wrote the file'
    return results


# ---------------------------------------------------------------- sysctl.conf editing

def test_conf_edit_touches_only_its_keys():
    content = ('# local settings\nkern.ipc.somaxconn=1024  # big backlog\nnet.inet.ip.portrange.first=10000 # ours\n'
               'security.bsd.see_other_uids=0\nnet.inet.ip.portrange.first=12000\n')
    out = bsd.set_conf_values(content, {'net.inet.ip.portrange.first': 20000, 'net.inet.ip.portrange.last': 60999})
    assert out == ('# local settings\nkern.ipc.somaxconn=1024  # big backlog\nnet.inet.ip.portrange.first=20000 # ours\n'
                   'security.bsd.see_other_uids=0\nnet.inet.ip.portrange.last=60999\n')
    assert bsd.conf_value(out, 'net.inet.ip.portrange.first') == '20000'
    assert bsd.conf_value(content, 'net.inet.ip.portrange.first') == '12000'


def test_conf_lines_have_no_blanks_around_equals():
    """FreeBSD's rc.d/sysctl reads the first word of a line: 'key = value' would break at boot."""
    out = bsd.set_conf_values(None, {'net.inet.ip.portrange.first': 20000})
    assert out == 'net.inet.ip.portrange.first=20000\n'


# ---------------------------------------------------------------- ephemeral range

def test_freebsd_default_pair_cycle(tmp_path):
    conf = str(tmp_path / 'sysctl.conf')
    with open(conf, 'w') as handle:
        handle.write('kern.ipc.somaxconn=1024\n')
    os.chmod(conf, 0o600)
    fake = FakeSysctl(FREEBSD)
    first, applied, again, last = cycle(fake, conf, start=20000, end=60999)
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert first['before'] == {'start': 10000, 'end': 65535, 'size': 55536}
    assert first['after'] == {'start': 20000, 'end': 60999, 'size': 41000}
    assert fake.values['net.inet.ip.portrange.first'] == 20000 and fake.values['net.inet.ip.portrange.last'] == 60999
    assert fake.values['net.inet.ip.portrange.hifirst'] == 49152
    assert open(conf).read() == 'kern.ipc.somaxconn=1024\nnet.inet.ip.portrange.first=20000\nnet.inet.ip.portrange.last=60999\n'
    assert first['diff'][1]['after'] == open(conf).read()
    assert first['diff'][0]['before'] == 'net.inet.ip.portrange.first=10000\nnet.inet.ip.portrange.last=65535\n'
    assert fake.sets() == [['sysctl', 'net.inet.ip.portrange.first=20000'], ['sysctl', 'net.inet.ip.portrange.last=60999']]


def test_order_keeps_first_below_last(tmp_path):
    """Moving the range above the current last sets last first, so first <= last after every step."""
    fake = FakeSysctl(dict(FREEBSD, **{'net.inet.ip.portrange.first': 10000, 'net.inet.ip.portrange.last': 20000}))
    bsd.set_ephemeral_range(fake, 30000, 40000, persist=False)
    assert fake.sets() == [['sysctl', 'net.inet.ip.portrange.last=40000'], ['sysctl', 'net.inet.ip.portrange.first=30000']]


def test_macos_both_pairs(tmp_path):
    conf = str(tmp_path / 'sysctl.conf')
    fake = FakeSysctl(MACOS)
    first, applied, again, last = cycle(fake, conf, start=50000, end=60999, portrange='both')
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert sorted(first['ranges']) == ['default', 'high']
    assert fake.values['net.inet.ip.portrange.hifirst'] == 50000 and fake.values['net.inet.ip.portrange.hilast'] == 60999
    assert open(conf).read().count('\n') == 4


def test_file_only_change_is_detected(tmp_path):
    conf = str(tmp_path / 'sysctl.conf')
    fake = FakeSysctl(dict(FREEBSD, **{'net.inet.ip.portrange.first': 20000, 'net.inet.ip.portrange.last': 60999}))
    result = bsd.set_ephemeral_range(fake, 20000, 60999, sysctl_file=conf, check_mode=True)
    assert result['changed'] and not fake.sets()


def test_pairs():
    assert bsd.pairs_for('both') == ['default', 'high']
    with pytest.raises(PortwardenError):
        bsd.pairs_for('low')


def test_high_pair_missing_is_explained():
    fake = FakeSysctl({'net.inet.ip.portrange.first': 10000, 'net.inet.ip.portrange.last': 65535})
    with pytest.raises(PortwardenError) as err:
        bsd.set_ephemeral_range(fake, 20000, 30000, portrange='high', persist=False)
    assert 'no net.inet.ip.portrange.hifirst' in err.value.msg


@pytest.mark.parametrize('start,end,words', [(1000, 5000, 'below 1024'), (5000, 4000, 'greater than end'),
                                             (2000, 70000, 'ports go from 1 to 65535')])
def test_bad_range_refused_before_anything_runs(start, end, words):
    fake = FakeSysctl(FREEBSD)
    with pytest.raises(PortwardenError) as err:
        bsd.set_ephemeral_range(fake, start, end)
    assert words in err.value.msg and fake.ran == []


def test_reserve_outside_the_new_range_passes_with_a_note(tmp_path):
    conf = str(tmp_path / 'sysctl.conf')
    fake = FakeSysctl(FREEBSD)
    first, applied, again, last = cycle(fake, conf, start=20000, end=60999, reserve=['9100', '61000-61001'])
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert 'no per-port reservation; 9100,61000-61001 lie outside the range 20000-60999' in first['warnings'][0]
    assert fake.values['net.inet.ip.portrange.first'] == 20000


@pytest.mark.parametrize('system,name', [('FreeBSD', 'FreeBSD'), ('Darwin', 'macOS')])
def test_reserve_inside_the_new_range_refused_before_anything_runs(system, name):
    fake = FakeSysctl(FREEBSD)
    with pytest.raises(PortwardenError) as err:
        bsd.set_ephemeral_range(fake, 20000, 60999, reserve=['9100', '50051'], system=system)
    assert err.value.msg.startswith(name + ' has no per-port reservation')
    assert 'port(s) 50051 lie inside it' in err.value.msg and err.value.details['ports'] == '50051'
    assert fake.ran == []


def test_sysctl_refusal_says_become(tmp_path):
    fake = FakeSysctl(FREEBSD, refuse={'net.inet.ip.portrange.first'})
    with pytest.raises(PortwardenError) as err:
        bsd.set_ephemeral_range(fake, 20000, 60999, persist=False)
    assert 'Operation not permitted' in err.value.msg and 'become: true' in err.value.msg


# ---------------------------------------------------------------- reserved ports

def test_reserved_inside_range_fails_with_remedy():
    fake = FakeSysctl(FREEBSD)
    with pytest.raises(PortwardenError) as err:
        bsd.reserved_ports(fake, ['45100', '80'], system='FreeBSD')
    msg = err.value.msg
    assert msg.startswith('FreeBSD/macOS have no per-port reservation')
    assert 'port(s) 45100 lie inside the ephemeral port range 10000-65535' in msg
    assert 'portwarden.ports.ephemeral_range with start: 10000 and end: 45099 (35100 ports instead of 55536)' in msg
    assert fake.sets() == []


def test_reserved_outside_ranges_is_already_true():
    fake = FakeSysctl(MACOS)
    result = bsd.reserved_ports(fake, ['22', '8080-8081'], system='Darwin')
    assert not result['changed'] and result['after'] == {'ports': '', 'list': []}
    assert 'macOS has no per-port reservation; 22,8080-8081 lie outside' in result['warnings'][0]


def test_reserved_absent_has_nothing_to_release():
    fake = FakeSysctl(FREEBSD)
    result = bsd.reserved_ports(fake, ['45100'], state='absent')
    assert not result['changed'] and fake.ran == []


# ---------------------------------------------------------------- sockets and port_info

def test_parse_sockstat():
    rows = bsd_report.parse_sockstat(SOCKSTAT_FREEBSD)
    assert len(rows) == 9
    assert rows[0] == dict(rows[0], proto='tcp', family='ipv6', address='::', port=22, pid=812, process='sshd')
    assert rows[3]['family'] == 'ipv6' and rows[3]['port'] == 45100
    assert rows[7]['address'] == '::1' and rows[7]['port'] == 123
    assert rows[8]['pid'] is None and rows[8]['process'] is None


def test_parse_netstat_macos():
    rows = bsd_report.parse_netstat(NETSTAT_MACOS_TCP) + bsd_report.parse_netstat(NETSTAT_MACOS_UDP)
    listeners = [(r['proto'], r['family'], r['address'], r['port']) for r in rows if r['listening']]
    assert listeners == [('tcp', 'ipv6', '::', 5000), ('tcp', 'ipv6', '::1', 631), ('tcp', 'ipv4', '127.0.0.1', 631),
                         ('tcp', 'ipv4', '0.0.0.0', 55000), ('tcp', 'ipv6', 'fe80::1%lo0', 49200),
                         ('udp', 'ipv4', '0.0.0.0', 5353)]
    assert [r['time_wait'] for r in rows if r['proto'] == 'tcp' and not r['listening']] == [False, True]


def test_port_info_freebsd():
    fake = FakeSysctl(FREEBSD, outputs={
        ('netstat', '-an', '-p', 'tcp'): (0, NETSTAT_FREEBSD_TCP, ''),
        ('netstat', '-an', '-p', 'udp'): (0, NETSTAT_FREEBSD_UDP, ''),
        ('sockstat', '-46l'): (0, SOCKSTAT_FREEBSD, ''),
    })
    report = bsd_report.port_info(fake, 'FreeBSD', processes=True, services=[{'name': 'ssh', 'port': 22, 'proto': 'tcp'}])
    assert report['ephemeral_range'] == {'start': 10000, 'end': 65535, 'size': 55536}
    assert report['high_range'] == {'start': 49152, 'end': 65535, 'size': 16384}
    assert report['unprivileged_port_start'] == 1024
    assert report['reserved_ports'] == {'ports': '', 'list': []}
    assert {'proto': 'tcp', 'family': 'ipv6', 'address': '::', 'port': 45100, 'scope': 'any', 'pid': 1201,
            'process': 'node_expor'} in report['listeners']
    in_range = [c for c in report['conflicts'] if c['type'] == 'listener_in_range']
    assert [(c['proto'], c['port']) for c in in_range] == [('tcp', 45100)]
    undeclared = sorted((c['proto'], c['port']) for c in report['conflicts'] if c['type'] == 'listener_not_declared')
    assert undeclared == [('tcp', 80), ('tcp', 111), ('tcp', 45100), ('udp', 514)]  # ntpd's 123 is loopback only
    usage = report['usage']
    assert usage['time_wait_seconds'] == 60 and usage['time_wait'] == 2
    assert usage['busiest'][0]['address'] == '10.0.0.7' and usage['busiest'][0]['ports_in_use'] == 3


def test_port_info_macos_without_sockstat():
    fake = FakeSysctl(MACOS, outputs={
        ('netstat', '-an', '-p', 'tcp'): (0, NETSTAT_MACOS_TCP, ''),
        ('netstat', '-an', '-p', 'udp'): (0, NETSTAT_MACOS_UDP, ''),
    })
    report = bsd_report.port_info(fake, 'Darwin')
    assert report['unprivileged_port_start'] is None
    assert report['usage']['time_wait_seconds'] == 30
    assert [(c['proto'], c['port']) for c in report['conflicts']] == [('tcp', 49200), ('tcp', 55000)]
    assert not any(argv[0] == 'sockstat' for argv in fake.ran)


# ---------------------------------------------------------------- the BSD modules' entry points

class FakeModule(object):
    def __init__(self, params, fake, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._fake = fake

    def run_command(self, argv, check_rc=False):
        return self._fake(argv)

    def get_bin_path(self, name, required=False):
        return name

    def atomic_move(self, src, dest):
        shutil.move(src, dest)


@pytest.mark.parametrize('system', ['FreeBSD', 'Darwin'])
def test_bsd_module_entry_points(monkeypatch, tmp_path, system):
    monkeypatch.setattr(backend, 'system', lambda: system)
    fake = FakeSysctl(FREEBSD)
    params = {'start': 20000, 'end': 60999, 'protocol': 'all', 'family': 'all', 'persist': True,
              'sysctl_file': str(tmp_path / 'sysctl.conf'), 'bsd_portrange': 'default', 'reserve': []}
    result = backend_bsd.ephemeral_range(FakeModule(params, fake))
    assert result['changed'] and fake.values['net.inet.ip.portrange.first'] == 20000
    params['protocol'] = 'tcp'
    with pytest.raises(PortwardenError) as err:
        backend_bsd.ephemeral_range(FakeModule(params, fake))
    assert 'protocol and family must both be "all"' in err.value.msg
    with pytest.raises(PortwardenError) as err:
        backend_bsd.reserved_ports(FakeModule({'ports': ['45100'], 'state': 'present', 'protocol': 'all',
                                               'family': 'all'}, fake))
    assert 'no per-port reservation' in err.value.msg


def test_backend_bsd_default_file_is_etc_sysctl_conf(monkeypatch):
    monkeypatch.setattr(backend, 'system', lambda: 'FreeBSD')
    fake = FakeSysctl(FREEBSD)
    params = {'start': 20000, 'end': 60999, 'protocol': 'all', 'family': 'all', 'persist': True, 'sysctl_file': None,
              'bsd_portrange': 'default', 'reserve': []}
    result = backend_bsd.ephemeral_range(FakeModule(params, fake, check_mode=True))
    assert result['sysctl_file'] == '/etc/sysctl.conf'


def test_backend_linux_refuses_protocol_for_reservations(monkeypatch):
    monkeypatch.setattr(backend, 'system', lambda: 'Linux')
    with pytest.raises(PortwardenError) as err:
        backend_linux.reserved_ports(FakeModule({'ports': ['9100'], 'state': 'present', 'protocol': 'udp',
                                                 'family': 'all'}, None))
    assert 'Linux has one list of reserved ports' in err.value.msg


def test_bsd_port_info_entry_point(monkeypatch):
    monkeypatch.setattr(backend, 'system', lambda: 'Darwin')
    fake = FakeSysctl(MACOS, outputs={
        ('netstat', '-an', '-p', 'tcp'): (0, NETSTAT_MACOS_TCP, ''),
        ('netstat', '-an', '-p', 'udp'): (0, NETSTAT_MACOS_UDP, ''),
    })
    report = bsd_report.module_report(FakeModule({'processes': False, 'services': None, 'top': 5}, fake))
    assert report['ephemeral_range'] == {'start': 49152, 'end': 65535, 'size': 16384}
    assert sorted(report) == ['conflicts', 'ephemeral_range', 'firewall', 'high_range', 'listeners', 'reserved_ports',
                              'unprivileged_port_start', 'usage']
    assert set(report['firewall'].values()) == {None}   # read on Linux only


@pytest.mark.parametrize('system', ['FreeBSD', 'Darwin'])
def test_linux_modules_refuse_a_bsd_host_naming_it(monkeypatch, system):
    """The marker the action plugin reads to run the BSD module instead; nothing ran on the host."""
    monkeypatch.setattr(backend, 'system', lambda: system)
    fake = FakeSysctl(FREEBSD)
    params = {'start': 20000, 'end': 60999, 'protocol': 'all', 'family': 'all', 'persist': True, 'sysctl_file': None,
              'bsd_portrange': 'default', 'reserve': [], 'conntrack_max': None}
    calls = ((backend_linux.ephemeral_range, params, 'bsd_ephemeral_range'),
             (backend_linux.reserved_ports, {'ports': ['80'], 'state': 'present'}, 'bsd_reserved_ports'),
             (portinfo.port_info, {'processes': False, 'services': None, 'top': 5}, 'bsd_port_info'))
    for operation, args, bsd_module in calls:
        with pytest.raises(PortwardenError) as err:
            operation(FakeModule(args, fake))
        assert err.value.details == {backend.SYSTEM_KEY: system}
        assert 'portwarden.ports.%s' % bsd_module in err.value.msg and system in err.value.msg
    assert fake.ran == []


@pytest.mark.parametrize('system', ['Linux', 'SunOS'])
def test_bsd_modules_refuse_other_hosts_naming_them(monkeypatch, system):
    monkeypatch.setattr(backend, 'system', lambda: system)
    fake = FakeSysctl(FREEBSD)
    calls = ((backend_bsd.ephemeral_range, {'start': 20000, 'end': 60999}),
             (backend_bsd.reserved_ports, {'ports': ['80'], 'state': 'present'}),
             (bsd_report.module_report, {'processes': False, 'services': None, 'top': 5}))
    for operation, args in calls:
        with pytest.raises(PortwardenError) as err:
            operation(FakeModule(args, fake))
        assert err.value.details == {backend.SYSTEM_KEY: system}
        if system == 'Linux':
            assert 'serves FreeBSD and macOS and this host runs Linux' in err.value.msg
        else:
            assert 'does not support SunOS; supported: Linux, FreeBSD, macOS' in err.value.msg
    assert fake.ran == []


# ---------------------------------------------------------------- the host lock; one result shape

def test_a_change_holds_the_host_lock(tmp_path, lock_dir):
    """While another run holds the lock the change waits and then fails naming the holder; check mode never waits."""
    from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock
    fake = FakeSysctl(FREEBSD)
    conf = str(tmp_path / 'sysctl.conf')
    with HostLock('another enforce run', directory=str(lock_dir)):
        with pytest.raises(PortwardenError) as err:
            bsd.set_ephemeral_range(fake, 20000, 60999, sysctl_file=conf, move=move, lock_dir=str(lock_dir),
                                    lock_timeout=0)
        assert 'another enforce run' in err.value.msg
        assert fake.sets() == [] and not os.path.exists(conf)
        predicted = bsd.set_ephemeral_range(fake, 20000, 60999, sysctl_file=conf, move=move, check_mode=True)
        assert predicted['changed'] and fake.sets() == []
    seen = []

    class Watching(FakeSysctl):
        def __call__(self, argv):
            if argv[1] != '-n':
                with pytest.raises(PortwardenError):
                    HostLock('probe', directory=str(lock_dir), timeout=0).acquire()
                seen.append(argv[1])
            return FakeSysctl.__call__(self, argv)

    watched = Watching(FREEBSD)
    assert bsd.set_ephemeral_range(watched, 20000, 60999, sysctl_file=conf, move=move)['changed']
    assert seen == ['net.inet.ip.portrange.first=20000', 'net.inet.ip.portrange.last=60999']
    HostLock('after', directory=str(lock_dir), timeout=0).acquire()


@pytest.mark.parametrize('system', ['FreeBSD', 'Darwin'])
def test_every_result_has_the_range_and_the_reservations(monkeypatch, tmp_path, system):
    monkeypatch.setattr(backend, 'system', lambda: system)
    fake = FakeSysctl(FREEBSD, outputs={
        ('netstat', '-an', '-p', 'tcp'): (0, NETSTAT_FREEBSD_TCP, ''),
        ('netstat', '-an', '-p', 'udp'): (0, NETSTAT_FREEBSD_UDP, ''),
        ('sockstat', '-46l'): (0, SOCKSTAT_FREEBSD, ''),
    })
    params = {'start': 20000, 'end': 60999, 'protocol': 'all', 'family': 'all', 'persist': True,
              'sysctl_file': str(tmp_path / 'sysctl.conf'), 'bsd_portrange': 'default', 'reserve': []}
    ranged = backend_bsd.ephemeral_range(FakeModule(params, fake, check_mode=True))
    assert ranged['ephemeral_range'] == {'start': 20000, 'end': 60999, 'size': 41000}
    assert ranged['reserved_ports'] == {'ports': '', 'list': []}
    reserved = backend_bsd.reserved_ports(FakeModule({'ports': ['80'], 'state': 'present', 'protocol': 'all',
                                                      'family': 'all'}, fake))
    assert reserved['ephemeral_range'] == {'start': 10000, 'end': 65535, 'size': 55536}
    assert reserved['reserved_ports'] == {'ports': '', 'list': []}
    released = backend_bsd.reserved_ports(FakeModule({'ports': ['80'], 'state': 'absent', 'protocol': 'all',
                                                      'family': 'all'}, fake))
    assert released['ephemeral_range'] == reserved['ephemeral_range'] and released['reserved_ports'] == {'ports': '', 'list': []}
    info = bsd_report.module_report(FakeModule({'processes': False, 'services': None, 'top': 5}, fake))
    assert (info['ephemeral_range'], info['reserved_ports']) == (reserved['ephemeral_range'], reserved['reserved_ports'])

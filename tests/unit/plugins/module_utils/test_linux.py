# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux.py against a fake /proc/sys and fake sysctl.d trees (the same code
runs against the real kernel in tests/integration)."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import linux, sysctld
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


def move(src, dest):
    shutil.move(src, dest)


@pytest.fixture
def procsys(tmp_path):
    root = tmp_path / 'proc_sys'
    ipv4 = root / 'net' / 'ipv4'
    ipv4.mkdir(parents=True)
    (ipv4 / 'ip_local_port_range').write_text('32768\t60999\n')
    (ipv4 / 'ip_local_reserved_ports').write_text('\n')
    (ipv4 / 'ip_unprivileged_port_start').write_text('1024\n')
    return str(root)


def read(procsys, name):
    with open(os.path.join(procsys, 'net', 'ipv4', name)) as handle:
        return handle.read().strip()


# ---------------------------------------------------------------- file editing

def test_set_file_value_keeps_other_lines():
    before = '# comment\nvm.swappiness = 10\nnet.ipv4.ip_local_port_range=1 2\n; other\nkernel.x = 1\n'
    after = sysctld.set_file_value(before, 'net.ipv4.ip_local_port_range', '40000 50001')
    assert after == '# comment\nvm.swappiness = 10\nnet.ipv4.ip_local_port_range = 40000 50001\n; other\nkernel.x = 1\n'


def test_set_file_value_drops_later_duplicates_and_slash_keys():
    before = 'net/ipv4/ip_local_port_range = 1 2\nfoo = 1\n-net.ipv4.ip_local_port_range = 3 4\n'
    after = sysctld.set_file_value(before, 'net.ipv4.ip_local_port_range', '5 6')
    assert after == 'net.ipv4.ip_local_port_range = 5 6\nfoo = 1\n'


def test_set_file_value_appends_and_removes():
    created = sysctld.set_file_value(None, 'a.b', '1')
    assert created.endswith('a.b = 1\n') and created.startswith('# Managed by portwarden.ports')
    assert sysctld.set_file_value('x = 1\n', 'a.b', '2') == 'x = 1\na.b = 2\n'
    assert sysctld.set_file_value('x = 1\na.b = 2\n', 'a.b', None) == 'x = 1\n'
    assert sysctld.set_file_value('# a.b = 1\n', 'a.b', '3') == '# a.b = 1\na.b = 3\n'


def test_file_value_last_wins():
    assert sysctld.file_value('a.b = 1\na/b=2\n', 'a.b') == '2'
    assert sysctld.file_value('# a.b = 1\n', 'a.b') is None
    assert sysctld.file_value(None, 'a.b') is None


# ---------------------------------------------------------------- boot order

@pytest.fixture
def tree(tmp_path):
    dirs = tuple(str(tmp_path / d) for d in ('etc', 'run', 'usrlocal', 'usr', 'lib'))
    for d in dirs:
        os.makedirs(d)
    conf = str(tmp_path / 'sysctl.conf')
    return dirs, conf


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def test_boot_order_first_dir_wins_and_sorted(tree):
    (etc, run, dummy, usr, dummy2), conf = tree
    write(os.path.join(usr, '10-a.conf'), '')
    write(os.path.join(etc, '10-a.conf'), '')
    write(os.path.join(run, '05-b.conf'), '')
    write(os.path.join(usr, 'README'), '')
    write(conf, '')
    assert sysctld.boot_order(tree[0], conf) == [os.path.join(run, '05-b.conf'), os.path.join(etc, '10-a.conf'), conf]


def test_boot_overrides_names_later_file(tree):
    dirs, conf = tree
    ours = os.path.join(dirs[0], '90-portwarden.conf')
    write(ours, 'net.ipv4.ip_local_port_range = 40000 50001\n')
    write(os.path.join(dirs[3], '95-vendor.conf'), 'net.ipv4.ip_local_port_range = 1024 65000\n')
    write(os.path.join(dirs[0], '10-early.conf'), 'net.ipv4.ip_local_port_range = 1 2\n')
    write(conf, 'net/ipv4/ip_local_port_range = 3 4\n')
    warnings = sysctld.boot_overrides(ours, 'net.ipv4.ip_local_port_range', dirs, conf)
    assert len(warnings) == 2
    assert '95-vendor.conf sets net.ipv4.ip_local_port_range = 1024 65000' in warnings[0]
    assert warnings[1].startswith(conf + ' sets')
    assert not any('10-early' in w for w in warnings)


def test_boot_overrides_shadow_and_bad_names(tree):
    dirs, conf = tree
    ours = os.path.join(dirs[3], '90-p.conf')
    write(os.path.join(dirs[0], '90-p.conf'), '')
    assert 'shadows' in sysctld.boot_overrides(ours, 'a.b', dirs, conf)[0]
    assert 'must end in .conf' in sysctld.boot_overrides(os.path.join(dirs[0], 'x.txt'), 'a.b', dirs, conf)[0]
    assert 'not in a directory that is applied at boot' in sysctld.boot_overrides('/tmp/x.conf', 'a.b', dirs, conf)[0]
    assert sysctld.boot_overrides(os.path.join(dirs[0], 'quiet.conf'), 'a.b', dirs, conf) == []


# ---------------------------------------------------------------- backends, fake /proc/sys

def test_ephemeral_range_check_then_apply(procsys, tmp_path):
    dropin = str(tmp_path / 'etc' / '90-portwarden.conf')
    kwargs = dict(persist=True, sysctl_file=dropin, move=move, proc_sys=procsys)
    check = linux.set_ephemeral_range(40000, 50001, check_mode=True, **kwargs)
    assert check['changed'] and check['before'] == {'start': 32768, 'end': 60999, 'size': 28232}
    assert check['after'] == {'start': 40000, 'end': 50001, 'size': 10002}
    assert read(procsys, 'ip_local_port_range') == '32768\t60999' and not os.path.exists(dropin)
    assert check['diff'][1]['after'].endswith('net.ipv4.ip_local_port_range = 40000 50001\n')
    applied = linux.set_ephemeral_range(40000, 50001, **kwargs)
    assert applied['changed'] and read(procsys, 'ip_local_port_range') == '40000 50001'
    assert sysctld.file_value(linux.read_text(dropin), linux.RANGE_KEY) == '40000 50001'
    assert not linux.set_ephemeral_range(40000, 50001, check_mode=True, **kwargs)['changed']
    assert not linux.set_ephemeral_range(40000, 50001, **kwargs)['changed']


def test_ephemeral_range_whitespace_is_not_a_change(procsys, tmp_path):
    dropin = str(tmp_path / 'd.conf')
    write(dropin, 'net.ipv4.ip_local_port_range=32768\t\t60999\n')
    result = linux.set_ephemeral_range(32768, 60999, sysctl_file=dropin, move=move, proc_sys=procsys)
    assert not result['changed']


@pytest.mark.parametrize('start, end, fragment', [
    (50000, 40000, 'start 50000 is greater than end 40000'),
    (0, 100, 'Invalid start 0'),
    (1024, 70000, 'Invalid end 70000'),
    (100, 60000, 'below net.ipv4.ip_unprivileged_port_start (1024)'),
    (True, 60000, 'Invalid start True'),
])
def test_ephemeral_range_refuses(procsys, tmp_path, start, end, fragment):
    dropin = str(tmp_path / 'd.conf')
    with pytest.raises(PortwardenError) as info:
        linux.set_ephemeral_range(start, end, sysctl_file=dropin, move=move, proc_sys=procsys)
    assert fragment in str(info.value)
    assert read(procsys, 'ip_local_port_range') == '32768\t60999' and not os.path.exists(dropin)


def test_ephemeral_range_warnings(procsys, tmp_path):
    result = linux.set_ephemeral_range(40000, 50000, persist=False, check_mode=True, proc_sys=procsys,
                                       listeners=lambda: linux.PortSet.parse('45000,22'))
    assert any('same parity' in w for w in result['warnings'])
    assert any('covers port(s) 45000' in w for w in result['warnings'])
    assert 'sysctl_file' not in result and len(result['diff']) == 1


def test_reserved_ports_states(procsys, tmp_path):
    dropin = str(tmp_path / 'd.conf')
    kwargs = dict(sysctl_file=dropin, move=move, proc_sys=procsys)
    first = linux.set_reserved_ports(['9100', '8080-8081'], **kwargs)
    assert first['changed'] and first['added'] == ['8080-8081', 9100]
    assert read(procsys, 'ip_local_reserved_ports') == '8080-8081,9100'
    assert not linux.set_reserved_ports(['9100,8081', '8080'], **kwargs)['changed']
    removed = linux.set_reserved_ports(['8081'], state='absent', **kwargs)
    assert removed['removed'] == [8081] and removed['after']['ports'] == '8080,9100'
    exact = linux.set_reserved_ports([], state='exact', **kwargs)
    assert exact['changed'] and exact['after'] == {'ports': '', 'list': []}
    assert read(procsys, 'ip_local_reserved_ports') == ''
    assert sysctld.file_value(linux.read_text(dropin), linux.RESERVED_KEY) == ''


def test_reserved_ports_bad_input_changes_nothing(procsys, tmp_path):
    dropin = str(tmp_path / 'd.conf')
    with pytest.raises(PortwardenError) as info:
        linux.set_reserved_ports(['22', '70000'], sysctl_file=dropin, move=move, proc_sys=procsys)
    assert "'70000'" in str(info.value)
    assert not os.path.exists(dropin) and read(procsys, 'ip_local_reserved_ports') == ''


def test_read_only_proc_is_explained(procsys, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise IOError(30, 'Read-only file system')
    monkeypatch.setattr('builtins.open', refuse)
    with pytest.raises(PortwardenError) as info:
        linux.write_sysctl(linux.RANGE_KEY, '1 2', proc_sys=procsys)
    assert 'read-only' in str(info.value) and 'privileged' in str(info.value)


# ---------------------------------------------------------------- all or nothing, lock, conntrack

class FakeLock(object):
    """Records when the host lock is taken and released, and what the kernel held then."""

    def __init__(self, procsys):
        self.procsys = procsys
        self.events = []

    def __call__(self, what):
        self.what = what
        return self

    def __enter__(self):
        self.events.append(('acquire', read(self.procsys, 'ip_local_reserved_ports')))
        return self

    def __exit__(self, *exc_info):
        self.events.append(('release', read(self.procsys, 'ip_local_reserved_ports')))


def snapshot(procsys, directory):
    return (read(procsys, 'ip_local_port_range').split(), read(procsys, 'ip_local_reserved_ports'), sorted(os.listdir(directory)),
            {name: open(os.path.join(directory, name)).read() for name in os.listdir(directory)})


@pytest.fixture
def dropin_dir(tmp_path):
    directory = tmp_path / 'sysctl.d'
    directory.mkdir()
    (directory / '90-portwarden.conf').write_text('# site\nvm.swappiness = 10\n')
    return str(directory)


def test_two_keys_the_range_write_fails_the_reservations_are_put_back(procsys, dropin_dir, monkeypatch):
    before = snapshot(procsys, dropin_dir)
    real = linux.write_sysctl

    def refuse_range(key, value, proc_sys):
        if key == linux.RANGE_KEY:
            raise PortwardenError('The kernel refused %s = %r (invalid argument).' % (key, value))
        real(key, value, proc_sys)
    monkeypatch.setattr(linux, 'write_sysctl', refuse_range)
    with pytest.raises(PortwardenError) as info:
        linux.set_ephemeral_range(40000, 50001, reserve=['45000'], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'),
                                  proc_sys=procsys, lock=FakeLock(procsys))
    msg = info.value.msg
    assert 'The kernel refused net.ipv4.ip_local_port_range' in msg
    assert 'Tried: net.ipv4.ip_local_reserved_ports (empty) -> 45000; net.ipv4.ip_local_port_range 32768 60999 -> 40000 50001' in msg
    assert 'Undone: the kernel values and %s are as they were' % os.path.join(dropin_dir, '90-portwarden.conf') in msg
    assert info.value.details['live'] == 'unchanged'
    assert snapshot(procsys, dropin_dir) == before


def test_the_move_fails_the_kernel_is_put_back_and_no_temp_is_left(procsys, dropin_dir, monkeypatch):
    before = snapshot(procsys, dropin_dir)

    def busy(src, dest):
        raise OSError(16, 'Device or resource busy')
    monkeypatch.setattr(os, 'replace', busy)
    with pytest.raises(PortwardenError) as info:
        linux.set_ephemeral_range(40000, 50001, reserve=[45000], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'),
                                  proc_sys=procsys, lock=FakeLock(procsys))
    assert 'Device or resource busy' in info.value.msg and 'Undone' in info.value.msg
    assert snapshot(procsys, dropin_dir) == before
    with pytest.raises(PortwardenError, match='Undone'):
        linux.set_reserved_ports([22], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'), proc_sys=procsys,
                                 lock=FakeLock(procsys))
    assert snapshot(procsys, dropin_dir) == before


def test_an_undo_that_fails_says_what_is_live(procsys, dropin_dir, monkeypatch):
    real = linux.write_sysctl
    calls = []

    def flaky(key, value, proc_sys):
        calls.append((key, value))
        if key == linux.RANGE_KEY or (key == linux.RESERVED_KEY and value == ''):
            raise PortwardenError('Cannot write %s = %r: I/O error.' % (key, value))
        real(key, value, proc_sys)
    monkeypatch.setattr(linux, 'write_sysctl', flaky)
    with pytest.raises(PortwardenError) as info:
        linux.set_ephemeral_range(40000, 50001, reserve=[45000], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'),
                                  proc_sys=procsys, lock=FakeLock(procsys))
    assert 'NOT undone: net.ipv4.ip_local_reserved_ports is live at 45000, not back at ' in info.value.msg
    assert info.value.details['live'].startswith('net.ipv4.ip_local_reserved_ports is live at 45000')
    assert calls[-1] == (linux.RESERVED_KEY, '')


def test_staging_fails_before_the_kernel_is_touched(procsys, dropin_dir, monkeypatch):
    before = snapshot(procsys, dropin_dir)

    def full(*args, **kwargs):
        raise PortwardenError('Cannot write x: No space left on device.')
    monkeypatch.setattr(linux, 'StagedFile', full)
    with pytest.raises(PortwardenError) as info:
        linux.set_reserved_ports([9100], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'), proc_sys=procsys,
                                 lock=FakeLock(procsys))
    assert 'Nothing was changed: the kernel values and' in info.value.msg
    assert 'Tried: net.ipv4.ip_local_reserved_ports (empty) -> 9100; write ' in info.value.msg
    assert snapshot(procsys, dropin_dir) == before


def test_check_mode_predicts_an_unwritable_directory(procsys, dropin_dir, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if path == dropin_dir else real(path, mode))
    for check in (True, False):
        with pytest.raises(PortwardenError) as info:
            linux.set_reserved_ports([9100], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'), check_mode=check,
                                     proc_sys=procsys, lock=FakeLock(procsys))
        assert 'is not writable' in info.value.msg and 'Nothing was changed' in info.value.msg
    assert read(procsys, 'ip_local_reserved_ports') == ''


def test_check_mode_predicts_a_full_file_system(procsys, dropin_dir, monkeypatch):
    class Full(object):
        f_bavail = 0
        f_frsize = 4096
        f_flag = 0
    monkeypatch.setattr(os, 'statvfs', lambda path: Full())
    with pytest.raises(PortwardenError, match='is full .0 bytes free'):
        linux.set_reserved_ports([9100], sysctl_file=os.path.join(dropin_dir, 'x.conf'), check_mode=True, proc_sys=procsys)


def test_the_lock_covers_read_plan_apply_and_check_mode_takes_none(procsys, dropin_dir):
    lock = FakeLock(procsys)
    path = os.path.join(dropin_dir, '90-portwarden.conf')
    linux.set_reserved_ports([9100], sysctl_file=path, check_mode=True, proc_sys=procsys, lock=lock)
    assert lock.events == []
    linux.set_reserved_ports([9100], sysctl_file=path, proc_sys=procsys, lock=lock)
    assert lock.events == [('acquire', ''), ('release', '9100')] and lock.what == 'portwarden.ports.reserved_ports'
    linux.set_ephemeral_range(40000, 50001, reserve=[45000], sysctl_file=path, proc_sys=procsys, lock=lock)
    assert lock.events[2:] == [('acquire', '9100'), ('release', '9100,45000')]
    assert lock.what == 'portwarden.ports.ephemeral_range'


def test_the_real_host_lock_is_taken_and_a_held_one_names_its_holder(procsys, dropin_dir, tmp_path):
    from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock

    def lock(what):
        return HostLock(what, directory=str(tmp_path / 'run'), timeout=0)
    with lock('another run'):
        with pytest.raises(PortwardenError) as info:
            linux.set_reserved_ports([9100], sysctl_file=os.path.join(dropin_dir, 'a.conf'), proc_sys=procsys, lock=lock)
    assert '(another run)' in info.value.msg and 'nothing was changed' in info.value.msg
    assert read(procsys, 'ip_local_reserved_ports') == ''
    assert linux.set_reserved_ports([9100], sysctl_file=os.path.join(dropin_dir, 'a.conf'), proc_sys=procsys, lock=lock)['changed']


def test_stale_temps_of_killed_writes_are_removed(procsys, dropin_dir):
    old = os.path.join(dropin_dir, '.portwarden-killed')
    young = os.path.join(dropin_dir, '.portwarden-busy')
    for path in (old, young):
        write(path, 'x')
    os.utime(old, (1, 1))
    linux.set_reserved_ports([9100], sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'), proc_sys=procsys,
                             lock=FakeLock(procsys))
    assert sorted(os.listdir(dropin_dir)) == ['.portwarden-busy', '90-portwarden.conf']


def test_the_file_keeps_its_mode(procsys, dropin_dir):
    path = os.path.join(dropin_dir, '90-portwarden.conf')
    os.chmod(path, 0o600)
    linux.set_reserved_ports([9100], sysctl_file=path, proc_sys=procsys, lock=FakeLock(procsys))
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.fixture
def conntrack(procsys):
    netfilter = os.path.join(procsys, 'net', 'netfilter')
    os.makedirs(netfilter)
    write(os.path.join(netfilter, 'nf_conntrack_max'), '262144\n')
    return procsys


def test_conntrack_max_four_steps_with_the_range(conntrack, dropin_dir):
    path = os.path.join(dropin_dir, '90-portwarden.conf')
    kwargs = dict(sysctl_file=path, proc_sys=conntrack, lock=FakeLock(conntrack), conntrack_max=524288)
    results = [linux.set_ephemeral_range(32768, 60999, check_mode=check, **kwargs) for check in (True, False, True, False)]
    assert [r['changed'] for r in results] == [True, True, False, False]
    assert results[0]['conntrack_max'] == {'before': 262144, 'after': 524288, 'changed': True}
    assert results[0]['diff'] == results[1]['diff']
    headers = [d['before_header'] for d in results[1]['diff']]
    assert headers == [linux.RANGE_KEY + ' (runtime)', linux.CONNTRACK_MAX_KEY + ' (runtime)', path]
    assert results[3]['conntrack_max'] == {'before': 524288, 'after': 524288, 'changed': False}
    with open(os.path.join(conntrack, 'net', 'netfilter', 'nf_conntrack_max')) as handle:
        assert handle.read().strip() == '524288'
    assert sysctld.file_value(linux.read_text(path), linux.CONNTRACK_MAX_KEY) == '524288'


def test_conntrack_not_loaded_names_the_module_and_changes_nothing(procsys, dropin_dir):
    before = snapshot(procsys, dropin_dir)
    for check in (True, False):
        with pytest.raises(PortwardenError) as info:
            linux.set_ephemeral_range(40000, 50001, conntrack_max=1000, check_mode=check, proc_sys=procsys,
                                      sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'), lock=FakeLock(procsys))
        assert 'conntrack) is not loaded' in info.value.msg and 'modprobe nf_conntrack' in info.value.msg
    assert snapshot(procsys, dropin_dir) == before


def test_conntrack_read_only_is_predicted(conntrack, dropin_dir, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if path.endswith('nf_conntrack_max') else real(path, mode))
    with pytest.raises(PortwardenError, match='only the initial network namespace'):
        linux.set_ephemeral_range(40000, 50001, conntrack_max=1000, check_mode=True, proc_sys=conntrack,
                                  sysctl_file=os.path.join(dropin_dir, '90-portwarden.conf'))


@pytest.mark.parametrize('value', [0, -1, True, 2 ** 31, '1000'])
def test_conntrack_max_out_of_range(conntrack, value):
    with pytest.raises(PortwardenError, match='Invalid conntrack_max'):
        linux.set_ephemeral_range(40000, 50001, conntrack_max=value, check_mode=True, proc_sys=conntrack)


def test_null_sysctl_file_is_the_linux_default(procsys):
    result = linux.set_reserved_ports([9100], sysctl_file=None, check_mode=True, proc_sys=procsys)
    assert result['sysctl_file'] == linux.DEFAULT_SYSCTL_FILE

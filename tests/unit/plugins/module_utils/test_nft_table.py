# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/nft_table.py and nft_record.py: listings, the record, and the apply /
confirm / settle / rollback state machine (nft replaced by a fake at run_command;
the rollback timer's shell script runs for real with a fake nft)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import nft_boot, nft_record, nft_runs, nft_table
from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

LISTING = '''table inet portwarden {
\tset static_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.0/8, 192.0.2.0/24 }
\t}

\tset svc1_rate_v4 {
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 1m
\t\telements = { 10.0.0.7 limit rate over 3/minute burst 3 packets expires 41s,
\t\t\t     10.0.0.8 limit rate over 3/minute burst 3 packets expires 55s }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\ttcp dport 22 accept
\t}
}
'''


def test_normalize_listing_drops_dynamic_elements_only():
    out = nft_record.normalize_listing(LISTING)
    assert 'elements = { 10.0.0.0/8, 192.0.2.0/24 }' in out
    assert '10.0.0.7' not in out and '10.0.0.8' not in out and 'expires' not in out
    assert 'flags dynamic,timeout' in out and 'tcp dport 22 accept' in out
    assert nft_record.normalize_listing(out) == out
    empty = LISTING.replace('\t\telements = { 10.0.0.7 limit rate over 3/minute burst 3 packets expires 41s,\n'
                            '\t\t\t     10.0.0.8 limit rate over 3/minute burst 3 packets expires 55s }\n', '')
    assert nft_record.normalize_listing(empty) == out


def test_restore_script_declares_deletes_defines():
    assert nft_record.restore_script('inet', 'portwarden', None) == 'table inet portwarden {}\ndelete table inet portwarden\n'
    assert nft_record.restore_script('inet', 'portwarden', 'table inet portwarden {\n}\n').endswith(
        'delete table inet portwarden\ntable inet portwarden {\n}\n')


# ---------------------------------------------------------------- state machine
class FakeModule(object):
    """run_command with a pretend nft: one table, loaded from the last -f script; systemctl with one unit."""

    def __init__(self, tmpdir, check_fails=False, load_fails=False, nft=True):
        self.live = None
        self.calls = []
        self.events = []
        self.check_fails = check_fails
        self.load_fails = load_fails
        self.nft = nft
        self.tmpdir = tmpdir
        self.enabled = False
        self.checked = {}
        self.loads = 0
        self.load_budget = None          # loads left before every further nft -f fails (None: no limit)

    def get_bin_path(self, name, required=False):
        if name == 'nft' and not self.nft:
            return None
        return '/usr/sbin/' + name

    def atomic_move(self, src, dst):
        os.rename(src, dst)

    def run_command(self, argv, check_rc=False):
        tool, args = os.path.basename(argv[0]), argv[1:]
        if tool == 'systemctl':
            self.calls.append(argv[:])
            if args[0] == 'is-enabled':
                return (0, 'enabled\n', '') if self.enabled else (1, 'disabled\n', '')
            self.enabled = True
            return 0, '', ''
        self.calls.append(args)
        self.events.append('nft ' + ' '.join(args[:2]))
        if args[:2] == ['-s', 'list']:
            return (0, self.live, '') if self.live is not None else (1, '', 'Error: No such file or directory')
        if args[0] == '-c':
            with open(args[2]) as handle:
                self.checked[args[2]] = handle.read()
            return (1, '', 'Error: syntax error') if self.check_fails else (0, '', '')
        if args[0] == '-f':
            if self.load_fails or self.load_budget == 0:
                return 1, '', 'Error: syntax error'
            if self.load_budget is not None:
                self.load_budget -= 1
            self.loads += 1
            with open(args[1]) as handle:
                script = handle.read()
            body = script.split('delete table inet portwarden\n', 1)[1]
            self.live = body if body.strip() else None
            return 0, '', ''
        raise AssertionError(argv)


class Generation(object):
    """The ruleset generation the kernel would report: goes up with every nft -f of the fake."""

    def __init__(self, module, available=True):
        self.module = module
        self.available = available
        self.extra = 0

    def __call__(self):
        if not self.available:
            return None
        return 'boot:7:%d' % (self.module.loads + self.extra)


def make(tmp_path, monkeypatch, **kwargs):
    scratch = tmp_path / 'tmp'
    scratch.mkdir(exist_ok=True)
    module = FakeModule(str(scratch), **kwargs)
    mgr = nft_table.TableManager(module, 'inet', 'portwarden', str(tmp_path / 'state'))
    timers = []

    def watchdog(*args, lock=None):
        timers.append(args)
        module.events.append('timer')
    monkeypatch.setattr(mgr, 'start_watchdog', watchdog)
    gen = Generation(module)
    monkeypatch.setattr(mgr, 'generation', gen)
    monkeypatch.setattr(nft_boot, 'SYSTEMD_RUNNING', str(tmp_path / 'run-systemd-system'))
    return module, mgr, gen, timers


@pytest.fixture
def setup(tmp_path, monkeypatch):
    module, mgr, _gen, timers = make(tmp_path, monkeypatch)
    return module, mgr, str(tmp_path / 'etc' / 'portwarden.nft'), timers


CONTENT = 'table inet portwarden {}\ndelete table inet portwarden\ntable inet portwarden {\n\tchain input {\n\t}\n}\n'
CONTENT2 = CONTENT.replace('chain input {\n', 'chain input {\n\t\ttcp dport 22 accept\n')


def nft_calls(module):
    return [c for c in module.calls if not c[0].endswith('systemctl')]


def test_check_apply_check_apply_without_rollback(setup):
    module, mgr, path, timers = setup
    result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=True)
    assert result['changed'] and result['table_changed'] and result['file_changed']
    assert module.live is None and not os.path.exists(path) and not os.path.exists(mgr.state_dir)
    assert result['diff']['after'] == CONTENT and result['diff']['before'] == ''
    assert [c[:2] for c in module.calls] == [['-s', 'list'], ['-c', '-f']]   # check mode checks the script

    module.calls[:] = []
    result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert result['changed'] and result['pending'] is None and not timers
    assert module.live.startswith('table inet portwarden {')
    with open(path) as handle:
        assert handle.read() == CONTENT
    # one load (all or nothing, no separate nft -c) and one listing for the record; no restore file without a timer
    assert [c[:2] for c in module.calls] == [['-s', 'list'], ['-f', module.calls[1][1]], ['-s', 'list']]
    for check in (True, False):
        module.calls[:] = []
        result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=check)
        assert not result['changed'], check
        assert module.calls == [], 'no nft at all while the ruleset generation is unchanged'
    assert sorted(os.listdir(mgr.state_dir)) == ['inet-portwarden.record']


def test_without_a_generation_every_run_lists_the_table(tmp_path, monkeypatch):
    module, mgr, gen, _timers = make(tmp_path, monkeypatch)
    gen.available = False
    path = str(tmp_path / 'etc' / 'x.nft')
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.calls[:] = []
    assert not nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)['changed']
    assert module.calls == [['-s', 'list', 'table', 'inet', 'portwarden']]


def test_a_commit_elsewhere_costs_one_listing_then_none(tmp_path, monkeypatch):
    module, mgr, gen, _timers = make(tmp_path, monkeypatch)
    path = str(tmp_path / 'etc' / 'x.nft')
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    gen.extra = 5                                  # another tool committed a transaction (its own table)
    for expected in ([['-s', 'list', 'table', 'inet', 'portwarden']], []):
        module.calls[:] = []
        result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
        assert not result['changed'] and not result['drifted']
        assert module.calls == expected
    assert 'generation boot:7:6\n' in open(mgr.state_path('record')).read()


def test_drift_is_seen_and_repaired(tmp_path, monkeypatch):
    module, mgr, gen, _timers = make(tmp_path, monkeypatch)
    path = str(tmp_path / 'etc' / 'x.nft')
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.live = module.live.replace('chain input {', 'chain input {\n\t\ttcp dport 4444 accept')
    gen.extra = 1                                  # the change behind Ansible's back was a transaction
    result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=True)
    assert result['changed'] and result['drifted'] and 'tcp dport 4444' in result['diff']['before']
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert '4444' not in module.live


def test_rollback_armed_then_confirmed(setup):
    module, mgr, path, timers = setup
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    assert result['pending'] == 'aa11bb22'
    (timeout, pending, restore, outcome), = timers
    assert timeout == 30 and os.path.exists(pending) and outcome.endswith('aa11bb22.rolledback')
    with open(restore) as handle:
        assert handle.read() == 'table inet portwarden {}\ndelete table inet portwarden\n'  # the table did not exist
    assert not os.path.exists(path)                       # persisted only once confirmed
    # armed before the load; the listing for the record right after the load, while this run holds the host lock
    assert module.events == ['nft -s list', 'timer', 'nft -f ' + module.calls[-2][1], 'nft -s list']
    module.events[:] = []
    assert nft_table.confirm_table(mgr, CONTENT, path, 'aa11bb22')['confirmed'] is True
    assert module.events == []                            # the confirmation runs no nft: it records what apply listed
    assert not os.path.exists(pending) and os.path.exists(path) and not os.path.exists(restore)
    assert os.listdir(mgr.state_dir) == ['inet-portwarden.record']
    assert not nft_table.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=False)['changed']


def test_confirmation_without_content_commits_the_copy_saved_at_apply(setup):
    """The action plugin sends no content to confirm: the host keeps the applied script until then."""
    _module, mgr, path, _timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    saved = mgr.state_path('aa11bb22.candidate')
    with open(saved) as handle:
        assert handle.read() == CONTENT
    assert nft_table.confirm_table(mgr, '', path, 'aa11bb22')['confirmed'] is True
    with open(path) as handle:
        assert handle.read() == CONTENT
    assert not os.path.exists(saved)
    assert not nft_table.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=False)['changed']


def test_confirmation_without_content_or_saved_copy_says_the_file_was_not_written(setup):
    _module, mgr, path, _timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    os.unlink(mgr.state_path('aa11bb22.candidate'))
    with pytest.raises(PortwardenError) as info:
        nft_table.confirm_table(mgr, '', path, 'aa11bb22')
    assert 'saved copy' in info.value.msg and 'was not written' in info.value.msg
    assert not os.path.exists(path) and not os.path.exists(mgr.state_path('aa11bb22.pending'))


def test_status_after_a_rollback_removes_the_saved_copy(setup):
    _module, mgr, path, _timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    os.unlink(mgr.state_path('aa11bb22.pending'))         # the timer took the marker and restored
    nft_table.cleanup_token(mgr, 'aa11bb22')
    assert not os.path.exists(mgr.state_path('aa11bb22.candidate'))


def test_replacing_restores_from_the_previous_script_without_checking_a_listing(setup):
    module, mgr, path, timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.calls[:] = []
    module.events[:] = []
    result = nft_table.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    assert result['pending'] == 'cc33dd44' and result['table_changed'] and not result['drifted']
    with open(timers[0][2]) as handle:
        assert handle.read() == CONTENT                  # the script that loaded the current table
    # no listing before, no nft -c: the load, then the listing for the record (which the confirmation writes)
    assert module.events == ['timer', 'nft -f ' + module.calls[0][1], 'nft -s list']
    nft_table.confirm_table(mgr, CONTENT2, path, 'cc33dd44')
    assert 'tcp dport 22 accept' in module.live


def test_replacing_after_the_file_was_edited_restores_a_checked_listing(setup):
    module, mgr, path, timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    with open(path, 'a') as handle:
        handle.write('# edited by hand\n')
    live = module.live
    nft_table.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    restore = timers[0][2]
    with open(restore) as handle:
        assert handle.read() == nft_record.restore_script('inet', 'portwarden', live)
    assert ['-c', '-f', restore] in module.calls


def test_confirm_after_the_timer_fired_reports_the_rollback(setup):
    module, mgr, path, timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    _timeout, pending, _restore, outcome = timers[0]
    os.rename(pending, pending + '.expired')              # what the timer does first
    with open(outcome, 'w') as handle:
        handle.write('rc=0\n')
    with pytest.raises(PortwardenError) as info:
        nft_table.confirm_table(mgr, CONTENT, path, 'aa11bb22')
    assert info.value.details == {'rolled_back': True, 'timer_fired': True} and 'restored the previous table' in info.value.msg
    assert nft_table.status_table(mgr, 'aa11bb22') == {'rolled_back': True, 'rollback_output': 'rc=0', 'waiting': True}
    assert not os.path.exists(path)


def test_invalid_script_is_refused_in_check_mode(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch, check_fails=True)
    with pytest.raises(PortwardenError) as info:
        nft_table.apply_table(mgr, CONTENT, str(tmp_path / 'x.nft'), 30, 'aa11bb22', check_mode=True)
    assert 'nft -c -f' in info.value.msg and 'syntax error' in info.value.msg
    assert [c for c in module.calls if c[0] == '-f'] == [] and not os.path.exists(mgr.state_dir)


def test_invalid_script_changes_nothing_and_disarms_the_timer(tmp_path, monkeypatch):
    module, mgr, _gen, timers = make(tmp_path, monkeypatch, load_fails=True)
    with pytest.raises(PortwardenError) as info:
        nft_table.apply_table(mgr, CONTENT, str(tmp_path / 'x.nft'), 30, 'aa11bb22', check_mode=False)
    assert 'nothing was changed' in info.value.msg and 'syntax error' in info.value.msg
    assert module.live is None and len(timers) == 1
    assert os.listdir(mgr.state_dir) == []                # marker and restore file gone: the timer stands down
    assert not os.path.exists(str(tmp_path / 'x.nft'))


def test_flush_ruleset_is_refused(setup):
    _module, mgr, path, _timers = setup
    with pytest.raises(PortwardenError) as info:
        nft_table.apply_table(mgr, 'flush ruleset\n' + CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert 'flush ruleset' in info.value.msg


def test_missing_nft_is_reported_as_such(tmp_path):
    with pytest.raises(PortwardenError) as info:
        nft_table.TableManager(FakeModule(str(tmp_path), nft=False), 'inet', 'portwarden', str(tmp_path))
    assert info.value.details == {'nft_missing': True} and 'nftables package' in info.value.msg


@pytest.mark.parametrize('family, name', [('inet6', 'x'), ('inet', 'a b'), ('inet', 'x;y'), ('inet', '')])
def test_table_identity_is_checked(tmp_path, family, name):
    with pytest.raises(PortwardenError):
        nft_table.TableManager(FakeModule(str(tmp_path)), family, name, str(tmp_path))


def test_record_round_trip_and_the_older_format():
    record = nft_record.Record('sha256:ab', 'boot:3:9', 'table inet portwarden {\n}\n')
    again = nft_record.Record.parse(record.format())
    assert (again.digest, again.generation, again.listing) == ('sha256:ab', 'boot:3:9', 'table inet portwarden {\n}\n')
    old = nft_record.Record.parse('sha256:ab\ntable inet portwarden {\n}\n')
    assert (old.generation, old.listing) == (None, 'table inet portwarden {\n}\n')
    assert nft_record.Record.parse(None) is None


# ---------------------------------------------------------------- boot configuration
STOCK = '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\ninclude "/etc/nft_table.d/*.nft"'


def test_include_line_and_service_only_after_confirmation(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch)
    os.makedirs(nft_boot.SYSTEMD_RUNNING)
    conf = tmp_path / 'nftables.conf'
    conf.write_text(STOCK)
    conf.chmod(0o700)
    path = str(tmp_path / 'etc' / 'portwarden.nft')
    persist = {'include_in': str(conf), 'enable_service': True}

    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=True, **persist)
    assert result['include_changed'] and result['service_changed'] and result['systemd_running']
    assert result['include_file'] == str(conf)
    rules_diff, conf_diff = result['diff']
    assert rules_diff['after'] == CONTENT
    assert conf_diff['before'] == STOCK and conf_diff['after'] == STOCK + '\ninclude "%s"\n' % path
    assert conf.read_text() == STOCK and not module.enabled

    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False, **persist)
    assert result['pending'] and conf.read_text() == STOCK and not module.enabled   # nothing before the confirmation
    confirmed = nft_table.confirm_table(mgr, CONTENT, path, 'aa11bb22', **persist)
    assert confirmed['include_changed'] and confirmed['service_changed']
    assert conf.read_text() == STOCK + '\ninclude "%s"\n' % path and module.enabled
    assert oct(conf.stat().st_mode & 0o777) == '0o700'                          # the file's own mode is kept
    assert module.checked[[c for c in module.calls if c[0] == '-c'][-1][2]] == conf.read_text()   # checked before

    for check in (True, False):
        result = nft_table.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=check, **persist)
        assert not result['changed'] and not result['include_changed'] and not result['service_changed'], check
        assert isinstance(result['diff'], dict)


def test_missing_include_line_is_restored_without_reloading_the_table(tmp_path, monkeypatch):
    module, mgr, _gen, timers = make(tmp_path, monkeypatch)
    conf = tmp_path / 'sub' / 'nftables.conf'
    path = str(tmp_path / 'etc' / 'portwarden.nft')
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False, include_in=str(conf))
    assert conf.read_text() == 'include "%s"\n' % path and oct(conf.stat().st_mode & 0o777) == '0o755'
    conf.write_text('# emptied by hand\n')
    module.calls[:] = []
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=False, include_in=str(conf),
                                   enable_service=True)
    assert result['changed'] and not result['table_changed'] and result['include_changed'] and not timers
    assert result['systemd_running'] is False and result['service_changed'] is False   # no systemd here: left alone
    assert conf.read_text() == '# emptied by hand\ninclude "%s"\n' % path
    assert [c[:2] for c in module.calls] == [['-c', '-f']]    # only the new nftables.conf was checked; no load


def test_include_refuses_a_path_that_could_escape_the_line(setup):
    _module, mgr, _path, _timers = setup
    with pytest.raises(PortwardenError) as info:
        nft_table.apply_table(mgr, CONTENT, '/etc/x"\ninclude "/tmp/evil', 0, 'aa11bb22', check_mode=True,
                              include_in='/etc/nftables.conf')
    assert 'include line' in info.value.msg


# ---------------------------------------------------------------- runs that overlap or were interrupted
def record_of(mgr):
    return nft_record.Record.parse(open(mgr.state_path('record')).read())


def test_an_unconfirmed_run_is_rolled_back_before_the_next_applies(setup):
    """Ctrl-C between load and confirmation: the rerun restores what that run replaced, disarms its timer, applies."""
    module, mgr, path, timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    first = module.live
    nft_table.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)     # then the controller died
    y_pending = timers[-1][1]
    assert 'tcp dport 22 accept' in module.live and os.path.exists(y_pending)
    check = nft_table.apply_table(mgr, CONTENT2, path, 30, 'ee55ff66', check_mode=True)
    assert check['changed'] and check['settled'] == ['cc33dd44'] and os.path.exists(y_pending)   # predicted, not done
    module.events[:] = []
    result = nft_table.apply_table(mgr, CONTENT2, path, 30, 'ee55ff66', check_mode=False)
    assert result['settled'] == ['cc33dd44'] and result['pending'] == 'ee55ff66' and result['table_changed']
    # the earlier run's restore first (back to the first table), then this run's own timer and load
    assert module.events[0].startswith('nft -f ') and module.events.index('timer') > 0
    assert not os.path.exists(y_pending)                  # its timer finds no marker and stands down
    assert sorted(os.listdir(mgr.state_dir)) == sorted(['inet-portwarden.record'] + ['inet-portwarden.ee55ff66.%s' % x for x in (
        'restore', 'candidate', 'pending', 'loaded')])
    with open(mgr.state_path('ee55ff66.restore')) as handle:
        assert handle.read() == CONTENT                   # this run's rollback restores the first table, not the lost one
    assert first != module.live
    nft_table.confirm_table(mgr, '', path, 'ee55ff66')
    assert os.listdir(mgr.state_dir) == ['inet-portwarden.record']
    assert not nft_table.apply_table(mgr, CONTENT2, path, 30, 'aabbccdd', check_mode=False)['changed']


def test_interleaved_phases_end_on_the_last_apply(setup):
    """Y apply, X apply, X confirm, Y confirm: X is live, in the file and in the record; Y is told it lost."""
    module, mgr, path, _timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aaaa0001', check_mode=False)      # Y
    nft_table.apply_table(mgr, CONTENT2, path, 30, 'bbbb0002', check_mode=False)     # X settles Y first
    nft_table.confirm_table(mgr, '', path, 'bbbb0002')                              # X
    with pytest.raises(PortwardenError) as info:
        nft_table.confirm_table(mgr, '', path, 'aaaa0001')                          # Y
    assert info.value.details == {'superseded': True}
    assert 'no longer pending' in info.value.msg and 'Another run settled it' in info.value.msg
    assert 'tcp dport 22 accept' in module.live
    with open(path) as handle:
        assert handle.read() == CONTENT2
    assert record_of(mgr).digest == nft_record.content_digest(CONTENT2) and record_of(mgr).listing == module.live
    assert os.listdir(mgr.state_dir) == ['inet-portwarden.record']
    assert not nft_table.apply_table(mgr, CONTENT2, path, 30, 'cccc0003', check_mode=True)['changed']
    assert nft_table.apply_table(mgr, CONTENT, path, 30, 'cccc0003', check_mode=True)['changed']   # Y again: a change


def test_a_foreign_change_between_apply_and_confirm_is_drift_for_the_next_run(setup):
    module, mgr, path, _timers = setup
    gen = mgr.generation
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aaaa0001', check_mode=False)
    module.live = module.live.replace('chain input {', 'chain input {\n\t\ttcp dport 4444 accept')
    gen.extra = 1                                        # that edit was a transaction
    nft_table.confirm_table(mgr, '', path, 'aaaa0001')
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'bbbb0002', check_mode=True)
    assert result['changed'] and result['drifted'] and 'tcp dport 4444' in result['diff']['before']


def test_a_timer_restoring_right_now_is_waited_for(setup):
    _module, mgr, path, timers = setup
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aaaa0001', check_mode=False)
    pending = timers[0][1]
    os.rename(pending, pending + '.expired')             # the timer fired and is loading its restore script
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        with open(mgr.state_path('aaaa0001.rolledback'), 'w') as handle:
            handle.write('rc=0\n')
    nft_table.settle(mgr, 'bbbb0002', sleep=sleep)
    assert slept and os.listdir(mgr.state_dir) == []


def test_stale_temp_files_are_removed_under_the_lock(setup):
    _module, mgr, path, _timers = setup
    os.makedirs(mgr.state_dir)
    stale = os.path.join(mgr.state_dir, '.portwarden-killed')
    open(stale, 'w').close()
    open(mgr.state_path('0123abcd.rolledback'), 'w').close()   # an old run's outcome nobody read
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert os.listdir(mgr.state_dir) == ['inet-portwarden.record']


@pytest.mark.parametrize('line, refused', [
    ('flush ruleset', True),
    ('\ttable inet x {}; flush ruleset', True),
    ('table inet x { flush ruleset', True),
    ('# flush ruleset', False),
    ('\t# web: tcp 80 - do not; flush ruleset here', False),          # a description, in a comment
    ('\t\ttcp dport 80 accept comment "a; flush ruleset"', False),    # a quoted string
    ('\t\ttcp dport 80 accept comment "x" ; flush ruleset', True),
])
def test_the_flush_guard_reads_statements_not_comments(setup, line, refused):
    _module, mgr, path, _timers = setup
    content = CONTENT + line + '\n'
    if refused:
        with pytest.raises(PortwardenError) as info:
            nft_table.apply_table(mgr, content, path, 0, 'aa11bb22', check_mode=True)
        assert 'flush ruleset' in info.value.msg and 'Nothing was changed' in info.value.msg
    else:
        assert nft_table.apply_table(mgr, content, path, 0, 'aa11bb22', check_mode=True)['changed']


# ---------------------------------------------------------------- failures say what is live
def test_unwritable_rules_directory_is_predicted_and_changes_nothing(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch)
    (tmp_path / 'blocker').write_text('a file, not a directory')
    path = str(tmp_path / 'blocker' / 'portwarden.nft')
    for check in (True, False):
        with pytest.raises(PortwardenError) as info:
            nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=check)
        assert 'Cannot write %s' % path in info.value.msg and 'not loaded: nothing was changed' in info.value.msg
    assert module.live is None and module.loads == 0


@pytest.mark.parametrize('timeout', [0, 30])
def test_nftables_conf_refused_after_the_load_rolls_back(tmp_path, monkeypatch, timeout):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch)
    path = str(tmp_path / 'etc' / 'portwarden.nft')
    conf = tmp_path / 'nftables.conf'
    conf.write_text(STOCK)
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    before, record = module.live, open(mgr.state_path('record')).read()
    module.check_fails = True                            # nft -c refuses nftables.conf with the include line
    with pytest.raises(PortwardenError) as info:
        nft_table.apply_table(mgr, CONTENT2, path, timeout, 'cc33dd44', check_mode=False, include_in=str(conf))
        nft_table.confirm_table(mgr, '', path, 'cc33dd44', include_in=str(conf))
    msg = info.value.msg
    assert msg.startswith('ROLLED BACK after the load: %s with the include line does not pass "nft -c -f"' % conf), msg
    assert 'The previous table is live again' in msg and 'nothing was changed' in msg and 'see below' not in msg
    assert info.value.details == {'rolled_back': True}
    assert module.live == before and conf.read_text() == STOCK and open(path).read() == CONTENT
    assert open(mgr.state_path('record')).read() == record
    assert os.listdir(mgr.state_dir) == ['inet-portwarden.record']


def test_a_rollback_that_fails_says_the_new_table_is_live(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch)
    path = str(tmp_path / 'etc' / 'portwarden.nft')
    conf = tmp_path / 'nftables.conf'
    conf.write_text(STOCK)
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.check_fails, module.load_budget = True, 1     # the new table loads, the old one then does not
    with pytest.raises(PortwardenError) as info:
        nft_table.apply_table(mgr, CONTENT2, path, 0, 'cc33dd44', check_mode=False, include_in=str(conf))
    assert 'The new table is live and was not rolled back because the saved copy of the previous table does not load' \
        in info.value.msg and info.value.details == {'rolled_back': False}
    assert 'tcp dport 22 accept' in module.live and open(path).read() == CONTENT and conf.read_text() == STOCK


# ---------------------------------------------------------------- the timer script, for real
@pytest.fixture
def fake_nft(tmp_path):
    path = tmp_path / 'nft'
    path.write_text('#!/bin/sh\necho "loaded $*" >> %s\n' % (tmp_path / 'nft.log'))
    path.chmod(0o755)
    return str(path)


def run_timer(tmp_path, fake_nft, timeout):
    pending, restore, outcome = (str(tmp_path / n) for n in ('t.pending', 't.restore', 't.rolledback'))
    for f in (pending, restore):
        open(f, 'w').close()
    proc = subprocess.Popen([shutil.which('sh'), '-c', nft_table.WATCHDOG, 'portwarden-rollback', str(timeout),
                             pending, restore, fake_nft, outcome])
    return proc, pending, restore, outcome


def test_timer_restores_when_not_confirmed(tmp_path, fake_nft):
    proc, pending, restore, outcome = run_timer(tmp_path, fake_nft, 1)
    assert proc.wait(timeout=10) == 0
    assert (tmp_path / 'nft.log').read_text() == 'loaded -f %s\n' % restore
    with open(outcome) as handle:
        assert handle.read() == 'rc=0\n'
    assert not os.path.exists(pending) and not os.path.exists(pending + '.expired')


def test_timer_stands_down_when_confirmed_once_the_confirmation_is_done(tmp_path, fake_nft):
    proc, pending, _restore, outcome = run_timer(tmp_path, fake_nft, 1)
    time.sleep(0.3)
    os.rename(pending, pending + '.confirmed')           # the confirmation starts
    time.sleep(1.5)                                      # past the timeout: a confirmation under way is waited for
    assert proc.poll() is None and not (tmp_path / 'nft.log').exists()
    os.unlink(pending + '.confirmed')                    # ... and done
    assert proc.wait(timeout=10) == 0
    assert not (tmp_path / 'nft.log').exists() and not os.path.exists(outcome)


def test_the_timer_holds_the_host_lock_until_confirmed(tmp_path, monkeypatch):
    """The apply hands the host lock to the timer: no other run takes it until the confirmation is done."""
    lock_dir = str(tmp_path / 'run')
    module = FakeModule(str(tmp_path))
    module.get_bin_path = lambda name, required=False: shutil.which(name) or '/bin/' + name
    mgr = nft_table.TableManager(module, 'inet', 'portwarden', str(tmp_path / 'state'))
    os.makedirs(mgr.state_dir)
    pending = mgr.state_path('aa11bb22.pending')
    open(pending, 'w').close()
    lock = HostLock('apply phase', directory=lock_dir).acquire()
    mgr.start_watchdog(30, pending, mgr.state_path('aa11bb22.restore'), mgr.state_path('aa11bb22.rolledback'), lock=lock)
    assert lock.fd is None                               # closed here, held by the timer
    with pytest.raises(PortwardenError) as info:
        HostLock('another run', directory=lock_dir, timeout=0.3).acquire()
    assert 'the rollback timer of nft_table inet portwarden, run aa11bb22' in info.value.details['lock_holder']
    os.rename(pending, pending + '.confirmed')
    time.sleep(1.5)
    with pytest.raises(PortwardenError):                 # still held while the confirmation writes
        HostLock('another run', directory=lock_dir, timeout=0).acquire()
    os.unlink(pending + '.confirmed')
    HostLock('another run', directory=lock_dir, timeout=3).acquire().release()


def test_take_lock_settles_an_abandoned_change_whose_timer_holds_the_lock(tmp_path):
    mgr = nft_table.TableManager(FakeModule(str(tmp_path)), 'inet', 'portwarden', str(tmp_path / 'state'))
    os.makedirs(mgr.state_dir)
    young, old = mgr.state_path('aaaa0001.pending'), mgr.state_path('bbbb0002.pending')
    for path in (young, old):
        open(path, 'w').close()
    os.utime(old, (time.time() - 60, time.time() - 60))
    attempts = []

    class Busy(object):
        def __init__(self, what, timeout):
            self.what = what

        def acquire(self):
            attempts.append(self.what)
            if len(attempts) < 3:
                raise PortwardenError('busy', lock_holder='pid 1 (the rollback timer of run bbbb0002)')
            return self
    assert nft_runs.take_lock(mgr, 'apply', 10, Busy, sleep=lambda s: None).what == 'apply'
    assert os.path.exists(old + '.settling') and not os.path.exists(old)      # taken: its timer lets go
    assert os.path.exists(young)                                              # a live run's: left to confirm
    with pytest.raises(PortwardenError) as info:
        nft_runs.take_lock(mgr, 'apply', 0, lambda what, timeout: AlwaysBusy(), sleep=lambda s: None)
    assert 'Another run holds the port-settings lock' in info.value.msg and 'Waited 0 s' in info.value.msg
    assert 'nothing was changed' in info.value.msg and info.value.details == {'lock_holder': 'pid 7 (a test)'}


class AlwaysBusy(object):
    def acquire(self):
        raise PortwardenError('busy', lock_holder='pid 7 (a test)')

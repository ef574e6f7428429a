# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nft_table with the record as a netlink digest: where the listing is still taken and where not.

The fake nft of test_nft_table.py, plus a fake of TableManager.live_state: the
digest of the fake's live table at the fake generation (None when "netlink"
is unavailable, as on an old kernel).
"""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import nft_netlink, nft_record, nft_table

from test_nft_table import CONTENT, CONTENT2, make  # same directory

LIST = ['-s', 'list', 'table', 'inet', 'portwarden']


class LiveState(object):
    """What nft_netlink would give: a digest of the live table (normalized as listings are), or None."""

    def __init__(self, module, gen):
        self.module = module
        self.gen = gen
        self.available = True
        self.calls = 0

    def __call__(self, generation):
        self.calls += 1
        if not self.available or generation != self.gen():
            return None
        if self.module.live is None:
            return nft_netlink.ABSENT
        return 'sha256:' + hashlib.sha256(nft_record.normalize_listing(self.module.live).encode()).hexdigest()


@pytest.fixture
def setup(tmp_path, monkeypatch):
    module, mgr, gen, timers = make(tmp_path, monkeypatch)
    state = LiveState(module, gen)
    monkeypatch.setattr(mgr, 'live_state', state)
    return module, mgr, gen, state, timers, str(tmp_path / 'etc' / 'portwarden.nft')


def lists(module):
    return [c for c in module.calls if c == LIST]


def record_of(mgr):
    with open(mgr.state_path('record')) as handle:
        return handle.read()


def test_check_apply_check_apply_records_the_digest_and_never_lists(setup):
    module, mgr, _gen, state, _timers, path = setup
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=True)
    assert result['changed'] and result['table_changed'] and result['diff']['before'] == ''
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    assert result['pending'] == 'aa11bb22'
    nft_table.confirm_table(mgr, '', path, 'aa11bb22')
    digest, generation, line = record_of(mgr).splitlines()
    assert generation == 'generation %s' % mgr.generation() and line == 'state %s' % state(mgr.generation())
    for check in (True, False):
        assert not nft_table.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=check)['changed']
    assert lists(module) == [] and digest == nft_record.content_digest(CONTENT)


def test_a_commit_elsewhere_is_checked_by_digest_without_nft(setup):
    module, mgr, gen, _state, _timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    gen.extra = 3                                      # another tool's transaction (its table, or a ban)
    module.calls[:] = []
    for check in (True, False):
        result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=check)
        assert not result['changed'] and not result['drifted'], check
    assert module.calls == []                          # the digest said so: no listing
    assert record_of(mgr).splitlines()[1] == 'generation %s' % gen()


def test_replacing_lists_nothing_and_restores_from_the_previous_script(setup):
    module, mgr, _gen, _state, timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.calls[:] = []
    result = nft_table.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    assert result['table_changed'] and not result['drifted']
    assert lists(module) == [] and [c[0] for c in module.calls] == ['-f']     # the load, nothing else
    with open(timers[0][2]) as handle:
        assert handle.read() == CONTENT
    nft_table.confirm_table(mgr, '', path, 'cc33dd44')
    assert 'tcp dport 22 accept' in module.live and lists(module) == []


def test_drift_is_seen_by_digest_and_listed_once_for_the_undo_and_the_diff(setup):
    module, mgr, gen, _state, timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.live = module.live.replace('chain input {', 'chain input {\n\t\ttcp dport 4444 accept')
    gen.extra = 1
    foreign = module.live
    module.calls[:] = []
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'bb11cc22', check_mode=True)
    assert result['drifted'] and 'tcp dport 4444' in result['diff']['before'] and lists(module) == [LIST]
    module.calls[:] = []
    result = nft_table.apply_table(mgr, CONTENT, path, 30, 'bb11cc22', check_mode=False)
    assert result['drifted'] and lists(module) == [LIST]
    with open(timers[-1][2]) as handle:                # the undo puts back what was live, from its listing
        assert handle.read() == nft_record.restore_script('inet', 'portwarden', foreign)
    nft_table.confirm_table(mgr, '', path, 'bb11cc22')
    assert '4444' not in module.live
    assert not nft_table.apply_table(mgr, CONTENT, path, 30, 'dd11ee22', check_mode=True)['changed']


def test_an_edited_rules_file_lists_the_table_for_the_undo_only(setup):
    module, mgr, _gen, _state, timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    with open(path, 'a') as handle:
        handle.write('# edited by hand\n')
    live = module.live
    module.calls[:] = []
    nft_table.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    with open(timers[0][2]) as handle:
        assert handle.read() == nft_record.restore_script('inet', 'portwarden', live)
    assert lists(module) == [LIST] and ['-c', '-f', timers[0][2]] in module.calls


def test_zero_timeout_undo_is_taken_before_the_load(setup):
    module, mgr, _gen, _state, _timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    before = module.live
    conf = os.path.join(os.path.dirname(path), 'nftables.conf')
    module.check_fails = True                          # the include line is refused after the load
    with pytest.raises(nft_table.PortwardenError) as info:
        nft_table.apply_table(mgr, CONTENT2, path, 0, 'cc33dd44', check_mode=False, include_in=conf)
    assert info.value.details == {'rolled_back': True} and module.live == before


def test_a_record_of_the_earlier_version_is_compared_by_listing_then_rewritten(setup):
    module, mgr, gen, state, _timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    old = nft_record.Record(nft_record.content_digest(CONTENT), None, nft_record.normalize_listing(module.live))
    with open(mgr.state_path('record'), 'w') as handle:
        handle.write(old.format())
    module.calls[:] = []
    assert not nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)['changed']
    assert lists(module) == [LIST]
    assert record_of(mgr).splitlines()[2] == 'state %s' % state(gen())
    module.calls[:] = []
    gen.extra = 1
    assert not nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)['changed']
    assert module.calls == []


def test_without_netlink_the_listing_is_recorded_as_before(setup):
    module, mgr, gen, state, _timers, path = setup
    state.available = False
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert nft_record.Record.parse(record_of(mgr)).listing == module.live and 'state ' not in record_of(mgr)
    gen.extra = 1
    module.calls[:] = []
    assert not nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)['changed']
    assert module.calls == [LIST]


def test_a_digest_that_cannot_be_compared_now_counts_as_drift(setup):
    """A record with a digest, netlink failing now: the table is loaded again rather than trusted."""
    module, mgr, gen, state, _timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    state.available = False
    gen.extra = 1
    result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=True)
    assert result['changed'] and result['drifted']
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert 'state ' not in record_of(mgr)              # now the listing: the next run compares that
    assert not nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=True)['changed']


def test_a_table_deleted_by_another_tool_is_loaded_again(setup):
    module, mgr, gen, _state, _timers, path = setup
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.live = None
    gen.extra = 1
    result = nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert result['table_changed'] and not result['drifted'] and module.live is not None


def test_live_state_is_used_only_at_the_generation_asked_for(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch)
    monkeypatch.setattr(nft_table, 'table_state', lambda family, name: (41, 'sha256:x'))
    monkeypatch.setattr(nft_table, 'ruleset_generation', lambda genid: 'boot:1:%d' % genid)
    assert mgr.live_state('boot:1:41') == 'sha256:x'
    assert mgr.live_state('boot:1:40') is None and mgr.live_state(None) is None

    def unavailable(family, name):
        raise nft_netlink.Unavailable('no netlink')
    monkeypatch.setattr(nft_table, 'table_state', unavailable)
    assert mgr.live_state('boot:1:41') is None


def test_record_round_trip_with_a_digest():
    record = nft_record.Record('sha256:ab', 'boot:3:9', 'ignored', state='sha256:cd')
    assert record.format() == 'sha256:ab\ngeneration boot:3:9\nstate sha256:cd\n'
    again = nft_record.Record.parse(record.format())
    assert (again.digest, again.generation, again.state, again.listing) == ('sha256:ab', 'boot:3:9', 'sha256:cd', None)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record of a loaded table taken by a child process while the controller reconnects, and what the confirmation
verifies before it commits (module_utils/nft_runs.py in_background / wait_background / check_loaded_script, and
nft_table.confirm_table). The fake nft of test_nft_table.py; the child processes are real forks."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import nft_record, nft_runs, nft_table
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

from test_nft_table import CONTENT, CONTENT2, make  # same directory


class Dir(object):
    """The state_path of a TableManager, for nft_runs alone."""

    def __init__(self, path):
        self.family, self.name, self.state_dir = 'inet', 'portwarden', str(path)

    def state_path(self, suffix):
        return os.path.join(self.state_dir, 'inet-portwarden.%s' % suffix)


# ---------------------------------------------------------------- nft_runs: the child process
def test_in_background_returns_at_once_and_wait_background_waits_for_the_child(tmp_path):
    mgr = Dir(tmp_path)
    out = tmp_path / 'out'

    def work():
        time.sleep(0.4)
        out.write_text('done')
    started = time.time()
    assert nft_runs.in_background(mgr, 'aa11bb22', work) is True
    assert time.time() - started < 0.3                       # the caller did not wait for the work
    assert os.path.exists(mgr.state_path('aa11bb22.digesting')) and not out.exists()
    assert nft_runs.wait_background(mgr, 'aa11bb22', timeout=0.05) is False   # still running: said so
    assert nft_runs.wait_background(mgr, 'aa11bb22') is True
    assert out.read_text() == 'done' and not os.path.exists(mgr.state_path('aa11bb22.digesting'))
    assert nft_runs.wait_background(mgr, 'aa11bb22', timeout=0) is True      # nothing running: at once


def test_a_failing_child_writes_nothing_and_leaves_no_marker(tmp_path):
    mgr = Dir(tmp_path)

    def work():
        raise RuntimeError('netlink went away')
    assert nft_runs.in_background(mgr, 'aa11bb22', work) is True
    assert nft_runs.wait_background(mgr, 'aa11bb22') is True
    assert os.listdir(str(tmp_path)) == []


def test_a_child_that_died_holding_no_lock_is_not_waited_for(tmp_path):
    """A marker left behind (the child was killed before it removed it) is free: the kernel released its lock."""
    mgr = Dir(tmp_path)
    with open(mgr.state_path('aa11bb22.digesting'), 'w'):
        pass
    started = time.time()
    assert nft_runs.wait_background(mgr, 'aa11bb22', timeout=5) is True
    assert time.time() - started < 1


def test_in_background_says_so_where_it_cannot_start(tmp_path):
    mgr = Dir(tmp_path / 'missing')                          # no state directory: no marker, no child
    assert nft_runs.in_background(mgr, 'aa11bb22', lambda: None) is False


def test_settle_waits_for_an_earlier_runs_child_before_removing_its_files(tmp_path):
    mgr = Dir(tmp_path)
    mgr.settled = []
    loaded = mgr.state_path('aa11bb22.loaded')

    def work():
        time.sleep(0.3)
        with open(loaded, 'w') as handle:
            handle.write('late')
    assert nft_runs.in_background(mgr, 'aa11bb22', work) is True
    nft_runs.settle(mgr, 'cc33dd44')
    assert os.listdir(str(tmp_path)) == []                   # the child's late record was removed too


def test_check_loaded_script(tmp_path):
    mgr = Dir(tmp_path)
    calls = []
    loaded = nft_record.content_digest(CONTENT)
    marker = 'aa11bb22\n%s\n' % loaded
    nft_runs.check_loaded_script(mgr, marker, loaded, 'the saved copy', undo=lambda: calls.append(1))
    nft_runs.check_loaded_script(mgr, 'aa11bb22', 'sha256:other', 'the saved copy', undo=lambda: calls.append(1))
    assert calls == []                                       # the same script, or a marker of an earlier version
    with pytest.raises(PortwardenError) as info:
        nft_runs.check_loaded_script(mgr, marker, 'sha256:other', 'the saved copy', undo=lambda: calls.append(1))
    assert calls == [1] and info.value.details['rolled_back'] is True
    assert info.value.msg.startswith('ROLLED BACK: refused to confirm the table inet portwarden: the saved copy (sha256:other)')
    assert loaded in info.value.msg and 'no file was written' in info.value.msg
    with pytest.raises(PortwardenError) as info:
        nft_runs.check_loaded_script(mgr, marker, 'sha256:other', 'the saved copy', undo=lambda: 'nft -f failed')
    assert info.value.details['rolled_back'] is False
    assert info.value.msg.endswith('the new table is live and was not rolled back because nft -f failed')


# ---------------------------------------------------------------- nft_table: apply and confirm
@pytest.fixture
def background(tmp_path, monkeypatch):
    module, mgr, gen, timers = make(tmp_path, monkeypatch)
    mgr.background = True
    states = []

    def live_state(generation):
        states.append(generation)
        return 'sha256:live-%s' % generation if module.live is not None else None
    monkeypatch.setattr(mgr, 'live_state', live_state)
    return module, mgr, str(tmp_path / 'etc' / 'portwarden.nft'), states


def test_the_record_is_taken_in_a_child_at_the_generation_right_after_the_load(background):
    module, mgr, path, states = background
    first = nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    assert first['pending'] == 'aa11bb22'
    assert states == ['boot:7:0']                  # the compare's read only: the parent did not dump the loaded table
    with open(mgr.state_path('aa11bb22.pending')) as handle:
        assert handle.read() == 'aa11bb22\n%s\n' % nft_record.content_digest(CONTENT)
    module.loads += 5                                        # commits by others after the load: not in the record
    assert nft_table.confirm_table(mgr, '', path, 'aa11bb22')['confirmed'] is True
    record = nft_record.Record.parse(open(mgr.state_path('record')).read())
    assert record.digest == nft_record.content_digest(CONTENT)
    assert record.generation == 'boot:7:1' and record.state == 'sha256:live-boot:7:1'
    assert os.listdir(mgr.state_dir) == ['inet-portwarden.record']
    with open(path) as handle:
        assert handle.read() == CONTENT


def test_a_saved_copy_changed_between_apply_and_confirm_is_refused_and_rolled_back(background):
    module, mgr, path, _states = background
    nft_table.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    before, record = module.live, open(mgr.state_path('record')).read()
    nft_table.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    assert module.live != before
    with open(mgr.state_path('cc33dd44.candidate'), 'a') as handle:
        handle.write('\t# changed\n')
    with pytest.raises(PortwardenError) as info:
        nft_table.confirm_table(mgr, '', path, 'cc33dd44')
    assert info.value.details['rolled_back'] is True and 'ROLLED BACK: refused to confirm' in info.value.msg
    assert mgr.state_path('cc33dd44.candidate') in info.value.msg
    assert module.live == before                             # the previous table is live again
    with open(path) as handle:
        assert handle.read() == CONTENT                      # the rules file as it was
    assert open(mgr.state_path('record')).read() == record and os.listdir(mgr.state_dir) == ['inet-portwarden.record']


def test_a_confirmation_given_other_content_is_refused_and_rolled_back(background):
    module, mgr, path, _states = background
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    with pytest.raises(PortwardenError) as info:
        nft_table.confirm_table(mgr, CONTENT2, path, 'aa11bb22')
    assert info.value.details['rolled_back'] is True and 'the content given' in info.value.msg
    assert module.live is None and not os.path.exists(path)   # the table did not exist before: removed again
    assert os.listdir(mgr.state_dir) == []


def test_without_the_childs_record_the_next_run_compares_and_loads_again(background, monkeypatch):
    """The child could not take the record: the confirmation commits one that no table matches (a reload next run,
    never a table trusted without having been read)."""
    module, mgr, path, _states = background
    monkeypatch.setattr(nft_table, 'in_background', lambda mgr, token, work: True)   # started, then died
    nft_table.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    assert not os.path.exists(mgr.state_path('aa11bb22.loaded'))
    nft_table.confirm_table(mgr, '', path, 'aa11bb22')
    record = nft_record.Record.parse(open(mgr.state_path('record')).read())
    assert record.digest == nft_record.content_digest(CONTENT) and record.generation is None and record.state is None
    module.loads += 1                                        # any commit: the record is compared, and does not match
    again = nft_table.apply_table(mgr, CONTENT, path, 0, 'cc33dd44', check_mode=True)
    assert again['changed'] and again['table_changed'] and again['drifted']

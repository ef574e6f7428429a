# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock


def _hold(directory, ready, stop):
    with HostLock('portwarden.ports.nft_table', directory=directory, timeout=0):
        ready.set()
        stop.wait(30)


def test_lock_names_holder_and_times_out(tmp_path):
    ctx = multiprocessing.get_context('fork')
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path), ready, stop))
    proc.start()
    try:
        assert ready.wait(10)
        with pytest.raises(PortwardenError) as info:
            HostLock('portwarden.ports.reserved_ports', directory=str(tmp_path), timeout=0.3).acquire()
        msg = str(info.value)
        assert 'pid %d' % proc.pid in msg and 'portwarden.ports.nft_table' in msg and 'nothing was changed' in msg
    finally:
        stop.set()
        proc.join(10)
    with HostLock('again', directory=str(tmp_path), timeout=0):
        assert 'again' in open(os.path.join(str(tmp_path), 'apply.lock')).read()
    assert open(os.path.join(str(tmp_path), 'apply.lock')).read() == ''


def test_stale_lock_of_a_killed_holder_is_taken_over(tmp_path):
    ctx = multiprocessing.get_context('fork')
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path), ready, stop))
    proc.start()
    assert ready.wait(10)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert 'pid %d' % proc.pid in open(os.path.join(str(tmp_path), 'apply.lock')).read()   # its note is left behind
    with HostLock('next run', directory=str(tmp_path), timeout=1):
        assert 'next run' in open(os.path.join(str(tmp_path), 'apply.lock')).read()


def test_lock_directory_that_cannot_be_made(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(PortwardenError) as info:
        HostLock('x', directory=str(blocker / 'dir')).acquire()
    assert 'Cannot open the host lock' in str(info.value)

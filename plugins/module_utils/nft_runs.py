# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs of nft_table that overlap or were interrupted: the host lock an apply takes, settling what earlier runs
left in the state directory before a new run compares (an unconfirmed change rolled back, its files removed), and
the work an apply leaves to a child process while the controller reconnects (the record of the loaded table)."""

from __future__ import annotations

import fcntl
import os
import re
import time

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import remove_stale_temps

TOKEN_RE = re.compile(r'^[a-f0-9]{8,32}\Z')
# The files of one run in the state directory (besides the temp files of its writes).
RUN_FILES = ('restore', 'candidate', 'loaded', 'rolledback', 'pending', 'pending.expired', 'pending.settling',
             'pending.confirmed', 'digesting')
# How long a confirmation (or a later run's settling) waits for the record that the apply's child process takes.
BACKGROUND_WAIT = 120
# How long a run waits for an earlier run's timer that is restoring right now.
TIMER_GRACE = 15
# An unconfirmed change this old (seconds since its apply) whose timer holds the host lock is taken as abandoned (its
# controller interrupted): a new run settles it instead of waiting for its timer. A live controller confirms sooner.
ABANDONED_AFTER = 5


def remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def in_background(mgr, token, work):
    """Run ``work()`` in a child process, detached from this module (its own session, its standard streams on
    /dev/null, no other descriptor), so that the module returns while it runs; True when it started, False where it
    could not (the caller then runs ``work()`` itself). The child holds an flock on ``<token>.digesting`` until it is
    done, and removes that marker then: :func:`wait_background` waits for it, and the kernel releases the lock
    however the child ends."""
    marker = mgr.state_path('%s.digesting' % token)
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        pid = os.fork()
    except OSError:
        os.close(fd)
        remove(marker)
        return False
    if pid:
        os.close(fd)                       # the child's copy keeps the lock
        return True
    code = 1
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(devnull, std)
        os.closerange(3, fd)
        os.closerange(fd + 1, 1 << 16)
        work()
        code = 0
    except BaseException:  # pylint: disable=broad-except
        pass                               # nothing written: the confirmation takes the careful record instead
    finally:
        remove(marker)
        os._exit(code)                     # pylint: disable=protected-access


def wait_background(mgr, token, timeout=BACKGROUND_WAIT, sleep=time.sleep, clock=time.time):
    """Wait until the child of :func:`in_background` for ``token`` is done (its marker gone, or its lock free because
    it ended); False when it still runs after ``timeout`` seconds."""
    marker = mgr.state_path('%s.digesting' % token)
    deadline = clock() + timeout
    while True:
        try:
            fd = os.open(marker, os.O_RDONLY)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            pass
        finally:
            os.close(fd)
        if clock() >= deadline:
            return False
        sleep(0.005)


def check_loaded_script(mgr, marker, digest, what, undo):
    """Refuse to commit a script other than the one the apply loaded (``marker``: the text of the pending marker, the
    token and that script's digest): ``undo()`` restores the previous table (None when done, else why not), and
    nothing is written. A marker without a digest (an earlier version's) is not checked."""
    lines = (marker or '').splitlines()
    expected = lines[1].strip() if len(lines) > 1 and lines[1].startswith('sha256:') else None
    if expected is None or expected == digest:
        return
    reason = ('refused to confirm the table %s %s: %s (%s) is not the script that the apply phase loaded (%s); it was '
              'changed in between.' % (mgr.family, mgr.name, what, digest, expected))
    why_not = undo()
    if why_not is None:
        raise PortwardenError('ROLLED BACK: %s The previous table is live again and no file was written.' % reason,
                              rolled_back=True)
    raise PortwardenError('%s No file was written; the new table is live and was not rolled back because %s'
                          % (reason, why_not), rolled_back=False)


def runs(mgr):
    """{token: [suffix, ...]} of the files that runs left in the state directory."""
    prefix = '%s-%s.' % (mgr.family, mgr.name)
    found = {}
    try:
        names = os.listdir(mgr.state_dir)
    except OSError:
        return found
    for entry in names:
        token, sep, suffix = entry[len(prefix):].partition('.')
        if entry.startswith(prefix) and sep and TOKEN_RE.match(token):
            found.setdefault(token, []).append(suffix)
    return found


def abandoned(mgr, age=ABANDONED_AFTER, now=None):
    """Tokens of unconfirmed changes applied at least ``age`` seconds ago."""
    now = time.time() if now is None else now
    found = []
    for token, suffixes in runs(mgr).items():
        try:
            if 'pending' in suffixes and now - os.stat(mgr.state_path('%s.pending' % token)).st_mtime >= age:
                found.append(token)
        except OSError:
            pass
    return sorted(found)


def take_lock(mgr, what, timeout, lock_class, sleep=time.sleep, clock=time.time):
    """The host lock for an apply, waiting at most ``timeout`` seconds. While an abandoned change's timer holds it
    (its controller was interrupted), that change's marker is taken so that its timer stands down and lets go."""
    deadline = clock() + max(timeout, 0)
    while True:
        lock = lock_class(what, timeout=0)
        try:
            return lock.acquire()
        except PortwardenError as exc:
            if 'lock_holder' not in exc.details:
                raise
            if clock() >= deadline:
                raise PortwardenError('Another run holds the port-settings lock of this host: %s. Waited %d s for it; '
                                      'nothing was changed. Run again when it has finished, or raise lock_timeout '
                                      '(host_firewall_lock_timeout).' % (exc.details['lock_holder'], timeout),
                                      lock_holder=exc.details['lock_holder'])
        for token in abandoned(mgr):
            pending = mgr.state_path('%s.pending' % token)
            try:
                os.rename(pending, pending + '.settling')   # its timer stands down within a second
            except OSError:
                pass
        sleep(0.2)


def try_lock(lock):
    """``lock`` acquired if it is free, else None (a confirmation: this run's timer holds it on its behalf)."""
    try:
        return lock.acquire()
    except PortwardenError:
        return None


def settle(mgr, token, sleep=time.sleep):
    """Settle what earlier runs left, before this run (``token``) compares: runs under the host lock.

    A run that was never confirmed (its pending marker is still there: the controller was interrupted, or another
    run came between its apply and its confirmation) is rolled back now: the marker is taken, so its timer stands
    down, and the table it replaced is restored. A timer restoring right now is waited for. Then every file of those
    runs and stale temp files are removed.
    """
    mgr.settled = []
    for other, suffixes in sorted(runs(mgr).items()):
        if other == token:
            continue
        pending = mgr.state_path('%s.pending' % other)
        if 'pending' in suffixes or 'pending.settling' in suffixes:
            try:
                os.rename(pending, pending + '.settling')   # only one of this rename and the timer's wins
            except OSError:
                pass
            if os.path.exists(pending + '.settling'):
                restore = mgr.state_path('%s.restore' % other)
                if os.path.exists(restore):
                    mgr.load_file(restore, 'the saved copy of the table that an earlier, unconfirmed run (%s) replaced' % other,
                                  note='nothing was changed: the table that run loaded is still live and its timer is '
                                       'disarmed')
                mgr.settled.append(other)
        deadline = time.time() + TIMER_GRACE
        while (os.path.exists(pending + '.expired') and not os.path.exists(mgr.state_path('%s.rolledback' % other))
               and time.time() < deadline):
            sleep(0.2)                              # its timer is restoring the table right now
        if 'digesting' in suffixes:
            wait_background(mgr, other, TIMER_GRACE, sleep)   # its child may still write the record
        for suffix in set(suffixes) | set(RUN_FILES):
            remove(mgr.state_path('%s.%s' % (other, suffix)))
    remove_stale_temps(mgr.state_dir, max_age=0)

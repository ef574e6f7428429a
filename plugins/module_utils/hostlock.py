# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One apply at a time per host: an advisory lock that tasks changing port settings or the firewall hold.

The lock is ``flock(2)`` on a file in a runtime directory, so the kernel
releases it when its holder dies: a stale lock of a killed run is simply
free again (taken over). The holder writes who it is into the file, so that
a task that waits in vain can name the holder in its message.
"""

from __future__ import annotations

import fcntl
import os
import time

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

LOCK_DIR = '/run/portwarden'
LOCK_NAME = 'apply.lock'
DEFAULT_TIMEOUT = 120
POLL = 0.1


def _holder_text(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            text = handle.read(512).strip()
    except (IOError, OSError):
        text = ''
    return text or 'an unknown process'


class HostLock(object):
    """Exclusive lock on this host for ``what`` (a task name), waiting at most ``timeout`` seconds.

    Used as a context manager. ``timeout=0`` tries once.
    """

    def __init__(self, what, directory=LOCK_DIR, timeout=DEFAULT_TIMEOUT, name=LOCK_NAME, sleep=time.sleep,
                 clock=time.monotonic):
        self.what = what
        self.directory = directory
        self.path = os.path.join(directory, name)
        self.timeout = timeout
        self.fd = None
        self._sleep = sleep
        self._clock = clock

    def acquire(self):
        try:
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, 0o700)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PortwardenError('Cannot open the host lock %s: %s.' % (self.path, exc.strerror or exc))
        deadline = self._clock() + max(self.timeout, 0)
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if self._clock() >= deadline:
                    holder = _holder_text(self.path)
                    os.close(self.fd)
                    self.fd = None
                    raise PortwardenError(
                        'Another run holds the port-settings lock of this host (%s): %s. Waited %s s for it; nothing '
                        'was changed. Run again when it has finished, or raise the lock timeout.'
                        % (self.path, holder, self.timeout), lock_holder=holder)
                self._sleep(POLL)
        info = 'pid %d (%s), since %s UTC' % (os.getpid(), self.what, time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime()))
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, info.encode('utf-8') + b'\n', 0)
        return self

    def release(self):
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()

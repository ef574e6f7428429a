# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File I/O that every backend shares: read-or-none, staged and atomic writes.

The reads (:func:`read_text`, :func:`read_bytes`) are defined in fileread.py
and taken from here like the rest; the read-only modules (linux_port_info)
import fileread.py alone and so do not carry the writes.

A write goes to a temp file in the target's own directory (same file system,
so the final rename is atomic) and is moved into place by a callback: the
module's ``atomic_move`` on a host, ``os.replace`` on the controller. A
:class:`StagedFile` splits the two halves, so that a task can write every
file it will change before it touches the kernel, and then either commit the
moves or abort and leave every file as it was.
"""

from __future__ import annotations

import os
import tempfile
import time

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileread import read_bytes, read_text  # noqa: F401 pylint: disable=unused-import

TEMP_PREFIX = '.portwarden-'


def _error(path, exc, what='write'):
    return PortwardenError('Cannot %s %s: %s.' % (what, path, exc.strerror or exc), path=path)


def writable_directory(path):
    """Raise PortwardenError unless ``path``'s directory exists (or can be made) and is writable.

    Check mode uses this to predict the failure that a write would meet.
    """
    directory = os.path.dirname(path) or '.'
    probe = directory
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if not parent or parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise PortwardenError('Cannot write %s: %s is not a directory.' % (path, probe), path=path)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PortwardenError('Cannot write %s: %s is not writable.' % (path, probe), path=path)
    try:
        stat = os.statvfs(probe)
    except OSError:
        return
    if stat.f_flag & getattr(os, 'ST_RDONLY', 1):
        raise PortwardenError('Cannot write %s: %s is on a read-only file system.' % (path, probe), path=path)


class StagedFile(object):
    """A file's new content written to a temp file beside it, not yet moved into place.

    ``commit()`` moves it over the target (atomically); ``abort()`` removes it.
    Either way the temp file does not outlive the object's use as a context
    manager.
    """

    def __init__(self, path, content, move, mode=0o644, check=None):
        self.path = path
        self.move = move
        self.tmp = None
        directory = os.path.dirname(path) or '.'
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            fd, self.tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        except (IOError, OSError) as exc:
            raise _error(path, exc)
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(self.tmp, mode)
            if check is not None:
                check(self.tmp)
        except (IOError, OSError) as exc:
            self.abort()
            raise _error(path, exc)
        except Exception:
            self.abort()
            raise

    def commit(self):
        if self.tmp is None:
            return
        try:
            self.move(self.tmp, self.path)
        except (IOError, OSError) as exc:
            raise _error(self.path, exc)
        finally:
            self.abort()

    def abort(self):
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.abort()


def write_file_atomic(path, content, move, mode=0o644, check=None):
    """Write ``content`` to a temp file beside ``path``, then ``move(tmp, path)``.

    ``check(tmp)``, when given, runs on the complete temp file before the move
    (a validator); if it raises, ``path`` is untouched. The temp file never
    outlives the call.
    """
    with StagedFile(path, content, move, mode=mode, check=check) as staged:
        staged.commit()


def remove_stale_temps(directory, max_age=3600, now=None):
    """Remove temp files of this collection's writes that a killed run left in ``directory``.

    Only files named with :data:`TEMP_PREFIX` and older than ``max_age``
    seconds are removed (a younger one may belong to a write under way).
    Returns the paths removed.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        path = os.path.join(directory, name)
        try:
            if now - os.lstat(path).st_mtime >= max_age and os.path.isfile(path):
                os.unlink(path)
                removed.append(path)
        except OSError:
            pass
    return removed

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compiled code of the collection's module_utils, kept on the host between runs (for onceimport.py).

It is kept in ``~/.cache/portwarden/code`` of the user the
module runs as (:func:`cache_dir`), one file per module and Python version,
named and checked by the SHA-256 of the module's source: a run whose source
is the same loads it instead of compiling (about 8 ms of port_info's 9), a
new version of the collection compiles and replaces it. The directory is
used only when it is this user's own and no one else can write to it (so are
its files, opened without following links); where it cannot be made or
used, code is compiled as without it. ``PORTWARDEN_CODE_CACHE=off`` in the
task's environment keeps nothing; another value is the directory to use
(PYTHONDONTWRITEBYTECODE, which is about ``__pycache__`` beside source
files, does not switch it off). The files are not host state: no task
reports them, and removing them costs the next run its compiling only.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys

try:
    from _imp import _fix_co_filename
except ImportError:  # not CPython: tracebacks of kept code name the zip of the run that compiled it
    def _fix_co_filename(code, path):
        del code, path

CACHE_ENV = 'PORTWARDEN_CODE_CACHE'
OFF = ('off', '0', 'false', 'no')
CACHE_PATH = ('.cache', 'portwarden', 'code')       # under the user's home directory
TAG = getattr(sys.implementation, 'cache_tag', None) or 'python'
# the code of one Python release: its version in full (the bytecode format changes between releases)
HEADER = ('PWC1 %s %08x\n' % (TAG, sys.hexversion)).encode('ascii')


def _own(path, st=None):
    """Whether ``path`` (or its ``st``) belongs to this user and no one else may write to it."""
    st = st or os.lstat(path)
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def cache_dir(environ=None, home=None):
    """The directory the compiled code is kept in, made where missing (mode 0700); None where nothing is kept:
    switched off, no home directory, or a directory (or its parent) that is not this user's own or that others
    may write to."""
    environ = os.environ if environ is None else environ
    value = environ.get(CACHE_ENV, '').strip()
    if value.lower() in OFF:
        return None
    try:
        if not value:
            if home is None:
                import pwd
                home = pwd.getpwuid(os.geteuid()).pw_dir
            value = os.path.join(home, *CACHE_PATH)
        if not os.path.isabs(value):
            return None
        os.makedirs(value, 0o700, exist_ok=True)
        st = os.lstat(value)
        if stat.S_ISDIR(st.st_mode) and _own(value, st) and _own(os.path.dirname(value)):
            return value
    except (OSError, KeyError, ImportError):
        pass
    return None


def entry(directory, fullname, digest):
    return os.path.join(directory, '%s.%s.%s' % (fullname, TAG, digest[:10].hex()))


def load(path, digest):
    """The code kept at ``path`` for the source of ``digest``; None where there is none, or none to trust."""
    head = HEADER + digest
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)), 'rb') as handle:
            data = handle.read() if _own(path, os.fstat(handle.fileno())) else b''
        return marshal.loads(data[len(head):]) if data[:len(head)] == head else None
    except (OSError, ValueError, EOFError, TypeError):
        return None


def store(path, digest, code):
    """Keep ``code`` at ``path`` (written whole, then renamed) and drop what is kept of other sources of the same
    module for this Python; a failure keeps nothing."""
    import tempfile

    directory, name = os.path.split(path)
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix='.new-')
        with os.fdopen(fd, 'wb') as handle:
            handle.write(HEADER + digest + marshal.dumps(code))
        os.replace(temporary, path)
        stem = name.rsplit('.', 1)[0] + '.'
        for other in os.listdir(directory):
            if other.startswith(stem) and other != name:
                os.unlink(os.path.join(directory, other))
    except (OSError, ValueError):
        try:
            if temporary:
                os.unlink(temporary)   # gone where it was renamed already
        except OSError:
            pass
        return False
    return True


def code(source, origin, fullname, directory):
    """The code of ``source`` (a module's bytes, from ``origin``): as kept in ``directory`` for this very source,
    else compiled, then kept there."""
    digest = hashlib.sha256(source).digest()
    path = entry(directory, fullname, digest)
    found = load(path, digest)
    if found is not None:
        _fix_co_filename(found, origin)  # tracebacks name this run's zip
        return found
    found = compile(source, origin, 'exec', dont_inherit=True)
    store(path, digest, found)
    return found

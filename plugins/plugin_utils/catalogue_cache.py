# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall role's catalogue, validated once per controller: the model of its services kept under its digest.

Validating a catalogue and building the model of its services (every source parsed, merged and cut into sets:
``firewall_model.service_items``) is nine tenths of what the role's task does on the controller, and it depends on
nothing but the catalogue and the collection's code. Every host of a fleet that shares a catalogue of 100,000
sources, and every later run, would do the same 0.3 s again. :class:`CatalogueCache` keeps that model under the
SHA-256 of:

* the catalogue (``host_firewall_services``) as canonical JSON (a value JSON cannot write exactly, a set or an
  object, means no key: that run validates as usual);
* the code: every Python file of the collection's plugin_utils, module_utils and filter directories, and the
  version of ansible-core.

So a model is only reused for exactly the catalogue it was made from: one entry changed among 100,000 is another
key, and is validated (and refused, naming it) as before; only models that validated are stored. Every other
variable is validated and the table rendered on every run, as before (a fraction of a millisecond). The entries are
JSON files in ``<ANSIBLE_HOME>/portwarden/catalogue_cache`` (a directory of the controller's user, mode 0700; one
that another user owns or can write to, or a link, is not used), written atomically, the least recently used
removed beyond :data:`MAX_ENTRIES`. A file that does not read back as an entry of its key is ignored. Anything that
fails here (a read-only home, a full disk) only means no cache: the role then validates as it always did.
``host_firewall_catalogue_cache: false`` turns it off. Nothing here reaches a host.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile

VERSION = 1
MAX_ENTRIES = 8
# The collection's directories whose code validates and models the catalogue (this file is in plugins/plugin_utils).
PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE_DIRS = ('plugin_utils', 'module_utils', 'filter')
_CODE = []


def code_digest():
    """SHA-256 of the code that validates and models a catalogue (see the module's text), computed once per process;
    None where a file of it cannot be read (then nothing is kept)."""
    if not _CODE:
        digest = hashlib.sha256()
        try:
            import ansible.release  # pylint: disable=import-outside-toplevel
            digest.update(('ansible-core %s\0' % ansible.release.__version__).encode('utf-8'))
        except ImportError:  # outside a controller (the unit tests' own imports): the code alone
            pass
        try:
            for sub in CODE_DIRS:
                base = os.path.join(PLUGINS, sub)
                for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
                    if name.endswith('.py'):
                        with open(os.path.join(base, name), 'rb') as handle:
                            data = handle.read()
                        digest.update(('%s/%s %d\0' % (sub, name, len(data))).encode('utf-8'))
                        digest.update(data)
        except OSError:
            _CODE.append(None)
        else:
            _CODE.append(digest.hexdigest())
    return _CODE[0]


def default_directory():
    """``<ANSIBLE_HOME>/portwarden/catalogue_cache`` (ANSIBLE_HOME: ~/.ansible unless configured)."""
    try:
        from ansible import constants as C  # pylint: disable=import-outside-toplevel
        home = getattr(C, 'ANSIBLE_HOME', None) or '~/.ansible'
    except ImportError:
        home = '~/.ansible'
    return os.path.join(os.path.expanduser(str(home)), 'portwarden', 'catalogue_cache')


class CatalogueCache(object):
    """The models of catalogues in one directory. ``key``, ``load`` and ``store`` never raise."""

    def __init__(self, directory=None):
        self.directory = directory or default_directory()

    def key(self, services):
        """The entry's key for a catalogue (hexadecimal SHA-256), or None where a value is not plain JSON (or the
        code could not be read)."""
        code = code_digest()
        if code is None:
            return None
        try:
            text = json.dumps([VERSION, code, services], sort_keys=True, separators=(',', ':'),
                              ensure_ascii=False, allow_nan=False)     # TypeError for a set, bytes, an object
        except (TypeError, ValueError, OverflowError, RecursionError):
            return None
        return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()

    def _usable(self, create=False):
        """The directory exists (created with mode 0700 when ``create``), is a directory of this user, and neither
        its group nor others can write to it."""
        try:
            if create and not os.path.isdir(self.directory):
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError:
            return False
        return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
                and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))

    def _path(self, key):
        return os.path.join(self.directory, key + '.json')

    def load(self, key):
        """The items stored under ``key`` (the list of dictionaries :meth:`store` was given), or None."""
        if not key or not self._usable():
            return None
        path = self._path(key)
        try:
            with open(path, 'r', encoding='utf-8') as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        items = entry.get('items') if isinstance(entry, dict) and entry.get('key') == key else None
        if not (isinstance(items, list) and all(isinstance(item, dict) for item in items)):
            return None
        try:
            os.utime(path)                          # the least recently used go first
        except OSError:
            pass
        return items

    def store(self, key, items):
        """Keep ``items`` (a list of dictionaries of plain JSON values) under ``key``; True when written."""
        if not key or not self._usable(create=True):
            return False
        handle = None
        try:
            handle = tempfile.NamedTemporaryFile('w', encoding='utf-8', dir=self.directory, prefix='.entry-',
                                                 suffix='.tmp', delete=False)
            with handle:
                json.dump({'key': key, 'items': items}, handle, ensure_ascii=False, allow_nan=False)
            os.replace(handle.name, self._path(key))
        except (OSError, TypeError, ValueError, OverflowError):
            if handle is not None:
                try:
                    os.unlink(handle.name)
                except OSError:
                    pass
            return False
        self._prune()
        return True

    def _prune(self):
        """Remove the least recently used entries beyond MAX_ENTRIES (and another writer's leftovers are theirs)."""
        try:
            names = [name for name in os.listdir(self.directory) if name.endswith('.json')]
            if len(names) <= MAX_ENTRIES:
                return
            aged = sorted(names, key=lambda name: os.stat(os.path.join(self.directory, name)).st_mtime)
            for name in aged[:len(names) - MAX_ENTRIES]:
                os.unlink(os.path.join(self.directory, name))
        except OSError:
            pass

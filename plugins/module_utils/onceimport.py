# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compile this collection's module_utils once, not twice, when they are imported from an AnsiballZ zip, and keep
the compiled code on the host for the next run, as Python keeps ``__pycache__``.

Python's zipimport compiles each source file twice: ``find_spec`` asks for
the file name (``get_filename``), which compiles the module, then
``exec_module`` compiles it again (Python 3.10 to 3.12); an AnsiballZ zip has
no bytecode, so every run pays both, about 10 ms of a port_info task.
:func:`install` puts a finder in front for this collection's modules only,
which compiles each once; anything else (not a zip, a package) it leaves to
the normal import system.

The compiled code is kept on the host for the next run (codecache.py), as
Python keeps ``__pycache__``: a run whose source is the same loads it instead
of compiling. ``PORTWARDEN_CODE_CACHE=off`` in the task's environment keeps
nothing.
"""

from __future__ import annotations

import functools
import sys

try:
    import zipimport
    from importlib.machinery import ModuleSpec
except ImportError:  # a Python without them: nothing to install
    zipimport = None

PREFIX = 'ansible_collections.portwarden.ports.'


class OnceLoader(object):
    """Runs one module's code from ``importer`` (a zipimporter), compiled once, or as ``cache(source, origin,
    fullname)`` gives it (codecache.code in a directory; None: compiled)."""

    def __init__(self, importer, cache=None):
        self.importer = importer
        self.cache = cache

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        exec(self.get_code(module.__name__, module.__spec__.origin), module.__dict__)  # pylint: disable=exec-used

    def get_code(self, fullname, origin):
        if self.cache is None:
            return self.importer.get_code(fullname)
        return self.cache(self.importer.get_data(origin), origin, fullname)

    def get_source(self, fullname):
        return self.importer.get_source(fullname)


class OnceFinder(object):
    """A meta path finder for the :data:`PREFIX` modules in a zip; ``cache``: as :class:`OnceLoader` takes it."""

    def __init__(self, cache=None):
        self.cache = cache

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX) or not path:
            return None
        name = fullname.rpartition('.')[2]
        for item in path:
            importer = sys.path_importer_cache.get(item)
            if importer is None and '.zip' in item:
                try:
                    importer = zipimport.zipimporter(item)
                except (zipimport.ZipImportError, OSError, TypeError):
                    continue
                sys.path_importer_cache[item] = importer
            if not isinstance(importer, zipimport.zipimporter):
                continue
            try:
                if importer.is_package(fullname):
                    return None
            except zipimport.ZipImportError:
                continue   # not in this entry
            spec = ModuleSpec(fullname, OnceLoader(importer, self.cache), origin='%s/%s.py' % (item, name))
            spec.has_location = True
            return spec
        return None


def install():
    """:class:`OnceFinder` first in ``sys.meta_path``, once, when this module came from a zip."""
    if zipimport is None or not isinstance(globals().get('__loader__'), zipimport.zipimporter):
        return False
    if not any(isinstance(finder, OnceFinder) for finder in sys.meta_path):
        finder = OnceFinder()
        sys.meta_path.insert(0, finder)
        # compiled once through the finder; from then on the others may come from what it keeps
        from ansible_collections.portwarden.ports.plugins.module_utils import codecache

        directory = codecache.cache_dir()
        if directory:
            finder.cache = functools.partial(codecache.code, directory=directory)
    return True

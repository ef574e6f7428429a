# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""onceimport.py: the collection's modules compiled once from a zip, as AnsiballZ ships them.

Each case runs in a fresh interpreter (``-I -S``) with only a zip on
sys.path that is laid out as an AnsiballZ payload: the collection's
package tree, the real onceimport.py and two small modules. It counts how
often each file is compiled, with and without the finder installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import onceimport

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, '..', '..', '..', '..', 'plugins', 'module_utils', 'onceimport.py')
PACKAGE = 'ansible_collections/portwarden/ports/plugins/module_utils/'

SAMPLE = textwrap.dedent('''
    VALUE = 42

    def fail():
        raise ValueError('from the sample module')
''')
USER = textwrap.dedent('''
    from ansible_collections.portwarden.ports.plugins.module_utils import sample

    DOUBLE = sample.VALUE * 2
''')

RUN = textwrap.dedent('''
    import builtins, json, sys, traceback
    sys.path.insert(0, sys.argv[1])
    compiled = {}
    real_compile = builtins.compile

    def counting(source, filename, *args, **kwargs):
        name = str(filename).rsplit('/', 1)[-1]
        compiled[name] = compiled.get(name, 0) + 1
        return real_compile(source, filename, *args, **kwargs)

    builtins.compile = counting
    from ansible_collections.portwarden.ports.plugins.module_utils import onceimport
    installed = onceimport.install() if sys.argv[2] == 'install' else None
    again = onceimport.install() if sys.argv[2] == 'install' else None
    from ansible_collections.portwarden.ports.plugins.module_utils import user, sample
    try:
        sample.fail()
    except ValueError:
        shown = traceback.format_exc()
    print(json.dumps({
        'installed': installed, 'again': again, 'compiled': compiled, 'double': user.DOUBLE,
        'file': sample.__file__, 'loader': type(sample.__loader__).__name__,
        'package_loader': type(sys.modules['ansible_collections.portwarden.ports.plugins.module_utils'].__loader__).__name__,
        'finders': sum(type(f).__name__ == 'OnceFinder' for f in sys.meta_path),
        'traceback_line': "raise ValueError('from the sample module')" in shown,
    }))
''')


@pytest.fixture
def payload(tmp_path):
    path = str(tmp_path / 'payload.zip')
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        parts = PACKAGE.rstrip('/').split('/')
        for depth in range(1, len(parts) + 1):
            archive.writestr('/'.join(parts[:depth]) + '/__init__.py', '')
        with open(SOURCE) as handle:
            archive.writestr(PACKAGE + 'onceimport.py', handle.read())
        archive.writestr(PACKAGE + 'sample.py', SAMPLE)
        archive.writestr(PACKAGE + 'user.py', USER)
    return path


def run(payload, mode):
    out = subprocess.run([sys.executable, '-I', '-S', '-c', RUN, payload, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_installed_each_module_is_compiled_once(payload):
    got = run(payload, 'install')
    assert got['installed'] is True and got['again'] is True and got['finders'] == 1   # installed once
    assert got['compiled']['sample.py'] == 1 and got['compiled']['user.py'] == 1
    assert got['double'] == 84
    assert got['file'] == os.path.join(payload, PACKAGE + 'sample.py') and got['loader'] == 'OnceLoader'
    assert got['package_loader'] == 'zipimporter'   # packages: the normal way
    assert got['traceback_line']                    # tracebacks still show the source


def test_without_it_zipimport_compiles_twice(payload):
    """What the finder saves: this Python's zipimport compiles a module once to name its file, once to run it
    (3.10 to 3.12; where a later Python compiles once, the two ways are equal)."""
    got = run(payload, 'plain')
    assert got['double'] == 84 and got['loader'] == 'zipimporter'
    if (3, 10) <= sys.version_info[:2] <= (3, 12):
        assert got['compiled']['sample.py'] == 2
    assert got['compiled']['sample.py'] >= run(payload, 'install')['compiled']['sample.py'] == 1


def test_not_from_a_zip_it_installs_nothing():
    """Imported from files (the tests, an exploded module), Python caches bytecode itself: nothing to do."""
    before = list(sys.meta_path)
    assert onceimport.install() is False
    assert sys.meta_path == before


def test_other_names_and_packages_are_left_alone():
    finder = onceimport.OnceFinder()
    assert finder.find_spec('json', None) is None
    assert finder.find_spec('ansible.module_utils.basic', ['/x.zip/ansible/module_utils']) is None
    assert finder.find_spec(onceimport.PREFIX + 'plugins.module_utils.x', None) is None     # no path: top level
    assert finder.find_spec(onceimport.PREFIX + 'plugins.module_utils.x', ['/not/a/zip']) is None

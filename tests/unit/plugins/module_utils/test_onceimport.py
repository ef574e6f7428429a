# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""onceimport.py: the collection's modules compiled once from a zip, as AnsiballZ ships them.

Each case runs in a fresh interpreter (``-I -S``) with only a zip on
sys.path that is laid out as an AnsiballZ payload: the collection's
package tree, the real onceimport.py and codecache.py and two small modules.
It counts how often each file is compiled, with and without the finder
installed, and with the compiled code kept in a directory between runs.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import codecache, onceimport

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = os.path.join(HERE, '..', '..', '..', '..', 'plugins', 'module_utils')
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


def make_payload(path, sample=SAMPLE):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        parts = PACKAGE.rstrip('/').split('/')
        for depth in range(1, len(parts) + 1):
            archive.writestr('/'.join(parts[:depth]) + '/__init__.py', '')
        for name in ('onceimport.py', 'codecache.py'):
            with open(os.path.join(SOURCES, name)) as handle:
                archive.writestr(PACKAGE + name, handle.read())
        archive.writestr(PACKAGE + 'sample.py', sample)
        archive.writestr(PACKAGE + 'user.py', USER)
    return path


@pytest.fixture
def payload(tmp_path):
    return make_payload(str(tmp_path / 'payload.zip'))


def run(payload, mode, cache='off'):
    """One fresh interpreter importing from ``payload``; ``cache``: PORTWARDEN_CODE_CACHE (a directory, or off)."""
    env = dict(os.environ, PORTWARDEN_CODE_CACHE=cache)
    out = subprocess.run([sys.executable, '-I', '-S', '-c', RUN, payload, mode], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(out.stdout)


def test_installed_each_module_is_compiled_once(payload):
    got = run(payload, 'install')
    assert got['installed'] is True and got['again'] is True and got['finders'] == 1   # installed once
    assert got['compiled']['sample.py'] == 1 and got['compiled']['user.py'] == 1 and got['compiled']['codecache.py'] == 1
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


def kept(directory):
    return sorted(name for name in os.listdir(directory) if not name.startswith('.'))


def test_kept_code_is_loaded_the_next_run(payload, tmp_path):
    """The first run compiles each module once and keeps it; the next run (another zip, as each AnsiballZ run is)
    compiles none of them, runs the same code and names its own zip in tracebacks."""
    cache = str(tmp_path / 'cache')
    first = run(payload, 'install', cache)
    assert first['compiled']['sample.py'] == 1 and first['compiled']['user.py'] == 1 and first['double'] == 84
    assert [name.split('.')[-3] for name in kept(cache)] == ['sample', 'user']
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(os.path.join(cache, name)).st_mode) == 0o600 for name in kept(cache))
    other = str(tmp_path / 'other.zip')
    shutil.copy(payload, other)
    second = run(other, 'install', cache)
    assert 'sample.py' not in second['compiled'] and 'user.py' not in second['compiled']
    assert second['compiled']['codecache.py'] == 1            # compiled before it can keep anything
    assert second['double'] == 84 and second['traceback_line']
    assert second['file'] == os.path.join(other, PACKAGE + 'sample.py')


def test_a_changed_source_is_compiled_and_replaces_the_old(payload, tmp_path):
    cache = str(tmp_path / 'cache')
    run(payload, 'install', cache)
    before = kept(cache)
    make_payload(payload, SAMPLE.replace('42', '21'))
    got = run(payload, 'install', cache)
    assert got['double'] == 42 and got['compiled']['sample.py'] == 1 and 'user.py' not in got['compiled']
    after = kept(cache)
    assert len(after) == 2 and [name for name in after if 'sample' in name] != [name for name in before if 'sample' in name]


@pytest.mark.parametrize('damage', ['truncated', 'other-header', 'garbage'])
def test_a_damaged_entry_is_compiled_again(payload, tmp_path, damage):
    cache = str(tmp_path / 'cache')
    run(payload, 'install', cache)
    path = os.path.join(cache, [name for name in kept(cache) if 'sample' in name][0])
    with open(path, 'rb') as handle:
        data = handle.read()
    data = {'truncated': data[:len(data) // 2], 'other-header': b'PWC1 cpython-0 00000000\n' + data[data.index(b'\n') + 1:],
            'garbage': data[:len(codecache.HEADER) + 32] + os.urandom(64)}[damage]
    with open(path, 'wb') as handle:
        handle.write(data)
    got = run(payload, 'install', cache)
    assert got['double'] == 84 and got['compiled']['sample.py'] == 1 and 'user.py' not in got['compiled']


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give the entry to another user')
def test_an_entry_of_another_user_is_not_loaded(payload, tmp_path):
    cache = str(tmp_path / 'cache')
    run(payload, 'install', cache)
    path = os.path.join(cache, [name for name in kept(cache) if 'sample' in name][0])
    os.chown(path, 65534, 65534)
    got = run(payload, 'install', cache)
    assert got['compiled']['sample.py'] == 1 and got['double'] == 84


@pytest.mark.parametrize('mode', [0o770, 0o707])
def test_a_directory_others_may_write_is_not_used(payload, tmp_path, mode):
    cache = tmp_path / 'cache'
    cache.mkdir()
    cache.chmod(mode)
    got = run(payload, 'install', str(cache))
    assert got['compiled']['sample.py'] == 1 and kept(str(cache)) == []
    parent = tmp_path / 'shared'
    parent.mkdir()
    parent.chmod(0o777)
    assert codecache.cache_dir({'PORTWARDEN_CODE_CACHE': str(parent / 'code')}) is None


@pytest.mark.parametrize('value', ['off', 'OFF', '0', 'false', 'no', 'relative/dir'])
def test_switched_off_or_not_a_path(tmp_path, value, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert codecache.cache_dir({'PORTWARDEN_CODE_CACHE': value}) is None
    assert os.listdir(str(tmp_path)) == []


def test_the_default_is_in_the_users_home(tmp_path):
    home = tmp_path / 'home'
    home.mkdir(mode=0o755)
    assert codecache.cache_dir({}, home=str(home)) == str(home / '.cache' / 'portwarden' / 'code')
    assert codecache.cache_dir({}, home=str(tmp_path / 'missing' / 'x')) == str(tmp_path / 'missing' / 'x' / '.cache' / 'portwarden' / 'code')
    assert codecache.cache_dir({}, home='/proc/1/nonexistent') is None     # cannot be made: nothing kept


def test_store_fails_and_keeps_nothing(tmp_path):
    compiled = compile('X = 1', 'x.py', 'exec')
    missing = str(tmp_path / 'gone' / 'm.cpython-311.00')
    assert codecache.store(missing, b'\0' * 32, compiled) is False
    assert codecache.load(missing, b'\0' * 32) is None
    path = str(tmp_path / 'm.cpython-311.00')
    assert codecache.store(path, b'\1' * 32, compiled) is True
    assert codecache.load(path, b'\1' * 32) is not None and codecache.load(path, b'\2' * 32) is None

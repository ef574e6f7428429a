# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import fileio
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


def move(src, dest):
    shutil.move(src, dest)


def test_read_text_missing_is_none(tmp_path):
    assert fileio.read_text(str(tmp_path / 'nothing')) is None
    (tmp_path / 'f').write_text('x \u2014 y\n', encoding='utf-8')
    assert fileio.read_text(str(tmp_path / 'f')) == 'x \u2014 y\n'


def test_read_text_other_errors_raise(tmp_path):
    with pytest.raises(PortwardenError) as info:
        fileio.read_text(str(tmp_path))   # a directory
    assert str(tmp_path) in str(info.value)


def test_write_file_atomic_check_refuses_and_leaves_no_temp(tmp_path):
    target = tmp_path / 'conf'
    target.write_text('old\n')

    def refuse(tmp):
        assert open(tmp).read() == 'new\n'
        raise PortwardenError('refused by the validator')

    with pytest.raises(PortwardenError):
        fileio.write_file_atomic(str(target), 'new\n', move, check=refuse)
    assert target.read_text() == 'old\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['conf']
    fileio.write_file_atomic(str(target), 'new \u2014 text\n', move, mode=0o640, check=lambda tmp: None)
    assert target.read_text(encoding='utf-8') == 'new \u2014 text\n'
    assert os.stat(str(target)).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ['conf']


def test_staged_file_abort_leaves_target(tmp_path):
    target = tmp_path / 'conf'
    target.write_text('old\n')
    with fileio.StagedFile(str(target), 'new\n', move) as staged:
        assert open(staged.tmp).read() == 'new\n'
        assert target.read_text() == 'old\n'
    assert target.read_text() == 'old\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['conf']


def test_staged_file_commit(tmp_path):
    target = tmp_path / 'sub' / 'conf'
    with fileio.StagedFile(str(target), 'new\n', move) as staged:
        staged.commit()
    assert target.read_text() == 'new\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ['conf']


def test_staged_file_failed_move_says_so_and_cleans(tmp_path):
    target = tmp_path / 'conf'

    def broken(src, dest):
        raise OSError(28, 'No space left on device')

    staged = fileio.StagedFile(str(target), 'new\n', broken)
    with pytest.raises(PortwardenError) as info:
        staged.commit()
    assert 'No space left on device' in str(info.value) and str(target) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_writable_directory(tmp_path):
    fileio.writable_directory(str(tmp_path / 'a' / 'b' / 'file'))   # missing dirs under a writable one
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(PortwardenError) as info:   # a file where a directory should be
        fileio.writable_directory(str(blocker / 'sub' / 'file'))
    assert str(blocker) in str(info.value)


def test_remove_stale_temps(tmp_path):
    old = tmp_path / (fileio.TEMP_PREFIX + 'old')
    young = tmp_path / (fileio.TEMP_PREFIX + 'young')
    other = tmp_path / 'other'
    for path in (old, young, other):
        path.write_text('x')
    os.utime(str(old), (1000, 1000))
    os.utime(str(other), (1000, 1000))
    removed = fileio.remove_stale_temps(str(tmp_path), max_age=60)
    assert removed == [str(old)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([young.name, 'other'])
    assert fileio.remove_stale_temps(str(tmp_path / 'missing')) == []

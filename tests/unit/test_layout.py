# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The layout rule of the collection's code: no file under plugins/ is over 500 lines (a file that grows past it is
split by job, as module_utils/nft_*.py and report.py / conflicts.py / table_report.py were)."""

from __future__ import annotations

import os

PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'plugins')
LIMIT = 500


def plugin_files():
    for root, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if name.endswith(('.py', '.yml', '.yaml')):
                yield os.path.join(root, name)


def test_plugins_are_found():
    assert len(list(plugin_files())) > 40


def test_no_file_under_plugins_is_over_500_lines():
    with_lines = []
    for path in plugin_files():
        with open(path, encoding='utf-8') as handle:
            with_lines.append((sum(1 for _line in handle), os.path.relpath(path, PLUGINS)))
    assert [(count, path) for count, path in sorted(with_lines, reverse=True) if count > LIMIT] == []

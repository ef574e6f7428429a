# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reads of fileio.py (which takes them from here): a file's text or bytes, or None."""

from __future__ import annotations

import errno

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


def read_text(path):
    """A text file's content, or None when it does not exist."""
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise PortwardenError('Cannot read %s: %s.' % (path, exc.strerror or exc))


def read_bytes(path):
    """A file's bytes, or None when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None

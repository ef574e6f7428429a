# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sysctl.d drop-ins as text: read a key, set one key keeping every other line, and the boot order.

Knows the order in which systemd-sysctl and ``sysctl --system`` apply files
at boot, to tell the user when a later file would override the value written
here. Pure functions over text, plus reads of the boot-time files.
"""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.portwarden.ports.plugins.module_utils.fileio import read_text
from ansible_collections.portwarden.ports.plugins.module_utils.procsys import normalize_key

# Directories in the order of precedence that systemd-sysctl and
# `sysctl --system` use: for one file name, the first directory wins; files
# are then applied sorted by name; /etc/sysctl.conf last of all (procps).
SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')
SYSCTL_CONF = '/etc/sysctl.conf'

_LINE_RE = re.compile(r'^\s*-?\s*([A-Za-z0-9_./*-]+)\s*=\s*(.*?)\s*$')


def file_settings(content):
    """Yield (line index, key, value) for each setting line of a sysctl file."""
    for index, line in enumerate((content or '').splitlines()):
        stripped = line.strip()
        if not stripped or stripped[0] in '#;':
            continue
        match = _LINE_RE.match(line)
        if match:
            yield index, normalize_key(match.group(1)), match.group(2)


def file_value(content, key):
    """The last value a sysctl file gives ``key`` (the one that wins), or None."""
    key = normalize_key(key)
    value = None
    for dummy, name, text in file_settings(content):
        if name == key:
            value = text
    return value


def set_file_value(content, key, value):
    """Return ``content`` with ``key`` set to ``value``.

    The first line that sets the key is rewritten in place; later lines that
    set it again are dropped (they would win otherwise); every other line is
    kept as it was. A missing key is appended. ``value=None`` removes the key.
    """
    key = normalize_key(key)
    lines = (content or '').splitlines()
    out = []
    done = False
    for index, line in enumerate(lines):
        match = _LINE_RE.match(line) if line.strip()[:1] not in ('#', ';', '') else None
        if match and normalize_key(match.group(1)) == key:
            if not done and value is not None:
                out.append('%s = %s' % (key, value))
            done = True
            continue
        out.append(line)
    if not done and value is not None:
        if not out:
            out.append('# Managed by portwarden.ports: each key is owned by the module that sets it.')
        out.append('%s = %s' % (key, value))
    return '\n'.join(out) + '\n' if out else ''


def boot_order(dirs=SYSCTL_DIRS, sysctl_conf=SYSCTL_CONF):
    """Files in the order they are applied at boot (later ones win)."""
    chosen = {}
    for directory in dirs:
        for path in glob.glob(os.path.join(directory, '*.conf')):
            chosen.setdefault(os.path.basename(path), path)
    order = [chosen[name] for name in sorted(chosen)]
    real = set(os.path.realpath(p) for p in order)
    if os.path.exists(sysctl_conf) and os.path.realpath(sysctl_conf) not in real:
        order.append(sysctl_conf)
    return order


def boot_overrides(path, key, dirs=SYSCTL_DIRS, sysctl_conf=SYSCTL_CONF):
    """Warnings about files that would defeat ``path``'s value of ``key`` at boot."""
    key = normalize_key(key)
    path = os.path.abspath(path)
    warnings = []
    name = os.path.basename(path)
    in_dirs = os.path.dirname(path) in dirs
    if in_dirs and not name.endswith('.conf'):
        warnings.append('%s is not read at boot: files in %s must end in .conf.' % (path, os.path.dirname(path)))
        return warnings
    if not in_dirs and path != sysctl_conf:
        warnings.append('%s is not in a directory that is applied at boot (%s, or %s); the value set now will not survive '
                        'a reboot unless something loads that file.' % (path, ', '.join(dirs), sysctl_conf))
        return warnings
    order = boot_order(dirs, sysctl_conf)
    if in_dirs:
        for directory in dirs:
            if directory == os.path.dirname(path):
                break
            shadow = os.path.join(directory, name)
            if os.path.exists(shadow):
                warnings.append('%s shadows %s at boot (same name in a directory of higher precedence): %s will come from '
                                'there.' % (shadow, path, key))
    try:
        position = [os.path.realpath(p) for p in order].index(os.path.realpath(path))
    except ValueError:
        position = -1
    for later in order[position + 1:]:
        value = file_value(read_text(later), key)
        if value is not None:
            warnings.append('%s sets %s = %s and is applied after %s at boot, so it overrides the value written here after '
                            'a reboot. Remove the key there or give this file a later name.' % (later, key, value, path))
    return warnings

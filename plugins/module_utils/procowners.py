# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which process holds a socket: Linux /proc/<pid>/fd, for port_info's ``processes`` option.

On its own (not in procnet.py) so that ephemeral_range, which reads the
listeners but never their owners, does not carry it.
"""

from __future__ import annotations

import os

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

PROC = '/proc'


def socket_owners(inodes, root=PROC):
    """Map socket inodes to the owning process: ``{inode: (pid, name)}``.

    Walks ``/proc/<pid>/fd`` in ascending pid order and reads each link
    (``socket:[12345]``). When several processes share a socket (a forked
    server), the lowest pid wins; so the walk stops as soon as every wanted
    inode has an owner (servers usually start early and have low pids).
    Processes that vanish or that this user may not inspect are skipped, so
    without root the map holds only the user's own processes.
    """
    wanted = set('socket:[%s]' % inode for inode in inodes if inode and inode != '0')
    owners = {}
    if not wanted:
        return owners
    try:
        entries = [e for e in os.listdir(root) if e.isdigit()]
    except OSError as exc:
        raise PortwardenError('Cannot list %s: %s.' % (root, exc.strerror or exc))
    readlink = os.readlink
    flags = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0)
    for pid_text in sorted(entries, key=int):
        try:
            dir_fd = os.open(os.path.join(root, pid_text, 'fd'), flags)
        except OSError:
            continue
        hits = []
        try:
            fds = os.listdir(dir_fd)
            for fd in fds:
                try:
                    link = readlink(fd, dir_fd=dir_fd)
                except OSError:
                    continue
                if link in wanted:
                    hits.append(link)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
        if not hits:
            continue
        owner = (int(pid_text), _process_name(root, pid_text))
        for link in hits:
            owners.setdefault(link[8:-1], owner)
            wanted.discard(link)
        if not wanted:
            break
    return owners


def _process_name(root, pid_text):
    try:
        with open(os.path.join(root, pid_text, 'comm'), 'rb') as handle:
            return handle.read().decode('utf-8', 'replace').strip()
    except (IOError, OSError):
        return None

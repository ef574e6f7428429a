# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the port modules reach each OS: notes shared by ephemeral_range, reserved_ports and port_info."""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options: {}
notes:
  - On Linux the module reads and writes C(/proc/sys) and C(/proc/net) directly; each network namespace (and so each
    privileged container) has its own values. Changing them needs root (become); in a container it must be privileged.
  - On Linux the module keeps the compiled code of the collection's module_utils in C(~/.cache/portwarden/code) of the
    user it runs as (mode 0700, checked by the SHA-256 of the source) and loads it on the next run instead of compiling
    it. This is not host state and never reported as a change. Set the environment variable C(PORTWARDEN_CODE_CACHE)
    to C(off) (the task's or play's C(environment)) to keep nothing, or to a directory to keep it there.
  - On Windows (a host reached with a PowerShell or cmd shell) the action plugin of the same name runs C(netsh) (and
    C(netstat), C(tasklist)) through the connection - WinRM, PSRP, or SSH - and reads their output on the controller, in
    any display language; no module code is sent. Changes need an administrator with an elevated token.
  - On FreeBSD and macOS the action plugin runs an internal module of the same name with the prefix C(bsd_), which uses
    C(sysctl), C(netstat) and (FreeBSD) C(sockstat), with the same options and result. It knows the system from the
    host's facts (C(ansible_system)); without them the Linux module runs first, refuses the host naming its system, and
    the BSD module runs in its place (one extra round trip; with async, gather facts first). Setting a sysctl needs root
    (become); in a jail the host must allow it.
"""

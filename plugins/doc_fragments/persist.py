# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""O(persist) and O(sysctl_file): keeping a value across reboots, on every OS."""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  persist:
    description:
      - Also keep the new value in O(sysctl_file) so that it survives a reboot. With V(false) only the running value
        changes and the file is neither read nor written.
      - On Windows, V(true) changes the value with C(store=persistent) (it applies at once and survives a reboot) and
        V(false) with C(store=active) (until the next boot).
    type: bool
    default: true
  sysctl_file:
    description:
      - The file that keeps the persistent value. Written atomically; only the module's own keys change, every other
        line is kept. Created when missing.
      - When null, each OS's own file - C(/etc/sysctl.d/90-portwarden.conf) on Linux, C(/etc/sysctl.conf) on FreeBSD and
        macOS (the file their boot reads).
      - Ignored on Windows, where netsh keeps the persistent value (a warning says so when it is set).
      - Files in a sysctl.d directory must end in C(.conf) to be read at boot.
    type: path
"""

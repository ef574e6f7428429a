# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test builds one virtual environment per sanity test and bootstraps
pip in it with a script it fetches from a host that this machine cannot
reach. This file is copied into ansible-test's cache under the expected name;
it bootstraps pip from the interpreter's bundled wheel (ensurepip) and then
installs the requested packages from the package index the machine's pip
configuration points at.
"""

from __future__ import annotations

import ensurepip
import os
import runpy
import sys


def main():
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null; the machine's pip
    # settings (its index) are needed for the install below.
    os.environ.pop('PIP_CONFIG_FILE', None)
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    sys.argv = ['pip', 'install'] + args
    runpy.run_module('pip', run_name='__main__')


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.portwarden.ports`` importable from this checkout."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, '.build', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'portwarden', 'ports')

if not os.path.islink(LINK) and not os.path.isdir(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(REPO, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# ansible-core's collection loader, installed once for the whole session before any test imports the collection, with
# this checkout's link on its path: a test that needs the plugin loader (a Templar, for one) would otherwise install it
# with no path in the middle of the session, and every later import of the collection would fail for want of its
# metadata, depending on the order the tests run in.
from ansible.plugins.loader import init_plugin_loader  # noqa: E402  pylint: disable=wrong-import-position

init_plugin_loader([COLLECTIONS])


@pytest.fixture(autouse=True, scope='session')
def _ansible_home_of_the_session(tmp_path_factory):
    """The host_firewall action keeps catalogues' models under ANSIBLE_HOME (plugin_utils/catalogue_cache.py): in the
    tests that is a directory of the session's own, never the user's ~/.ansible."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel
    before = getattr(C, 'ANSIBLE_HOME', None)
    C.ANSIBLE_HOME = str(tmp_path_factory.mktemp('ansible_home'))
    yield C.ANSIBLE_HOME
    C.ANSIBLE_HOME = before

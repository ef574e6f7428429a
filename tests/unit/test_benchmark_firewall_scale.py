# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/firewall_scale.py renders the role's table in process through the role's own code: this keeps that
path working as the role's code moves (it once read tasks/load.yml, then a name the filter no longer has)."""

from __future__ import annotations

import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'benchmarks'))

import firewall_scale  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_role import DEFAULTS  # noqa: E402


def test_the_benchmark_passes_every_role_default_the_task_reads():
    with open(os.path.join(REPO, 'roles', 'host_firewall', 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    options = firewall_scale.role_options()
    assert set(options) == set(DEFAULTS) - {'services'}
    assert all(options[name] == defaults['host_firewall_' + name] for name in options)


def test_the_benchmark_renders_the_roles_table(tmp_path):
    path, figures = firewall_scale.render(str(tmp_path), 20, 1)
    with open(path) as handle:
        text = handle.read()
    assert 'table inet portwarden {}\ndelete table inet portwarden\n' in text
    # the catalogue's 19 filler networks (the last 10.0.1.32/29) and the client's network, in one set
    assert '10.0.1.32/29, %s }' % firewall_scale.CLIENT_NET in text
    assert 'tcp dport %d' % firewall_scale.PORT in text
    assert figures['bytes'] == len(text.encode('utf-8'))

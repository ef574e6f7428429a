# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/argspec.py holds all five argument specs; the modules and action plugins use them, not copies."""

from __future__ import annotations

import importlib

import yaml

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report


def test_fleet_report_formats_agree():
    assert argspec.FLEET_REPORT_FORMATS == list(fleet_report.FORMATS)


def test_fleet_report_action_validates_the_shared_spec():
    action = importlib.import_module('ansible_collections.portwarden.ports.plugins.action.fleet_report')
    assert action.ARGUMENT_SPEC is argspec.FLEET_REPORT
    doc = yaml.safe_load(importlib.import_module('ansible_collections.portwarden.ports.plugins.modules.fleet_report')
                         .DOCUMENTATION)['options']
    assert sorted(doc) == sorted(argspec.FLEET_REPORT)
    for name, option in doc.items():
        assert option.get('default') == argspec.FLEET_REPORT[name].get('default'), name
        assert option.get('choices') == argspec.FLEET_REPORT[name].get('choices'), name


def test_nft_table_module_uses_the_shared_spec():
    source = importlib.import_module('ansible_collections.portwarden.ports.plugins.modules.nft_table')
    doc = yaml.safe_load(source.DOCUMENTATION)['options']
    public = argspec.NFT_TABLE
    assert sorted(doc) == sorted(public)
    for name, option in doc.items():
        assert option.get('default') == public[name].get('default'), name
        assert option.get('type', 'str') == public[name].get('type', 'str'), name
    with open(source.__file__) as handle:
        assert 'argument_spec=argspec.NFT_TABLE' in handle.read()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter's compiled-template cache: the role's template compiled once (where the controller loads nft_table's
action plugin), the same ruleset as a fresh compile, another text compiled as it comes."""

from __future__ import annotations

import os

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.portwarden.ports.plugins.filter import host_firewall_model as hfm

ROLE_TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), 'roles', 'host_firewall', 'templates', 'portwarden.nft.j2')
SERVICES = [{'name': 'web', 'port': 8443, 'proto': 'tcp', 'sources': ['10.0.0.0/8', '2001:db8::/32']},
            {'name': 'dns', 'port': 53, 'proto': 'udp'}]


def role_template():
    with open(ROLE_TEMPLATE, encoding='utf-8') as handle:
        return handle.read()


def test_precompile_compiles_the_role_template_once():
    hfm._COMPILED.clear()
    hfm.precompile()
    text = role_template()
    assert list(hfm._COMPILED) == [text]
    compiled = hfm._COMPILED[text]
    hfm.host_firewall_model(SERVICES, template=text, management_ports=[22])
    assert hfm._COMPILED[text] is compiled and len(hfm._COMPILED) == 1


def test_cached_render_equals_a_fresh_compile():
    text = role_template()
    model = hfm.host_firewall_model(SERVICES, management_ports=[22])
    fresh = ImmutableSandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined,
                                          autoescape=False).from_string(text).render(__host_firewall_model=model)
    hfm.precompile()
    assert hfm.host_firewall_model(SERVICES, template=text, management_ports=[22]) == fresh
    assert 'table inet portwarden' in fresh and '8443' in fresh


def test_another_text_is_compiled_as_it_comes():
    hfm.precompile()
    other = '{% for s in __host_firewall_model.services %}{{ s.name }} {% endfor %}'
    assert hfm.host_firewall_model(SERVICES, template=other) == 'web dns '
    assert other in hfm._COMPILED
    assert hfm.host_firewall_model(SERVICES, template=other + '# changed\n').endswith('# changed\n')

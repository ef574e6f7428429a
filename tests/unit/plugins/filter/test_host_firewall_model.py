# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall_model filter, as the role's set_fact calls it."""

from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.filter.host_firewall_model import FilterModule

FILTER = FilterModule().filters()['host_firewall_model']


def test_filter_returns_the_model():
    model = FILTER([{'name': 'ssh', 'port': 22, 'sources': ['10.0.0.0/8']}], management_ports=[22], log_prefix='pw')
    assert model['services'][0]['id'] == 'svc1_ssh_tcp'
    assert model['services'][0]['elements_v4'] == '10.0.0.0/8'
    assert model['management']['ports'] == '22' and model['log_prefix'] == 'pw'


@pytest.mark.parametrize('services, kwargs, words', [
    ([{'name': 'ok', 'port': 1}, {'name': 'web', 'port': 80, 'proto': 'sctp'}], {}, ['service #1 (web)', 'proto', 'sctp']),
    ([{'name': 'web', 'port': 80, 'sources': ['10.0.0.0/8\n}']}], {}, ['service #0 (web)', 'sources']),
    ([{'name': 'web', 'port': 80, 'colour': 'red'}], {}, ['service #0 (web)', 'colour']),
    ('not a list', {}, ['host_firewall_services']),
    ([], {'log_rate': '5/fortnight'}, ['host_firewall_log_rate', '5/fortnight']),
    ([], {'unknown_option': 1}, ['host_firewall_model', 'unknown_option']),
    ([], {'rollback_timeout': -3, 'state_dir': '/var/lib/x'}, ['host_firewall_rollback_timeout', '-3']),
    ([], {'rollback_timeout': 30, 'state_dir': 'rel'}, ['host_firewall_state_dir', "'rel'"]),
    ([], {'allow_ping': 'sometimes'}, ['host_firewall_allow_ping', 'sometimes']),
])
def test_filter_errors_name_the_entry_and_the_field(services, kwargs, words):
    with pytest.raises(AnsibleFilterError) as info:
        FILTER(services, **kwargs)
    for word in words:
        assert word in str(info.value)


TEMPLATE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'host_firewall', 'templates',
                        'portwarden.nft.j2')
CATALOGUE = [
    {'name': 'ssh', 'port': 22, 'sources': ['10.0.0.0/8', '2001:db8::/32'], 'rate_limit': '10/minute', 'description': 'x'},
    {'name': 'web', 'port': '80-81'},
    {'name': 'dns', 'port': 53, 'proto': 'udp', 'sources': ['192.0.2.0/24']},
]


@pytest.mark.parametrize('options', [
    {'management_ports': [22]},
    {'management_ports': [22, '2222-2223'], 'management_sources': ['10.1.0.0/16', 'fd00::/8'], 'log': False,
     'output_policy': 'drop', 'allow_ping': False, 'dhcpv6_client': False},
])
def test_rendered_by_the_filter_as_the_template_lookup_renders_it(options):
    """Byte for byte what lookup('ansible.builtin.template') gives for the same model (which the role no longer uses:
    it copies every variable first)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    with open(TEMPLATE) as handle:
        source = handle.read()
    rendered = FILTER(CATALOGUE, template=source, **options)
    templar = Templar(loader=DataLoader(), variables={'__host_firewall_model': FILTER(CATALOGUE, **options)})
    expected = templar.template(trust_as_template("{{ lookup('ansible.builtin.template', %r) }}" % os.path.abspath(TEMPLATE)))
    assert rendered == expected
    assert rendered.endswith('}\n') and 'table inet portwarden {}\ndelete table inet portwarden\n' in rendered


@pytest.mark.parametrize('template, words', [
    ('', ['template', 'expected the text']),
    ('{{ __host_firewall_model.nope }}', ['does not render', 'nope']),
    ('{{ __host_firewall_model.__class__.__mro__ }}', ['does not render']),   # the sandbox
])
def test_a_bad_template_fails_clearly(template, words):
    with pytest.raises(AnsibleFilterError) as info:
        FILTER(CATALOGUE, template=template)
    for word in words:
        assert word in str(info.value)


def test_sources_read_directly_still_render_their_templates():
    """The filter reads a source list that ansible-core hands it lazily without rendering each plain text (which no
    template can be); an element that is a template is still rendered, and a bad one still fails naming it."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    sources = ['10.%d.0.0/16' % i for i in range(200)] + [trust_as_template('{{ office }}'), '2001:db8::/32']
    variables = {'catalogue': [{'name': 'api', 'port': 443, 'sources': sources}], 'office': '192.0.2.0/24',
                 'bad': [{'name': 'api', 'port': 443, 'sources': ['10.0.0.0/8', trust_as_template('{{ host }}')]}],
                 'host': '192.0.2.1/24'}
    templar = Templar(loader=DataLoader(), variables=variables)
    templar.environment.filters['pw_model'] = FILTER
    model = templar.template(trust_as_template('{{ catalogue | pw_model }}'))
    expected = FILTER([{'name': 'api', 'port': 443, 'sources': sources[:200] + ['192.0.2.0/24', '2001:db8::/32']}])
    assert model['services'] == expected['services']
    assert model['services'][0]['source_count'] == 202 and '192.0.2.0/24' in model['services'][0]['elements_v4']
    with pytest.raises(Exception) as info:
        templar.template(trust_as_template('{{ bad | pw_model }}'))
    assert "service #0 (api): field sources: invalid source '192.0.2.1/24'" in str(info.value)

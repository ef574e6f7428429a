# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugin_utils/firewall_model.py: the model the host_firewall template renders, built on the controller."""

from __future__ import annotations

import ipaddress
import os
import re

import jinja2
import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.portwarden.ports.plugins.plugin_utils import firewall_model
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
TEMPLATE = os.path.join(REPO, 'roles', 'host_firewall', 'templates', 'portwarden.nft.j2')
IDENT_RE = re.compile(r'^[a-z][a-z0-9_]*\Z')

CATALOGUE = [
    {'name': 'ssh', 'port': 22, 'sources': ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32'], 'rate_limit': '10/minute'},
    {'name': 'node-ports', 'port': '30000-32767'},
    {'name': 'dns', 'port': 53, 'proto': 'udp', 'description': 'resolver; # {x}'},
    {'name': 'dns', 'port': 53, 'proto': 'tcp'},
]


def render(model):
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    with open(TEMPLATE) as handle:
        return env.from_string(handle.read()).render(__host_firewall_model=model)


# ---------------------------------------------------------------- model
def test_model_of_a_catalogue():
    model = firewall_model.build_model(CATALOGUE, management_ports=[22, '2222-2223'], management_sources=['192.0.2.0/24'])
    ids = [s['id'] for s in model['services']]
    assert ids == ['svc1_ssh_tcp', 'svc2_node_ports_tcp', 'svc3_dns_udp', 'svc4_dns_tcp']
    assert all(IDENT_RE.match(i) for i in ids)
    ssh = model['services'][0]
    assert ssh['elements_v4'] == '10.0.0.0/8'           # 10.1.0.0/16 merged into 10.0.0.0/8
    assert ssh['elements_v6'] == '2001:db8::/32' and ssh['source_count'] == 3
    assert 'sources' not in ssh and 'sources_v4' not in ssh   # no list: 100,000 sources stay one string
    assert ssh['rate'] == {'text': '10/minute', 'count': 10, 'unit': 'minute', 'timeout': '1m'}
    assert model['services'][1]['nft_port'] == '30000-32767' and model['services'][1]['any_source'] is True
    assert model['management'] == {'ports': '22,2222-2223', 'elements_v4': '192.0.2.0/24', 'elements_v6': '',
                                   'any_source': False}
    assert (model['forward_policy'], model['output_policy'], model['log']) == ('drop', 'accept', True)


def test_rendered_table_replaces_only_its_own_table():
    text = render(firewall_model.build_model(CATALOGUE, management_ports=[22]))
    lines = text.splitlines()
    assert lines[0].startswith('# Managed by Ansible')
    statements = [l for l in lines if l.strip() and not l.strip().startswith('#')]
    assert statements[:3] == ['table inet portwarden {}', 'delete table inet portwarden', 'table inet portwarden {']
    assert sum(1 for l in statements if l.startswith('table ') or l.startswith('delete ')) == 3
    assert 'flush' not in ''.join(statements)
    assert '\t\ttcp dport 22 ip saddr @svc1_ssh_tcp_v4 jump svc1_ssh_tcp comment "ssh"' in lines
    assert '\t\tudp dport 53 accept comment "dns"' in lines
    assert text.count('{') == text.count('}')
    assert '\t# dns: udp 53 - resolver; # {x}' in lines   # description only ever in a comment line


def test_rendered_sets_list_every_source_once_merged():
    sources = ['10.0.0.%d/32' % i for i in range(0, 250, 2)] + ['10.1.0.0/25', '10.1.0.128/25', 'fd00::/64']
    text = render(firewall_model.build_model([{'name': 'api', 'port': 8443, 'sources': sources}]))
    v4 = ', '.join('10.0.0.%d/32' % i for i in range(0, 250, 2)) + ', 10.1.0.0/24'
    assert '\t\telements = { %s }' % v4 in text.splitlines()
    assert '\t\telements = { fd00::/64 }' in text.splitlines()


def test_rendered_policies_and_logging_switches():
    text = render(firewall_model.build_model([], management_ports=[], log=False, forward_policy='accept', output_policy='drop'))
    assert 'log prefix' not in text and 'jump log_' not in text
    assert 'type filter hook forward priority filter; policy accept;' in text
    assert 'type filter hook output priority filter; policy drop;' in text
    assert 'management' not in text.split('table inet portwarden {\n', 1)[1]


INJECTIONS = ['x\ny', 'x"y', "x'y", 'x{y', 'x}y', 'x;y', 'x#y', 'x\\y', 'x\ry', '80;', '{80}', '10.0.0.0/8;', '1/second;']


@pytest.mark.parametrize('bad', INJECTIONS)
@pytest.mark.parametrize('field', ['name', 'port', 'proto', 'sources', 'rate_limit'])
def test_no_catalogue_field_accepts_statement_characters(field, bad):
    entry = {'name': 'web', 'port': 80}
    entry[field] = [bad] if field == 'sources' else bad
    with pytest.raises(PortwardenError) as info:
        firewall_model.build_model([entry])
    assert 'service #0' in info.value.msg and field in info.value.msg


@pytest.mark.parametrize('bad', INJECTIONS)
@pytest.mark.parametrize('option', ['log_prefix', 'log_rate', 'forward_policy', 'output_policy', 'rules_path'])
def test_no_option_accepts_statement_characters(option, bad):
    with pytest.raises(PortwardenError) as info:
        firewall_model.build_model([], **{option: bad})
    assert 'host_firewall_' + option in info.value.msg


@pytest.mark.parametrize('kwargs, words', [
    ({'management_ports': ['22;']}, ['host_firewall_management_ports', '22;']),
    ({'management_sources': ['10.0.0.1/8']}, ['host_firewall_management_sources', 'host bits']),
    ({'allow_ping': 'maybe'}, ['host_firewall_allow_ping', "'maybe'", 'true or false']),
    ({'log': 2}, ['host_firewall_log', '2']),
    ({'dhcpv6_client': None}, ['host_firewall_dhcpv6_client', 'None']),
    ({'rules_path': '/etc/../x'}, ['host_firewall_rules_path']),
    ({'rules_path': 'relative.nft'}, ['host_firewall_rules_path']),
])
def test_bad_options_are_named(kwargs, words):
    with pytest.raises(PortwardenError) as info:
        firewall_model.build_model([], **kwargs)
    for word in words:
        assert word in info.value.msg


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.sampled_from(['name', 'description', 'rate_limit', 'source', 'log_prefix']))
@example('10.0.0.0/8', 'source')
@example('fd00::/8', 'source')
@example('5/minute', 'rate_limit')
@example('a b: c', 'log_prefix')
def test_any_accepted_text_stays_inside_its_token(text, where):
    """Whatever text a user writes: refused, or rendered without any character that could end a statement."""
    entry = {'name': 'web', 'port': 80}
    kwargs = {}
    if where == 'source':
        entry['sources'] = [text]
    elif where == 'log_prefix':
        kwargs['log_prefix'] = text
    else:
        entry[where] = text
    try:
        model = firewall_model.build_model([entry], **kwargs)
    except PortwardenError:
        return
    rendered = render(model)
    baseline = render(firewall_model.build_model([{'name': 'web', 'port': 80}]))
    # a source adds one set (6 lines), a rate limit a comment, two sets and a chain (21 lines); nothing else adds a line
    assert len(rendered.splitlines()) - len(baseline.splitlines()) in (0, 6, 21)
    forbidden = '\n\r;{}"#\\' if where != 'description' else '\n\r"\\'
    assert not any(c in forbidden for c in text)


# ---------------------------------------------------------------- listings
# ---------------------------------------------------------------- collapse
@settings(max_examples=300, deadline=None)
@given(st.sampled_from([4, 6]), st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 12)), min_size=1, max_size=20))
def test_collapse_is_what_ipaddress_collapses(version, items):
    """The integer-interval merge gives exactly ipaddress.collapse_addresses' list (overlaps, adjacency, nesting)."""
    bits = 32 if version == 4 else 128
    base = 0x0a000000 if version == 4 else 0x20010db8 << 96
    nets = set()
    for offset, host_bits in items:
        nets.add(ipaddress.ip_network((base + (offset << 4), bits - host_bits), strict=False))
    texts = [str(n) for n in nets]
    assert firewall_model.collapse(texts) == [str(n) for n in ipaddress.collapse_addresses(nets)]


def test_collapse_keeps_unmerged_networks_and_merges_runs():
    assert firewall_model.collapse(['10.0.0.16/29', '10.0.0.0/29']) == ['10.0.0.0/29', '10.0.0.16/29']
    assert firewall_model.collapse(['10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24']) == ['10.0.0.0/23']
    assert firewall_model.collapse(['10.0.0.0/8', '10.1.0.0/16']) == ['10.0.0.0/8']
    assert firewall_model.collapse(['2001:db8::/33', '2001:db8:8000::/33']) == ['2001:db8::/32']
    assert firewall_model.collapse([]) == []


@pytest.mark.parametrize('text, expected', [('false', False), ('no', False), ('False', False), ('0', False), ('off', False),
                                            ('true', True), ('yes', True), ('YES', True), ('1', True), (' on', True),
                                            (True, True), (False, False), (0, False), (1, True)])
def test_booleans_as_the_argument_spec_takes_them(text, expected):
    """-e host_firewall_allow_ping=false gives the string "false": accepted as the role's argument spec accepts it."""
    model = firewall_model.build_model([], allow_ping=text, dhcpv6_client=text, log=text)
    assert (model['allow_ping'], model['dhcpv6_client'], model['log']) == (expected, expected, expected)
    assert ('icmp type echo-request accept' in render(model)) is expected


@pytest.mark.parametrize('kwargs, words', [
    ({'rollback_timeout': -1}, ['host_firewall_rollback_timeout', '-1', 'or 0']),
    ({'rollback_timeout': '-5'}, ['host_firewall_rollback_timeout', "'-5'"]),
    ({'rollback_timeout': 'soon'}, ['host_firewall_rollback_timeout', "'soon'"]),
    ({'rollback_timeout': True}, ['host_firewall_rollback_timeout', 'True']),
    ({'state_dir': 'state'}, ['host_firewall_state_dir', "'state'", 'absolute path']),
    ({'state_dir': ''}, ['host_firewall_state_dir', 'absolute path']),
    ({'nftables_conf': 'etc/nftables.conf'}, ['host_firewall_nftables_conf', "'etc/nftables.conf'", 'absolute path']),
    ({'nftables_conf': '/etc/nftables.conf', 'persist': 'perhaps'}, ['host_firewall_persist', "'perhaps'"]),
])
def test_role_guards_refuse_what_would_switch_them_off(kwargs, words):
    with pytest.raises(PortwardenError) as info:
        firewall_model.check_role_paths(**kwargs)
    for word in words:
        assert word in info.value.msg
    assert 'Nothing was changed' in info.value.msg or 'host_firewall_persist' in info.value.msg


@pytest.mark.parametrize('kwargs, timeout', [
    ({}, 30), ({'rollback_timeout': 0}, 0), ({'rollback_timeout': '0'}, 0), ({'rollback_timeout': ' 8 '}, 8),
    ({'nftables_conf': 'relative', 'persist': 'no'}, 30),      # not used without persistence: not refused
    ({'nftables_conf': ''}, 30), ({'nftables_conf': '/etc/sysconfig/nftables.conf', 'persist': 'true'}, 30),
])
def test_role_guards_accept_the_documented_values(kwargs, timeout):
    assert firewall_model.check_role_paths(**kwargs) == timeout


# ---------------------------------------------------------------- sets of at most SET_SIZE networks
def test_shards_keep_one_set_and_its_name_below_the_size():
    networks = ['10.0.0.%d/32' % (2 * i) for i in range(5)]
    joined = ', '.join(networks)
    assert firewall_model.shards('svc1_web_tcp_v4', 'ip', networks, size=5) == [
        {'name': 'svc1_web_tcp_v4', 'family': 'ip', 'elements': joined}]
    assert firewall_model.shards('svc1_web_tcp_v6', 'ip6', []) == []


def test_shards_split_in_order_into_consecutive_sets_of_at_most_the_size():
    networks = ['10.0.%d.%d/32' % (i // 128, 2 * (i % 128)) for i in range(12)]
    sets = firewall_model.shards('svc2_db_tcp_v4', 'ip', networks, size=5)
    assert [s['name'] for s in sets] == ['svc2_db_tcp_v4', 'svc2_db_tcp_v4_2', 'svc2_db_tcp_v4_3']
    assert [s['elements'].split(', ') for s in sets] == [networks[0:5], networks[5:10], networks[10:12]]
    assert set(s['family'] for s in sets) == {'ip'}


def test_a_large_catalogue_entry_renders_one_rule_per_set(monkeypatch):
    monkeypatch.setattr(firewall_model, 'SET_SIZE', 3)
    sources = ['10.1.0.%d/32' % (2 * i) for i in range(7)] + ['2001:db8::%x/128' % (2 * i) for i in range(2)]
    model = firewall_model.build_model([{'name': 'web', 'port': 443, 'sources': sources}], management_ports=[22])
    item = model['services'][0]
    assert [(s['name'], s['family'], s['elements'].count(',') + 1) for s in item['sets']] == [
        ('svc1_web_tcp_v4', 'ip', 3), ('svc1_web_tcp_v4_2', 'ip', 3), ('svc1_web_tcp_v4_3', 'ip', 1),
        ('svc1_web_tcp_v6', 'ip6', 2)]
    assert item['elements_v4'] == ', '.join(sources[:7])          # the whole list stays in the model too
    text = render(model)
    for name, family in (('svc1_web_tcp_v4', 'ip'), ('svc1_web_tcp_v4_2', 'ip'), ('svc1_web_tcp_v4_3', 'ip'),
                         ('svc1_web_tcp_v6', 'ip6')):
        assert text.count('\tset %s {\n' % name) == 1
        assert text.count('tcp dport 443 %s saddr @%s accept comment "web"' % (family, name)) == 1
    assert '10.1.0.12/32 }' in text and 'svc1_web_tcp_v4_4' not in text

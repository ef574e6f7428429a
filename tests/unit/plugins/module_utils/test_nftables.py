# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/nftables.py: the rendering model, listings, and the apply /
confirm / rollback state machine (nft replaced by a fake at run_command;
the rollback timer's shell script runs for real with a fake nft)."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import time

import jinja2
import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.portwarden.ports.plugins.module_utils import nftables
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
    model = nftables.build_model(CATALOGUE, management_ports=[22, '2222-2223'], management_sources=['192.0.2.0/24'])
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
    text = render(nftables.build_model(CATALOGUE, management_ports=[22]))
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
    text = render(nftables.build_model([{'name': 'api', 'port': 8443, 'sources': sources}]))
    v4 = ', '.join('10.0.0.%d/32' % i for i in range(0, 250, 2)) + ', 10.1.0.0/24'
    assert '\t\telements = { %s }' % v4 in text.splitlines()
    assert '\t\telements = { fd00::/64 }' in text.splitlines()


def test_rendered_policies_and_logging_switches():
    text = render(nftables.build_model([], management_ports=[], log=False, forward_policy='accept', output_policy='drop'))
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
        nftables.build_model([entry])
    assert 'service #0' in info.value.msg and field in info.value.msg


@pytest.mark.parametrize('bad', INJECTIONS)
@pytest.mark.parametrize('option', ['log_prefix', 'log_rate', 'forward_policy', 'output_policy', 'rules_path'])
def test_no_option_accepts_statement_characters(option, bad):
    with pytest.raises(PortwardenError) as info:
        nftables.build_model([], **{option: bad})
    assert 'host_firewall_' + option in info.value.msg


@pytest.mark.parametrize('kwargs, words', [
    ({'management_ports': ['22;']}, ['host_firewall_management_ports', '22;']),
    ({'management_sources': ['10.0.0.1/8']}, ['host_firewall_management_sources', 'host bits']),
    ({'allow_ping': 'yes'}, ['host_firewall_allow_ping']),
    ({'rules_path': '/etc/../x'}, ['host_firewall_rules_path']),
    ({'rules_path': 'relative.nft'}, ['host_firewall_rules_path']),
])
def test_bad_options_are_named(kwargs, words):
    with pytest.raises(PortwardenError) as info:
        nftables.build_model([], **kwargs)
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
        model = nftables.build_model([entry], **kwargs)
    except PortwardenError:
        return
    rendered = render(model)
    baseline = render(nftables.build_model([{'name': 'web', 'port': 80}]))
    # a source adds one set (6 lines), a rate limit a comment, two sets and a chain (21 lines); nothing else adds a line
    assert len(rendered.splitlines()) - len(baseline.splitlines()) in (0, 6, 21)
    forbidden = '\n\r;{}"#\\' if where != 'description' else '\n\r"\\'
    assert not any(c in forbidden for c in text)


# ---------------------------------------------------------------- listings
LISTING = '''table inet portwarden {
\tset static_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.0/8, 192.0.2.0/24 }
\t}

\tset svc1_rate_v4 {
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 1m
\t\telements = { 10.0.0.7 limit rate over 3/minute burst 3 packets expires 41s,
\t\t\t     10.0.0.8 limit rate over 3/minute burst 3 packets expires 55s }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\ttcp dport 22 accept
\t}
}
'''


def test_normalize_listing_drops_dynamic_elements_only():
    out = nftables.normalize_listing(LISTING)
    assert 'elements = { 10.0.0.0/8, 192.0.2.0/24 }' in out
    assert '10.0.0.7' not in out and '10.0.0.8' not in out and 'expires' not in out
    assert 'flags dynamic,timeout' in out and 'tcp dport 22 accept' in out
    assert nftables.normalize_listing(out) == out
    empty = LISTING.replace('\t\telements = { 10.0.0.7 limit rate over 3/minute burst 3 packets expires 41s,\n'
                            '\t\t\t     10.0.0.8 limit rate over 3/minute burst 3 packets expires 55s }\n', '')
    assert nftables.normalize_listing(empty) == out


def test_restore_script_declares_deletes_defines():
    assert nftables.restore_script('inet', 'portwarden', None) == 'table inet portwarden {}\ndelete table inet portwarden\n'
    assert nftables.restore_script('inet', 'portwarden', 'table inet portwarden {\n}\n').endswith(
        'delete table inet portwarden\ntable inet portwarden {\n}\n')


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
    assert nftables._collapse(texts) == [str(n) for n in ipaddress.collapse_addresses(nets)]


def test_collapse_keeps_unmerged_networks_and_merges_runs():
    assert nftables._collapse(['10.0.0.16/29', '10.0.0.0/29']) == ['10.0.0.0/29', '10.0.0.16/29']
    assert nftables._collapse(['10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24']) == ['10.0.0.0/23']
    assert nftables._collapse(['10.0.0.0/8', '10.1.0.0/16']) == ['10.0.0.0/8']
    assert nftables._collapse(['2001:db8::/33', '2001:db8:8000::/33']) == ['2001:db8::/32']
    assert nftables._collapse([]) == []


# ---------------------------------------------------------------- state machine
class FakeModule(object):
    """run_command with a pretend nft: one table, loaded from the last -f script; systemctl with one unit."""

    def __init__(self, tmpdir, check_fails=False, load_fails=False, nft=True):
        self.live = None
        self.calls = []
        self.events = []
        self.check_fails = check_fails
        self.load_fails = load_fails
        self.nft = nft
        self.tmpdir = tmpdir
        self.enabled = False
        self.checked = {}
        self.loads = 0

    def get_bin_path(self, name, required=False):
        if name == 'nft' and not self.nft:
            return None
        return '/usr/sbin/' + name

    def atomic_move(self, src, dst):
        os.rename(src, dst)

    def run_command(self, argv, check_rc=False):
        tool, args = os.path.basename(argv[0]), argv[1:]
        if tool == 'systemctl':
            self.calls.append(argv[:])
            if args[0] == 'is-enabled':
                return (0, 'enabled\n', '') if self.enabled else (1, 'disabled\n', '')
            self.enabled = True
            return 0, '', ''
        self.calls.append(args)
        self.events.append('nft ' + ' '.join(args[:2]))
        if args[:2] == ['-s', 'list']:
            return (0, self.live, '') if self.live is not None else (1, '', 'Error: No such file or directory')
        if args[0] == '-c':
            with open(args[2]) as handle:
                self.checked[args[2]] = handle.read()
            return (1, '', 'Error: syntax error') if self.check_fails else (0, '', '')
        if args[0] == '-f':
            if self.load_fails:
                return 1, '', 'Error: syntax error'
            self.loads += 1
            with open(args[1]) as handle:
                script = handle.read()
            body = script.split('delete table inet portwarden\n', 1)[1]
            self.live = body if body.strip() else None
            return 0, '', ''
        raise AssertionError(argv)


class Generation(object):
    """The ruleset generation the kernel would report: goes up with every nft -f of the fake."""

    def __init__(self, module, available=True):
        self.module = module
        self.available = available
        self.extra = 0

    def __call__(self):
        if not self.available:
            return None
        return 'boot:7:%d' % (self.module.loads + self.extra)


def make(tmp_path, monkeypatch, **kwargs):
    scratch = tmp_path / 'tmp'
    scratch.mkdir(exist_ok=True)
    module = FakeModule(str(scratch), **kwargs)
    mgr = nftables.TableManager(module, 'inet', 'portwarden', str(tmp_path / 'state'))
    timers = []

    def watchdog(*args):
        timers.append(args)
        module.events.append('timer')
    monkeypatch.setattr(mgr, 'start_watchdog', watchdog)
    gen = Generation(module)
    monkeypatch.setattr(mgr, 'generation', gen)
    monkeypatch.setattr(nftables, 'SYSTEMD_RUNNING', str(tmp_path / 'run-systemd-system'))
    return module, mgr, gen, timers


@pytest.fixture
def setup(tmp_path, monkeypatch):
    module, mgr, _gen, timers = make(tmp_path, monkeypatch)
    return module, mgr, str(tmp_path / 'etc' / 'portwarden.nft'), timers


CONTENT = 'table inet portwarden {}\ndelete table inet portwarden\ntable inet portwarden {\n\tchain input {\n\t}\n}\n'
CONTENT2 = CONTENT.replace('chain input {\n', 'chain input {\n\t\ttcp dport 22 accept\n')


def nft_calls(module):
    return [c for c in module.calls if not c[0].endswith('systemctl')]


def test_check_apply_check_apply_without_rollback(setup):
    module, mgr, path, timers = setup
    result = nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=True)
    assert result['changed'] and result['table_changed'] and result['file_changed']
    assert module.live is None and not os.path.exists(path) and not os.path.exists(mgr.state_dir)
    assert result['diff']['after'] == CONTENT and result['diff']['before'] == ''
    assert [c[:2] for c in module.calls] == [['-s', 'list'], ['-c', '-f']]   # check mode checks the script

    module.calls[:] = []
    result = nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert result['changed'] and result['pending'] is None and not timers
    assert module.live.startswith('table inet portwarden {')
    with open(path) as handle:
        assert handle.read() == CONTENT
    # one load (all or nothing, no separate nft -c) and one listing for the record; no restore file without a timer
    assert [c[:2] for c in module.calls] == [['-s', 'list'], ['-f', module.calls[1][1]], ['-s', 'list']]
    for check in (True, False):
        module.calls[:] = []
        result = nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=check)
        assert not result['changed'], check
        assert module.calls == [], 'no nft at all while the ruleset generation is unchanged'
    assert sorted(os.listdir(mgr.state_dir)) == ['inet-portwarden.record']


def test_without_a_generation_every_run_lists_the_table(tmp_path, monkeypatch):
    module, mgr, gen, _timers = make(tmp_path, monkeypatch)
    gen.available = False
    path = str(tmp_path / 'etc' / 'x.nft')
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.calls[:] = []
    assert not nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)['changed']
    assert module.calls == [['-s', 'list', 'table', 'inet', 'portwarden']]


def test_a_commit_elsewhere_costs_one_listing_then_none(tmp_path, monkeypatch):
    module, mgr, gen, _timers = make(tmp_path, monkeypatch)
    path = str(tmp_path / 'etc' / 'x.nft')
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    gen.extra = 5                                  # another tool committed a transaction (its own table)
    for expected in ([['-s', 'list', 'table', 'inet', 'portwarden']], []):
        module.calls[:] = []
        result = nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
        assert not result['changed'] and not result['drifted']
        assert module.calls == expected
    assert 'generation boot:7:6\n' in open(mgr.state_path('record')).read()


def test_drift_is_seen_and_repaired(tmp_path, monkeypatch):
    module, mgr, gen, _timers = make(tmp_path, monkeypatch)
    path = str(tmp_path / 'etc' / 'x.nft')
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.live = module.live.replace('chain input {', 'chain input {\n\t\ttcp dport 4444 accept')
    gen.extra = 1                                  # the change behind Ansible's back was a transaction
    result = nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=True)
    assert result['changed'] and result['drifted'] and 'tcp dport 4444' in result['diff']['before']
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert '4444' not in module.live


def test_rollback_armed_then_confirmed(setup):
    module, mgr, path, timers = setup
    result = nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    assert result['pending'] == 'aa11bb22'
    (timeout, pending, restore, outcome), = timers
    assert timeout == 30 and os.path.exists(pending) and outcome.endswith('aa11bb22.rolledback')
    with open(restore) as handle:
        assert handle.read() == 'table inet portwarden {}\ndelete table inet portwarden\n'  # the table did not exist
    assert not os.path.exists(path)                       # persisted only once confirmed
    assert module.events == ['nft -s list', 'timer', 'nft -f ' + module.calls[-1][1]]   # armed before the load
    assert nftables.confirm_table(mgr, CONTENT, path, 'aa11bb22')['confirmed'] is True
    assert not os.path.exists(pending) and os.path.exists(path) and not os.path.exists(restore)
    assert not nftables.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=False)['changed']


def test_confirmation_without_content_commits_the_copy_saved_at_apply(setup):
    """The action plugin sends no content to confirm: the host keeps the applied script until then."""
    _module, mgr, path, _timers = setup
    nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    saved = mgr.state_path('aa11bb22.candidate')
    with open(saved) as handle:
        assert handle.read() == CONTENT
    assert nftables.confirm_table(mgr, '', path, 'aa11bb22')['confirmed'] is True
    with open(path) as handle:
        assert handle.read() == CONTENT
    assert not os.path.exists(saved)
    assert not nftables.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=False)['changed']


def test_confirmation_without_content_or_saved_copy_says_the_file_was_not_written(setup):
    _module, mgr, path, _timers = setup
    nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    os.unlink(mgr.state_path('aa11bb22.candidate'))
    with pytest.raises(PortwardenError) as info:
        nftables.confirm_table(mgr, '', path, 'aa11bb22')
    assert 'saved copy' in info.value.msg and 'was not written' in info.value.msg
    assert not os.path.exists(path) and not os.path.exists(mgr.state_path('aa11bb22.pending'))


def test_status_after_a_rollback_removes_the_saved_copy(setup):
    _module, mgr, path, _timers = setup
    nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    os.unlink(mgr.state_path('aa11bb22.pending'))         # the timer took the marker and restored
    nftables.cleanup_token(mgr, 'aa11bb22')
    assert not os.path.exists(mgr.state_path('aa11bb22.candidate'))


def test_replacing_restores_from_the_previous_script_without_checking_a_listing(setup):
    module, mgr, path, timers = setup
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    module.calls[:] = []
    module.events[:] = []
    result = nftables.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    assert result['pending'] == 'cc33dd44' and result['table_changed'] and not result['drifted']
    with open(timers[0][2]) as handle:
        assert handle.read() == CONTENT                  # the script that loaded the current table
    assert module.events == ['timer', 'nft -f ' + module.calls[0][1]]   # no listing, no nft -c: only the load
    nftables.confirm_table(mgr, CONTENT2, path, 'cc33dd44')
    assert 'tcp dport 22 accept' in module.live


def test_replacing_after_the_file_was_edited_restores_a_checked_listing(setup):
    module, mgr, path, timers = setup
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False)
    with open(path, 'a') as handle:
        handle.write('# edited by hand\n')
    live = module.live
    nftables.apply_table(mgr, CONTENT2, path, 30, 'cc33dd44', check_mode=False)
    restore = timers[0][2]
    with open(restore) as handle:
        assert handle.read() == nftables.restore_script('inet', 'portwarden', live)
    assert ['-c', '-f', restore] in module.calls


def test_confirm_after_the_timer_fired_reports_the_rollback(setup):
    module, mgr, path, timers = setup
    nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False)
    _timeout, pending, _restore, outcome = timers[0]
    os.rename(pending, pending + '.expired')              # what the timer does first
    with open(outcome, 'w') as handle:
        handle.write('rc=0\n')
    with pytest.raises(PortwardenError) as info:
        nftables.confirm_table(mgr, CONTENT, path, 'aa11bb22')
    assert info.value.details == {'rolled_back': True} and 'restored the previous table' in info.value.msg
    assert nftables.status_table(mgr, 'aa11bb22') == {'rolled_back': True, 'rollback_output': 'rc=0', 'waiting': True}
    assert not os.path.exists(path)


def test_invalid_script_is_refused_in_check_mode(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch, check_fails=True)
    with pytest.raises(PortwardenError) as info:
        nftables.apply_table(mgr, CONTENT, str(tmp_path / 'x.nft'), 30, 'aa11bb22', check_mode=True)
    assert 'nft -c -f' in info.value.msg and 'syntax error' in info.value.msg
    assert [c for c in module.calls if c[0] == '-f'] == [] and not os.path.exists(mgr.state_dir)


def test_invalid_script_changes_nothing_and_disarms_the_timer(tmp_path, monkeypatch):
    module, mgr, _gen, timers = make(tmp_path, monkeypatch, load_fails=True)
    with pytest.raises(PortwardenError) as info:
        nftables.apply_table(mgr, CONTENT, str(tmp_path / 'x.nft'), 30, 'aa11bb22', check_mode=False)
    assert 'nothing was changed' in info.value.msg and 'syntax error' in info.value.msg
    assert module.live is None and len(timers) == 1
    assert os.listdir(mgr.state_dir) == []                # marker and restore file gone: the timer stands down
    assert not os.path.exists(str(tmp_path / 'x.nft'))


def test_flush_ruleset_is_refused(setup):
    _module, mgr, path, _timers = setup
    with pytest.raises(PortwardenError) as info:
        nftables.apply_table(mgr, 'flush ruleset\n' + CONTENT, path, 0, 'aa11bb22', check_mode=False)
    assert 'flush ruleset' in info.value.msg


def test_missing_nft_is_reported_as_such(tmp_path):
    with pytest.raises(PortwardenError) as info:
        nftables.TableManager(FakeModule(str(tmp_path), nft=False), 'inet', 'portwarden', str(tmp_path))
    assert info.value.details == {'nft_missing': True} and 'nftables package' in info.value.msg


@pytest.mark.parametrize('family, name', [('inet6', 'x'), ('inet', 'a b'), ('inet', 'x;y'), ('inet', '')])
def test_table_identity_is_checked(tmp_path, family, name):
    with pytest.raises(PortwardenError):
        nftables.TableManager(FakeModule(str(tmp_path)), family, name, str(tmp_path))


def test_record_round_trip_and_the_older_format():
    record = nftables.Record('sha256:ab', 'boot:3:9', 'table inet portwarden {\n}\n')
    again = nftables.Record.parse(record.format())
    assert (again.digest, again.generation, again.listing) == ('sha256:ab', 'boot:3:9', 'table inet portwarden {\n}\n')
    old = nftables.Record.parse('sha256:ab\ntable inet portwarden {\n}\n')
    assert (old.generation, old.listing) == (None, 'table inet portwarden {\n}\n')
    assert nftables.Record.parse(None) is None


# ---------------------------------------------------------------- boot configuration
STOCK = '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\ninclude "/etc/nftables.d/*.nft"'


def test_include_line_and_service_only_after_confirmation(tmp_path, monkeypatch):
    module, mgr, _gen, _timers = make(tmp_path, monkeypatch)
    os.makedirs(nftables.SYSTEMD_RUNNING)
    conf = tmp_path / 'nftables.conf'
    conf.write_text(STOCK)
    conf.chmod(0o700)
    path = str(tmp_path / 'etc' / 'portwarden.nft')
    persist = {'include_in': str(conf), 'enable_service': True}

    result = nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=True, **persist)
    assert result['include_changed'] and result['service_changed'] and result['systemd_running']
    assert result['include_file'] == str(conf)
    rules_diff, conf_diff = result['diff']
    assert rules_diff['after'] == CONTENT
    assert conf_diff['before'] == STOCK and conf_diff['after'] == STOCK + '\ninclude "%s"\n' % path
    assert conf.read_text() == STOCK and not module.enabled

    result = nftables.apply_table(mgr, CONTENT, path, 30, 'aa11bb22', check_mode=False, **persist)
    assert result['pending'] and conf.read_text() == STOCK and not module.enabled   # nothing before the confirmation
    confirmed = nftables.confirm_table(mgr, CONTENT, path, 'aa11bb22', **persist)
    assert confirmed['include_changed'] and confirmed['service_changed']
    assert conf.read_text() == STOCK + '\ninclude "%s"\n' % path and module.enabled
    assert oct(conf.stat().st_mode & 0o777) == '0o700'                          # the file's own mode is kept
    assert module.checked[[c for c in module.calls if c[0] == '-c'][-1][2]] == conf.read_text()   # checked before

    for check in (True, False):
        result = nftables.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=check, **persist)
        assert not result['changed'] and not result['include_changed'] and not result['service_changed'], check
        assert isinstance(result['diff'], dict)


def test_missing_include_line_is_restored_without_reloading_the_table(tmp_path, monkeypatch):
    module, mgr, _gen, timers = make(tmp_path, monkeypatch)
    conf = tmp_path / 'sub' / 'nftables.conf'
    path = str(tmp_path / 'etc' / 'portwarden.nft')
    nftables.apply_table(mgr, CONTENT, path, 0, 'aa11bb22', check_mode=False, include_in=str(conf))
    assert conf.read_text() == 'include "%s"\n' % path and oct(conf.stat().st_mode & 0o777) == '0o755'
    conf.write_text('# emptied by hand\n')
    module.calls[:] = []
    result = nftables.apply_table(mgr, CONTENT, path, 30, 'cc33dd44', check_mode=False, include_in=str(conf),
                                  enable_service=True)
    assert result['changed'] and not result['table_changed'] and result['include_changed'] and not timers
    assert result['systemd_running'] is False and result['service_changed'] is False   # no systemd here: left alone
    assert conf.read_text() == '# emptied by hand\ninclude "%s"\n' % path
    assert [c[:2] for c in module.calls] == [['-c', '-f']]    # only the new nftables.conf was checked; no load


def test_include_refuses_a_path_that_could_escape_the_line(setup):
    _module, mgr, _path, _timers = setup
    with pytest.raises(PortwardenError) as info:
        nftables.apply_table(mgr, CONTENT, '/etc/x"\ninclude "/tmp/evil', 0, 'aa11bb22', check_mode=True,
                             include_in='/etc/nftables.conf')
    assert 'include line' in info.value.msg


@pytest.mark.parametrize('os_release, expected', [
    ('ID=debian\nVERSION_ID="12"\n', '/etc/nftables.conf'),
    ('ID=ubuntu\nID_LIKE=debian\n', '/etc/nftables.conf'),
    ('ID="rhel"\nID_LIKE="fedora"\n', '/etc/sysconfig/nftables.conf'),
    ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', '/etc/sysconfig/nftables.conf'),
    ('ID=fedora\n', '/etc/sysconfig/nftables.conf'),
    ('ID="amzn"\nID_LIKE="fedora"\n', '/etc/sysconfig/nftables.conf'),
    ('ID=arch\n', '/etc/nftables.conf'),
    ('ID=opensuse-tumbleweed\nID_LIKE="opensuse suse"\n', '/etc/nftables.conf'),
])
def test_distribution_nftables_conf(os_release, expected):
    assert nftables.distribution_nftables_conf(os_release) == expected


def test_distribution_nftables_conf_without_os_release():
    only_red_hat = {'/etc/sysconfig/nftables.conf'}
    assert nftables.distribution_nftables_conf(None, exists=only_red_hat.__contains__) in (
        '/etc/sysconfig/nftables.conf', '/etc/nftables.conf')   # this machine's own os-release may answer first
    assert nftables.distribution_nftables_conf('', exists=only_red_hat.__contains__) == '/etc/nftables.conf'


# ---------------------------------------------------------------- the timer script, for real
@pytest.fixture
def fake_nft(tmp_path):
    path = tmp_path / 'nft'
    path.write_text('#!/bin/sh\necho "loaded $*" >> %s\n' % (tmp_path / 'nft.log'))
    path.chmod(0o755)
    return str(path)


def run_timer(tmp_path, fake_nft, timeout):
    pending, restore, outcome = (str(tmp_path / n) for n in ('t.pending', 't.restore', 't.rolledback'))
    for f in (pending, restore):
        open(f, 'w').close()
    proc = subprocess.Popen([shutil.which('sh'), '-c', nftables.WATCHDOG, 'portwarden-rollback', str(timeout),
                             pending, restore, fake_nft, outcome])
    return proc, pending, restore, outcome


def test_timer_restores_when_not_confirmed(tmp_path, fake_nft):
    proc, pending, restore, outcome = run_timer(tmp_path, fake_nft, 1)
    assert proc.wait(timeout=10) == 0
    assert (tmp_path / 'nft.log').read_text() == 'loaded -f %s\n' % restore
    with open(outcome) as handle:
        assert handle.read() == 'rc=0\n'
    assert not os.path.exists(pending) and not os.path.exists(pending + '.expired')


def test_timer_stands_down_when_confirmed(tmp_path, fake_nft):
    proc, pending, _restore, outcome = run_timer(tmp_path, fake_nft, 3)
    time.sleep(0.3)
    os.rename(pending, pending + '.confirmed')
    assert proc.wait(timeout=10) == 0
    assert not (tmp_path / 'nft.log').exists() and not os.path.exists(outcome)

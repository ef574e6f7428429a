# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/nft_delta.py: which scripts are read as a whole-table replacement, which sets a replacement keeps,
and the transaction it writes (the kernel's side is tested in tests/integration/test_nft_record.py)."""

from __future__ import annotations

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import nft_delta

HEAD = '# Managed by Ansible\ntable inet portwarden {}\ndelete table inet portwarden\ntable inet portwarden {\n'

SOURCES = '''\tset svc1_api_tcp_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.0/8, 192.0.2.0/24 }
\t}
'''
BANS = '''\tset banned_v4 {
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 600s
\t}
'''
METER = '''\tset scan_v4 {
\t\ttype ipv4_addr
\t\tflags dynamic, timeout
\t\ttimeout 60s
\t}
'''
COUNTER = '\tcounter default_drop {\n\t}\n'


def chain(rate='5/minute'):
    return ('\tchain input {\n\t\ttype filter hook input priority filter; policy drop; # the "{" in a comment\n'
            '\t\tip saddr @svc1_api_tcp_v4 tcp dport 8443 accept\n'
            '\t\tlimit rate %s log prefix "portwarden { drop: " counter name "default_drop"\n\t}\n' % rate)


def script(*blocks, tail='}\n'):
    return HEAD + '\n'.join(blocks) + tail


def test_table_objects_reads_the_whole_table_shape():
    attributes, objects = nft_delta.table_objects(script('\tcomment "x # y"\n', COUNTER, SOURCES, chain()),
                                                  'inet', 'portwarden')
    assert attributes == ['comment "x # y"']
    assert [(kind, name) for kind, name, dummy in objects] == [
        ('counter', 'default_drop'), ('set', 'svc1_api_tcp_v4'), ('chain', 'input')]
    assert objects[1][2] == SOURCES.rstrip('\n')
    assert 'policy drop' in objects[2][2] and objects[2][2].endswith('\t}')


@pytest.mark.parametrize('text', [
    'table inet portwarden {\n' + SOURCES + '}\n',                                 # no declare / delete
    HEAD.replace('delete table', 'flush table') + SOURCES + '}\n',                 # flush instead of delete
    'define NETS = { 10.0.0.0/8 }\n' + script(SOURCES),                          # a define before the table
    script(SOURCES) + 'add rule inet portwarden input accept\n',                  # a statement after the block
    script(SOURCES, tail=''),                                                    # the block never closes
    script(SOURCES, SOURCES),                                                    # a set declared twice
    script(SOURCES, SOURCES.replace('set svc1', 'map svc1')),                   # a set and a map of one name
    script('\tfoo bar {\n\t}\n'),                                                # an unknown object
    script(SOURCES, tail='}\n}\n'),                                              # one brace too many
])
def test_table_objects_refuses_any_other_shape(text):
    assert nft_delta.table_objects(text, 'inet', 'portwarden') is None


def test_table_objects_only_for_its_own_table():
    assert nft_delta.table_objects(script(SOURCES), 'inet', 'other') is None
    assert nft_delta.table_objects(script(SOURCES), 'ip', 'portwarden') is None


def test_replacement_keeps_the_leading_unchanged_sets_static_or_filled_by_packets():
    before = script(COUNTER, SOURCES, BANS, METER, chain())
    after = script(COUNTER, SOURCES, BANS, METER, chain('6/minute'))
    text, kept = nft_delta.replacement('inet', 'portwarden', before, after)
    assert kept == ['svc1_api_tcp_v4', 'banned_v4', 'scan_v4']
    lines = text.splitlines()
    # every chain emptied before any object is deleted (a rule may refer to any of them), then the new ones declared
    assert lines[1:3] == ['flush chain inet portwarden input', 'delete chain inet portwarden input']
    assert lines[3:5] == ['delete counter inet portwarden default_drop', 'table inet portwarden {']
    assert 'delete set' not in text and '10.0.0.0/8' not in text    # the kept sets' elements are not sent again
    assert 'limit rate 6/minute' in text and 'counter default_drop {' in text and lines[-1] == '}'


def test_replacement_keeps_the_sets_before_the_first_that_changes_and_makes_the_rest_in_order():
    other = SOURCES.replace('svc1_api_tcp_v4', 'svc2_db_tcp_v4')
    kept_set = '\tset kept {\n\t\ttype ipv4_addr\n\t}\n'
    before = script(kept_set, SOURCES, other, BANS, chain())
    after = script(kept_set, SOURCES.replace('192.0.2.0/24', '198.51.100.0/24'), other, BANS, METER, chain())
    text, kept = nft_delta.replacement('inet', 'portwarden', before, after)
    assert kept == ['kept']
    # the sets after the first change are made again, in the script's order, so the kernel lists them in that order
    deleted = [line.split()[-1] for line in text.splitlines() if line.startswith('delete set')]
    assert deleted == ['svc1_api_tcp_v4', 'svc2_db_tcp_v4', 'banned_v4']
    made = [line.split()[1] for line in text.splitlines() if line.startswith('\tset ')]
    assert made == ['svc1_api_tcp_v4', 'svc2_db_tcp_v4', 'banned_v4', 'scan_v4']
    assert '198.51.100.0/24' in text and 'delete set inet portwarden kept' not in text
    # a set moved, removed or put first: nothing is kept
    assert nft_delta.replacement('inet', 'portwarden', before, script(SOURCES, kept_set, other, BANS, chain())) is None
    assert nft_delta.replacement('inet', 'portwarden', before, script(SOURCES, other, BANS, chain())) is None
    assert nft_delta.replacement('inet', 'portwarden', before, script(METER, kept_set, SOURCES, chain())) is None
    # a map among the sets ends what is kept (sets and maps are one list in the kernel)
    vmap = '\tmap ports {\n\t\ttype inet_service : verdict\n\t}\n'
    text, kept = nft_delta.replacement('inet', 'portwarden', script(kept_set, vmap, SOURCES, chain()),
                                       script(kept_set, vmap, SOURCES, chain('6/minute')))
    assert kept == ['kept'] and 'delete map inet portwarden ports' in text and 'delete set inet portwarden svc1' in text


def test_a_script_with_a_meter_is_loaded_whole():
    metered = chain().replace('counter name', 'meter flood { ip saddr limit rate 10/second } counter name')
    assert nft_delta.table_objects(script(SOURCES, metered), 'inet', 'portwarden') is None


def test_replacement_needs_both_scripts_in_shape_and_the_same_table_statements():
    before = script(SOURCES, chain())
    assert nft_delta.replacement('inet', 'portwarden', None, before) is None
    assert nft_delta.replacement('inet', 'portwarden', 'table inet portwarden {\n}\n', before) is None
    assert nft_delta.replacement('inet', 'portwarden', before, 'define X = 1\n' + before) is None
    assert nft_delta.replacement('inet', 'portwarden', before, script('\tflags dormant\n', SOURCES, chain())) is None
    commented = script('\tcomment "a"\n', SOURCES, chain())
    assert nft_delta.replacement('inet', 'portwarden', commented, commented.replace('"a"', '"b"')) is None
    # a change of whitespace inside a set is a change: it is declared again, never guessed to be the same
    assert nft_delta.replacement('inet', 'portwarden', before, script(SOURCES.replace('\t\tflags', '\t\t flags'), chain())) is None


def test_replacement_deletes_every_kind_of_object_by_its_keyword():
    helper = '\tct helper ftp_std {\n\t\ttype "ftp" protocol tcp\n\t}\n'
    quota = '\tquota q1 {\n\t\tover 1 gbytes\n\t}\n'
    text, kept = nft_delta.replacement('inet', 'portwarden', script(SOURCES, helper, quota, chain()),
                                       script(SOURCES, chain()))
    assert kept == ['svc1_api_tcp_v4']
    assert 'delete ct helper inet portwarden ftp_std' in text and 'delete quota inet portwarden q1' in text


def test_load_script_keeps_the_bans_of_a_kept_set_and_carries_the_others():
    bans6 = BANS.replace('banned_v4', 'banned_v6').replace('ipv4_addr', 'ipv6_addr')
    before = script(SOURCES, BANS, bans6, chain())
    after = script(SOURCES, BANS, bans6.replace('600s', '900s'), chain('6/minute'))
    carried = {'banned_v4': [('192.0.2.7', 300), ('192.0.2.8', 200)], 'banned_v6': [('2001:db8:1:2::', 100)]}
    text, kept = nft_delta.load_script('inet', 'portwarden', after, before, carried, release=[('banned_v4', '192.0.2.8')])
    assert kept == ['svc1_api_tcp_v4', 'banned_v4']
    # the kept ban set: its bans stay where they are, the released one is deleted in the same transaction
    assert 'add element inet portwarden banned_v4' not in text
    assert text.endswith('add element inet portwarden banned_v6 { 2001:db8:1:2:: timeout 100s }\n'
                         'delete element inet portwarden banned_v4 { 192.0.2.8 }\n')
    # without a script to vouch for the live table: the whole script, every ban carried over but the released one
    text, kept = nft_delta.load_script('inet', 'portwarden', after, None, carried, release=[('banned_v4', '192.0.2.8')])
    assert kept == [] and text.startswith(after)
    assert 'add element inet portwarden banned_v4 { 192.0.2.7 timeout 300s }' in text and '192.0.2.8' not in text

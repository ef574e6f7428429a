# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netsh.py and netsh_plan.py: locale-robust parsers on recorded netsh output, planning, failures.

The commands run through a scripted ``run(argv)``; the same code runs end to
end through ansible-playbook against the stand-in target in
tests/integration/test_windows_standin.py.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.portwarden.ports.plugins.plugin_utils import netsh, netsh_plan
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'netsh')


def fixture(name):
    """A recorded output with the CRLF line ends it has when it arrives through WinRM (stored with LF)."""
    with open(os.path.join(FIXTURES, name), 'rb') as handle:
        return handle.read().decode('utf-8').replace('\n', '\r\n')


# ---------------------------------------------------------------- dynamic port range

@pytest.mark.parametrize('name', ['dynamic_en_tcp.txt', 'dynamic_fr_tcp.txt', 'dynamic_de_tcp.txt', 'dynamic_de_tcp_variant.txt',
                                  'dynamic_zh_tcp.txt'])
def test_dynamic_every_language(name):
    assert netsh.parse_dynamic(fixture(name)) == PortRange(49152, 65535)


def test_dynamic_full_width_colon():
    assert netsh.parse_dynamic(fixture('dynamic_zh_fullwidth_colon.txt')) == PortRange(10000, 10999)


def test_dynamic_starting_at_1024_reads_without_complaint():
    assert netsh.parse_dynamic(fixture('dynamic_en_udp_1024.txt')) == PortRange(1024, 65535)


@pytest.mark.parametrize('codec', ['cp936', 'gbk'])
def test_dynamic_survives_wrong_code_page(codec):
    """Chinese bytes in the OEM code page decoded as UTF-8: labels become U+FFFD, numbers stay."""
    raw = fixture('dynamic_zh_tcp.txt').encode(codec).decode('utf-8', 'replace')
    assert '\ufffd' in raw
    assert netsh.parse_dynamic(raw) == PortRange(49152, 65535)


def test_dynamic_french_in_cp850():
    raw = fixture('dynamic_fr_tcp.txt').encode('cp850').decode('utf-8', 'replace')
    assert netsh.parse_dynamic(raw) == PortRange(49152, 65535)


def test_dynamic_bytes_and_bom():
    assert netsh.parse_dynamic(b'\xef\xbb\xbf' + fixture('dynamic_en_tcp.txt').encode('utf-8')) == PortRange(49152, 65535)


@pytest.mark.parametrize('text', [
    'The requested operation requires elevation (Run as administrator).\r\n',
    '',
    'Protocol tcp Dynamic Port Range\r\n---------\r\nStart Port : 49152\r\n',
    'x\n-----\nStart : 65000\nNumber : 1000\n',
])
def test_dynamic_refuses_what_has_no_range(text):
    with pytest.raises(netsh.NetshOutputError) as err:
        netsh.parse_dynamic(text)
    assert 'dynamicportrange' in err.value.msg or 'dynamic' in err.value.msg


# ---------------------------------------------------------------- excluded port ranges

def test_excluded_english_with_administered_marker():
    table = netsh.parse_excluded(fixture('excluded_en_tcp.txt'))
    assert table.administered == PortSet.parse('50000-50059')
    assert table.held == PortSet.parse('80,5357,47001,56638-56837')
    assert table.rows[3] == (PortRange(50000, 50059), True)
    assert len(table.rows) == 6


@pytest.mark.parametrize('name,administered,held', [
    ('excluded_fr_tcp.txt', '9100,50000-50059', '5357,61117-61216'),
    ('excluded_fr_tcp_compact.txt', '13128-13130,50000-50059', '80,1487,22000'),
    ('excluded_de_tcp.txt', '8080-8081,50000', '5357,49671-49770,50001-50100'),
    ('excluded_zh_tcp.txt', '50000-50059', '54364-54463,54664-54763'),
    ('excluded_es_tcp.txt', '50000-50059', '1025-1124,5357'),
])
def test_excluded_every_language(name, administered, held):
    table = netsh.parse_excluded(fixture(name))
    assert table.administered.format() == administered
    assert table.held.format() == held


def test_excluded_chinese_in_oem_code_page():
    raw = fixture('excluded_zh_tcp.txt').encode('cp936').decode('utf-8', 'replace')
    table = netsh.parse_excluded(raw)
    assert table.administered.format() == '50000-50059'
    assert table.held.format() == '54364-54463,54664-54763'


def test_excluded_empty_table():
    table = netsh.parse_excluded(fixture('excluded_en_empty.txt'))
    assert table.rows == []
    assert not table.administered and not table.held


def test_excluded_error_text_is_not_an_empty_table():
    with pytest.raises(netsh.NetshOutputError):
        netsh.parse_excluded(fixture('error_elevation_en.txt'))


def test_excluded_rejects_nonsense_rows():
    text = 'x\n----------    --------\n   70000   70010\n'
    with pytest.raises(netsh.NetshOutputError) as err:
        netsh.parse_excluded(text)
    assert '70000-70010' in err.value.msg


# ---------------------------------------------------------------- netstat / tasklist

def test_netstat_english():
    sockets = netsh.parse_netstat(fixture('netstat_en.txt'))
    listeners = [(s['proto'], s['family'], s['address'], s['port'], s['pid']) for s in sockets if s['listening']]
    assert ('tcp', 'ipv4', '0.0.0.0', 9100, 2840) in listeners
    assert ('tcp', 'ipv6', '::1', 8080, 2222) in listeners
    assert ('udp', 'ipv6', 'fe80::1c2b:3d4e:5f60:7a8b%4', 546, 1400) in listeners
    assert ('tcp', 'ipv4', '10.0.0.5', 49822, 3120) not in listeners
    time_wait = [s for s in sockets if s['proto'] == 'tcp' and not s['listening'] and s['pid'] == 0]
    assert [s['port'] for s in time_wait] == [50011, 50012]


def test_netstat_german_same_structure():
    sockets = netsh.parse_netstat(fixture('netstat_de.txt'))
    assert [(s['port'], s['listening']) for s in sockets] == [(135, True), (9100, True), (49822, False), (50011, False),
                                                              (123, True)]


def test_tasklist():
    names = netsh.parse_tasklist(fixture('tasklist_en.csv'))
    assert names[2840] == 'node_exporter.exe'
    assert names[0] == 'System Idle Process'


# ---------------------------------------------------------------- commands

def test_commands_are_argument_lists():
    assert netsh.set_dynamic_cmd('ipv6', 'udp', PortRange(50000, 59999)) == [
        'netsh', 'interface', 'ipv6', 'set', 'dynamicportrange', 'protocol=udp', 'startport=50000',
        'numberofports=10000', 'store=persistent']
    assert netsh.add_excluded_cmd('ipv4', 'tcp', PortRange(9100), 'active')[-3:] == [
        'startport=9100', 'numberofports=1', 'store=active']
    assert netsh.command_line(netsh.show_excluded_cmd('ipv4', 'tcp')) == \
        'netsh interface ipv4 show excludedportrange protocol=tcp'


def test_command_line_refuses_unsafe_tokens():
    with pytest.raises(PortwardenError) as err:
        netsh.command_line(['netsh', 'a;b'])
    assert "'a;b'" in err.value.msg


def test_tables_selection():
    assert netsh.tables() == [('ipv4', 'tcp'), ('ipv4', 'udp'), ('ipv6', 'tcp'), ('ipv6', 'udp')]
    assert netsh.tables('udp', 'ipv6') == [('ipv6', 'udp')]
    assert netsh.tables('tcp') == [('ipv4', 'tcp'), ('ipv6', 'tcp')]
    with pytest.raises(PortwardenError):
        netsh.tables('sctp')


# ---------------------------------------------------------------- a scripted netsh

DYN = '\r\nProtocol %s Dynamic Port Range\r\n---------------------------------\r\nStart Port      : %d\r\nNumber of Ports : %d\r\n'
EXCL_HEAD = '\r\nProtocol %s Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n'
EXCL_FOOT = '\r\n* - Administered port exclusions.\r\n'


class FakeNetsh(object):
    """Answers the commands netsh_plan.py sends, from a small state; records what ran."""

    def __init__(self, dynamic=None, excluded=None, sockets='', fail=None):
        self.dynamic = dict(dynamic or {})
        self.excluded = dict((k, list(v)) for k, v in (excluded or {}).items())
        self.sockets = sockets
        self.fail = fail or {}
        self.ran = []

    def __call__(self, argv):
        line = ' '.join(argv)
        self.ran.append(line)
        for needle, answer in self.fail.items():
            if needle in line:
                return answer
        if argv[0] == 'netstat':
            return 0, self.sockets, ''
        family, verb, what = argv[2], argv[3], argv[4]
        args = dict(a.split('=', 1) for a in argv[5:])
        table = (family, args['protocol'])
        if what == 'dynamicportrange':
            if verb == 'show':
                start, count = self.dynamic.get(table, (49152, 16384))
                return 0, DYN % (table[1], start, count), ''
            self.dynamic[table] = (int(args['startport']), int(args['numberofports']))
            return 0, 'Ok.\r\n', ''
        rows = self.excluded.setdefault(table, [])
        if verb == 'show':
            body = ''.join('%10d  %10d%s\r\n' % (s, e, '     *' if admin else '') for s, e, admin in sorted(rows))
            return 0, EXCL_HEAD % table[1] + body + EXCL_FOOT, ''
        start, count = int(args['startport']), int(args['numberofports'])
        row = (start, start + count - 1, True)
        if verb == 'add':
            rows.append(row)
        else:
            if row not in rows:
                return 1, 'The system cannot find the file specified.\r\n', ''
            rows.remove(row)
        return 0, 'Ok.\r\n', ''

    def changes(self):
        return [line for line in self.ran if ' set ' in line or ' add ' in line or ' delete ' in line]


def cycle(fake, call, **kwargs):
    """check -> apply -> check -> apply; returns the four results."""
    results = []
    for check in (True, False, True, False):
        before = list(fake.changes())
        results.append(call(fake, check_mode=check, **kwargs))
        if check:
            assert fake.changes() == before, 'check mode ran a changing command'
    return results


# ---------------------------------------------------------------- ephemeral range

def test_ephemeral_cycle_all_four_tables():
    fake = FakeNetsh(dynamic={('ipv6', 'udp'): (1024, 64512)})
    first, applied, again, last = cycle(fake, netsh_plan.ephemeral_range, start=20000, end=29999)
    assert first['changed'] and applied['changed']
    assert not again['changed'] and not last['changed']
    assert first['before'] == {'start': 49152, 'end': 65535, 'size': 16384}
    assert first['tables']['ipv6/udp']['before'] == {'start': 1024, 'end': 65535, 'size': 64512}
    assert first['after'] == {'start': 20000, 'end': 29999, 'size': 10000}
    assert first['commands'] == applied['commands'] and len(first['commands']) == 4
    assert 'netsh interface ipv6 set dynamicportrange protocol=udp startport=20000 numberofports=10000 store=persistent' \
        in applied['commands']
    assert fake.dynamic[('ipv4', 'tcp')] == (20000, 10000)
    assert again['commands'] == []
    assert first['diff'][3]['before'] == '1024-65535 (startport=1024 numberofports=64512)\n'


def test_ephemeral_one_table_and_active_store():
    fake = FakeNetsh()
    result = netsh_plan.ephemeral_range(fake, 40000, 40254, protocol='udp', family='ipv6', persist=False)
    assert result['commands'] == ['netsh interface ipv6 set dynamicportrange protocol=udp startport=40000 '
                                  'numberofports=255 store=active']
    assert list(result['tables']) == ['ipv6/udp']
    assert 'store=active' in result['warnings'][0]
    assert fake.dynamic == {('ipv6', 'udp'): (40000, 255)}


@pytest.mark.parametrize('start,end,words', [
    (1024, 2000, 'starts below 1025'),
    (1000, 65535, 'starts below 1025'),
    (60000, 60253, 'holds 254 ports and netsh requires at least 255'),
    (60000, 65536, 'ports go from 1 to 65535'),
    (50000, 40000, 'greater than end'),
])
def test_ephemeral_windows_limits_refused_before_anything_runs(start, end, words):
    fake = FakeNetsh()
    with pytest.raises(PortwardenError) as err:
        netsh_plan.ephemeral_range(fake, start, end)
    assert words in err.value.msg
    assert fake.ran == []


def test_ephemeral_read_back_mismatch_fails():
    class Sticky(FakeNetsh):
        def __call__(self, argv):
            if argv[3] == 'set':
                self.ran.append(' '.join(argv))
                return 0, 'Ok.', ''
            return super(Sticky, self).__call__(argv)

    with pytest.raises(PortwardenError) as err:
        netsh_plan.ephemeral_range(Sticky(), 20000, 29999, protocol='tcp', family='ipv4')
    assert 'reads back as 49152-65535' in err.value.msg


def test_ephemeral_netsh_failure_explained():
    fake = FakeNetsh(fail={' set ': (1, fixture('error_elevation_en.txt'), '')})
    with pytest.raises(PortwardenError) as err:
        netsh_plan.ephemeral_range(fake, 20000, 29999)
    assert 'requires elevation' in err.value.msg
    assert 'Administrators' in err.value.msg
    assert err.value.details['rc'] == 1


# ---------------------------------------------------------------- excluded port ranges

HYPERV = [(50000, 50059, True), (56638, 56737, False)]


def test_reserved_cycle_present():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): list(HYPERV)})
    first, applied, again, last = cycle(fake, netsh_plan.reserved_ports, ports=['9100', '8080-8081'], protocol='tcp',
                                        family='ipv4')
    assert first['changed'] and applied['changed'] and not again['changed'] and not last['changed']
    assert first['before']['ports'] == '50000-50059'
    assert first['after']['ports'] == '8080-8081,9100,50000-50059'
    assert first['added'] == ['8080-8081', 9100] and first['removed'] == []
    assert applied['commands'] == [
        'netsh interface ipv4 add excludedportrange protocol=tcp startport=8080 numberofports=2 store=persistent',
        'netsh interface ipv4 add excludedportrange protocol=tcp startport=9100 numberofports=1 store=persistent']
    assert again['held_by_system'] == {'ipv4/tcp': '56638-56737'}
    assert again['administered'] == {'ipv4/tcp': '8080-8081,9100,50000-50059'}


def test_reserved_canonical_compare_any_order():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): [(8080, 8080, True), (8081, 8081, True), (9100, 9100, True)]})
    result = netsh_plan.reserved_ports(fake, ['9100', '8081', '8080'], protocol='tcp', family='ipv4')
    assert not result['changed'] and result['commands'] == []


def test_reserved_absent_splits_a_row():
    fake = FakeNetsh(excluded={('ipv4', 'udp'): [(9000, 9010, True)]})
    first, applied, again, last = cycle(fake, netsh_plan.reserved_ports, ports=['9005'], state='absent', protocol='udp',
                                        family='ipv4')
    assert applied['commands'] == [
        'netsh interface ipv4 delete excludedportrange protocol=udp startport=9000 numberofports=11 store=persistent',
        'netsh interface ipv4 add excludedportrange protocol=udp startport=9000 numberofports=5 store=persistent',
        'netsh interface ipv4 add excludedportrange protocol=udp startport=9006 numberofports=5 store=persistent']
    assert first['removed'] == [9005]
    assert again['after']['ports'] == '9000-9004,9006-9010'
    assert not again['changed']


def test_reserved_exact_keeps_held_by_system_and_unlisted_administered():
    """exact adds what is missing; rows without * and unlisted * rows (Windows', an installer's) stay, with warnings."""
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): list(HYPERV) + [(9100, 9100, True)]})
    first, applied, again, last = cycle(fake, netsh_plan.reserved_ports, ports=['8080'], state='exact', protocol='tcp',
                                        family='ipv4')
    assert first['removed'] == [] and first['added'] == [8080]
    assert first['tables']['ipv4/tcp']['kept_unlisted'] == '9100,50000-50059'
    assert any('56638-56737 are held by Windows or a service' in w and 'never deleted' in w for w in first['warnings'])
    assert any('9100,50000-50059 are administered (*) but not in the list; kept' in w and 'state=absent' in w
               for w in first['warnings'])
    assert applied['commands'] == [
        'netsh interface ipv4 add excludedportrange protocol=tcp startport=8080 numberofports=1 store=persistent']
    assert (56638, 56737, False) in fake.excluded[('ipv4', 'tcp')]
    assert (50000, 50059, True) in fake.excluded[('ipv4', 'tcp')] and (9100, 9100, True) in fake.excluded[('ipv4', 'tcp')]
    assert not any('delete' in line for line in fake.ran)
    assert again['after']['ports'] == '8080,9100,50000-50059' and not again['changed']


def test_reserved_absent_deletes_a_named_administered_port():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): list(HYPERV) + [(9100, 9100, True)]})
    first, applied, again, last = cycle(fake, netsh_plan.reserved_ports, ports=['9100'], state='absent', protocol='tcp',
                                        family='ipv4')
    assert first['removed'] == [9100] and first['changed']
    assert applied['commands'] == [
        'netsh interface ipv4 delete excludedportrange protocol=tcp startport=9100 numberofports=1 store=persistent']
    assert (50000, 50059, True) in fake.excluded[('ipv4', 'tcp')]
    assert again['after']['ports'] == '50000-50059' and not again['changed']


def test_reserved_absent_of_a_held_port_warns_and_changes_nothing():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): list(HYPERV)})
    result = netsh_plan.reserved_ports(fake, ['56700'], state='absent', protocol='tcp', family='ipv4')
    assert not result['changed']
    assert '56700 is held by Windows or a service' in result['warnings'][0]


def test_reserved_add_over_held_by_system_refused_with_winnat_remedy():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): list(HYPERV)})
    for check in (True, False):
        with pytest.raises(PortwardenError) as err:
            netsh_plan.reserved_ports(fake, ['56700-56800'], protocol='tcp', family='ipv4', check_mode=check)
        assert 'ipv4/tcp: 56700-56737' in err.value.msg
        assert 'net stop winnat' in err.value.msg and 'net start winnat' in err.value.msg
    assert fake.changes() == []


def test_reserved_add_over_a_port_in_use_refused_with_pid():
    fake = FakeNetsh(sockets=fixture('netstat_en.txt'))
    with pytest.raises(PortwardenError) as err:
        netsh_plan.reserved_ports(fake, ['9100', '9200'], protocol='tcp', family='all')
    assert 'ipv4/tcp port(s) 9100 (PID 2840)' in err.value.msg
    assert 'Nothing was changed' in err.value.msg
    assert fake.changes() == []
    # UDP 9100 is free: the same request for UDP goes through
    assert netsh_plan.reserved_ports(fake, ['9100'], protocol='udp', family='ipv4')['changed']


def test_reserved_netsh_error_mid_way_says_what_ran():
    fake = FakeNetsh(fail={'startport=9200': (1, fixture('error_in_use_zh.txt'), '')})
    with pytest.raises(PortwardenError) as err:
        netsh_plan.reserved_ports(fake, ['9100', '9200'], protocol='tcp', family='ipv4')
    msg = err.value.msg
    assert 'startport=9100' in msg.split('Commands already run:')[1]
    assert 'net stop winnat' in msg


def test_reserved_all_tables_union_and_per_table():
    fake = FakeNetsh(excluded={('ipv6', 'udp'): [(9100, 9100, True)]})
    result = netsh_plan.reserved_ports(fake, ['9100'])
    assert sorted(result['tables']) == ['ipv4/tcp', 'ipv4/udp', 'ipv6/tcp', 'ipv6/udp']
    assert result['tables']['ipv6/udp']['changed'] is False
    assert result['tables']['ipv4/tcp']['added'] == [9100]
    assert len(result['commands']) == 3
    assert result['before']['ports'] == '9100' and result['after']['ports'] == '9100'


def test_failure_kinds_by_language():
    assert netsh.failure_kind(fixture('error_in_use_en.txt')) == 'in_use'
    assert netsh.failure_kind(fixture('error_in_use_zh.txt')) == 'in_use'
    assert netsh.failure_kind(fixture('error_parameter_de.txt')) == 'parameter'
    assert netsh.failure_kind('something else') is None


# ---------------------------------------------------------------- one result shape; system-held rows in port_info

NETSTAT_HELD = ('  TCP    0.0.0.0:56650          0.0.0.0:0              LISTENING       2840\r\n'
                '  TCP    [::]:56650             [::]:0                 LISTENING       2840\r\n'
                '  TCP    0.0.0.0:50010          0.0.0.0:0              LISTENING       3120\r\n')


def test_every_result_has_the_range_and_the_reservations():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): [(50000, 50059, True), (56638, 56737, False)]})
    ranged = netsh_plan.ephemeral_range(fake, 20000, 29999, protocol='tcp', family='ipv4', check_mode=True)
    assert ranged['ephemeral_range'] == {'start': 20000, 'end': 29999, 'size': 10000}
    assert ranged['reserved_ports'] == {'ports': '50000-50059,56638-56737', 'list': ['50000-50059', '56638-56737']}
    with_reserve = netsh_plan.ephemeral_range(fake, 20000, 29999, protocol='tcp', family='ipv4', reserve=['9100'],
                                              check_mode=True)
    assert with_reserve['reserved_ports']['ports'] == '9100,50000-50059,56638-56737'
    assert with_reserve['reserved']['after']['ports'] == '9100,50000-50059'
    reserved = netsh_plan.reserved_ports(fake, ['9100'], protocol='tcp', family='ipv4')
    assert reserved['ephemeral_range'] == {'start': 49152, 'end': 65535, 'size': 16384}
    assert reserved['reserved_ports'] == with_reserve['reserved_ports']
    info = netsh_plan.port_info(fake)
    assert (info['ephemeral_range'], info['reserved_ports']) == (reserved['ephemeral_range'], reserved['reserved_ports'])


def test_catalogue_port_in_a_held_row_is_a_conflict_with_the_winnat_remedy():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): [(56638, 56737, False)], ('ipv4', 'udp'): [(56638, 56737, True)]},
                     sockets=NETSTAT_HELD)
    services = [{'name': 'api', 'port': 56700}, {'name': 'dns', 'port': 56700, 'proto': 'udp'},
                {'name': 'web', 'port': '56730-56740'}, {'name': 'app', 'port': 50010}]
    result = netsh_plan.port_info(fake, services=services)
    held = [c for c in result['conflicts'] if c['type'] == 'service_port_held']
    assert [(c.get('service'), c['proto'], c['port'], c.get('ports'), c['table']) for c in held] == [
        ('api', 'tcp', '56700', '56700', 'ipv4/tcp'),
        ('web', 'tcp', '56730-56740', '56730-56737', 'ipv4/tcp'),
        (None, 'tcp', 56650, None, 'ipv4/tcp'),
    ]
    listener = held[2]
    assert listener['addresses'] == ['0.0.0.0']  # the IPv6 table holds nothing
    for conflict in held:
        assert 'net stop winnat' in conflict['remedy'] and 'no "*"' in conflict['msg']
    # an administered (*) row is a reservation, not a conflict; a port outside every row is none either
    assert not any(c.get('service') in ('dns', 'app') for c in held)
    # a held port is no longer reported as unreserved in the range
    assert not any(c['type'] == 'service_in_range' and c.get('service') == 'api' for c in result['conflicts'])


def test_listener_in_held_rows_of_both_families_is_one_conflict():
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): [(56638, 56737, False)], ('ipv6', 'tcp'): [(56638, 56737, False)]},
                     sockets=NETSTAT_HELD)
    held = [c for c in netsh_plan.port_info(fake)['conflicts'] if c['type'] == 'service_port_held']
    assert [(c['port'], c['addresses'], c['table']) for c in held] == [(56650, ['0.0.0.0', '::'], 'ipv4/tcp, ipv6/tcp')]

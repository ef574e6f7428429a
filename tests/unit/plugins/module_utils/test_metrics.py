# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""metrics.py: port_info's report as Prometheus text, the firewall's named objects, the config and main()."""

from __future__ import annotations

import functools
import json
import os

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import metrics, portinfo
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

from test_conntrack import fake, write_conntrack  # noqa: F401 pylint: disable=unused-import


def samples(text):
    """{(name, labels-text): value} of the sample lines; every name has its HELP and TYPE first."""
    result = {}
    seen_type = set()
    for line in text.splitlines():
        if line.startswith('# TYPE '):
            seen_type.add(line.split()[2])
            continue
        if line.startswith('#'):
            continue
        series, value = line.rsplit(' ', 1)
        name = series.split('{', 1)[0]
        assert name in seen_type, 'sample before its TYPE: %s' % line
        result[(name, series[len(name):])] = float(value)
    return result


@pytest.fixture
def report(fake):
    fake.sysctl['ip_local_reserved_ports'] = '40999'
    fake.add('tcp', ('0.0.0.0', 40100), state='0A', inode=1)                      # listener_in_range
    for i in range(30):
        fake.add('tcp', ('10.0.0.1', 40200 + i), ('10.0.0.9', 443), '06' if i < 6 else '01')
    for i in range(5):
        fake.add('tcp6', ('2001:db8::1', 40300 + i), ('2001:db8::9', 5432), '01')
    root = fake.write()
    write_conntrack(root, 900, 1000)
    return portinfo.gather(proc=root, system='Linux', top=10)


def test_render_every_metric_with_port_info_values(report):
    text = metrics.render(report, now=1700000000)
    got = samples(text)
    assert got[('portwarden_ephemeral_range_start', '')] == 40000
    assert got[('portwarden_ephemeral_range_end', '')] == 40999
    assert got[('portwarden_ephemeral_ports_in_use', '')] == report['usage']['ports_in_use'] == 36
    assert got[('portwarden_ephemeral_utilization_ratio', '')] == round(36 / 999.0, 6)
    assert got[('portwarden_destination_ports_in_use', '{destination="10.0.0.9:443"}')] == 30
    assert got[('portwarden_destination_ports_in_use', '{destination="[2001:db8::9]:5432"}')] == 5
    assert got[('portwarden_time_wait_sockets', '')] == 6
    assert got[('portwarden_conflicts', '{type="listener_in_range"}')] == 1
    assert got[('portwarden_conflicts', '{type="conntrack_near_full"}')] == 1
    assert got[('portwarden_conflicts', '{type="service_not_listening"}')] == 0   # every type, 0 when none
    assert got[('portwarden_conntrack_entries', '')] == 900
    assert got[('portwarden_conntrack_max', '')] == 1000
    assert got[('portwarden_collector_success', '')] == 1
    assert got[('portwarden_collector_timestamp_seconds', '')] == 1700000000
    # no firewall objects yet: neither metric is emitted
    assert 'portwarden_firewall_drops_total' not in text and 'portwarden_banned_sources' not in text
    assert '# TYPE portwarden_conflicts gauge' in text and text.count('# TYPE portwarden_conflicts ') == 1


def test_top_limits_the_destinations(fake):
    for i in range(4):
        fake.add('tcp', ('10.0.0.1', 40200 + i), ('10.0.0.%d' % (10 + i), 80), '01')
    report = portinfo.gather(proc=fake.write(), system='Linux', top=2)
    assert metrics.render(report).count('portwarden_destination_ports_in_use{') == 2


def test_no_conntrack_no_conntrack_metrics(fake):
    text = metrics.render(portinfo.gather(proc=fake.write(), system='Linux'))
    assert 'portwarden_conntrack' not in text


COUNTERS_JSON = json.dumps({'nftables': [
    {'metainfo': {'json_schema_version': 1}},
    {'counter': {'family': 'inet', 'table': 'portwarden', 'name': 'scan_detected', 'packets': 12, 'bytes': 720}},
    {'counter': {'family': 'inet', 'table': 'portwarden', 'name': 'rate_limit', 'packets': 3, 'bytes': 180}},
]})
BANNED_V4_JSON = json.dumps({'nftables': [{'set': {'family': 'inet', 'table': 'portwarden', 'name': 'banned_v4',
                                                   'elem': [{'elem': {'val': '192.0.2.1', 'expires': 500}},
                                                            {'elem': {'val': '192.0.2.2', 'expires': 20}}]}}]})
BANNED_V6_JSON = json.dumps({'nftables': [{'set': {'family': 'inet', 'table': 'portwarden', 'name': 'banned_v6'}}]})


def nft_replies(argv):
    replies = {'counters': COUNTERS_JSON, 'banned_v4': BANNED_V4_JSON, 'banned_v6': BANNED_V6_JSON}
    assert argv[:2] == ['/usr/sbin/nft', '-j'], argv
    return 0, replies[argv[-1] if argv[-1].startswith('banned') else argv[3]], ''


def test_read_firewall_counters_by_reason_and_banned_sources():
    drops, banned = metrics.read_firewall(nft_replies, nft='/usr/sbin/nft')
    assert drops == {'scan_detected': 12, 'rate_limit': 3}
    assert banned == 2
    text = metrics.render(None, drops, banned)
    got = samples(text)
    assert '# TYPE portwarden_firewall_drops_total counter' in text
    assert got[('portwarden_firewall_drops_total', '{reason="scan_detected"}')] == 12
    assert got[('portwarden_banned_sources', '')] == 2


def test_read_firewall_without_the_table_or_the_right_is_nothing_and_bad_json_an_error():
    assert metrics.read_firewall(lambda argv: (1, '', 'Error: No such file or directory\n'), nft='nft') == (None, None)
    assert metrics.read_firewall(lambda argv: (1, '', 'Operation not permitted\n'), nft='nft') == (None, None)
    with pytest.raises(PortwardenError, match='does not parse'):
        metrics.read_firewall(lambda argv: (0, 'table inet portwarden {', ''), nft='nft')


def test_label_values_are_escaped():
    out = metrics.Exposition()
    out.add('x', 'gauge', 'X.', 1, {'reason': 'a"b\\c\nd'})
    assert out.text().splitlines()[-1] == 'x{reason="a\\"b\\\\c\\nd"} 1'


# ---------------------------------------------------------------- config and main()

def config_file(tmp_path, **values):
    values.setdefault('textfile_dir', str(tmp_path / 'textfile'))
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps(values))
    return str(path)


@pytest.mark.parametrize('values, message', [
    ({'top': -1}, 'top -1 must be a whole number'),
    ({'conntrack_warn_percent': 0}, 'Invalid conntrack_warn_percent 0'),
    ({'textfile_dir': 'relative'}, "textfile_dir 'relative' must be an absolute path"),
    ({'interval': 60}, r'unknown key\(s\) interval; allowed: services, top'),
    ({'services': [{'name': 'x'}]}, 'the field port is required'),
])
def test_config_is_checked(tmp_path, values, message):
    with pytest.raises(PortwardenError, match=message):
        metrics.load_config(config_file(tmp_path, **values))


def test_main_writes_the_file_atomically(tmp_path, fake, capsys):
    root = fake.write()
    path = config_file(tmp_path, top=3, services=[{'name': 'ssh', 'port': 22}])
    gather = functools.partial(portinfo.gather, proc=root, system='Linux')
    assert metrics.main(['--config', path], gather=gather, firewall=lambda: (None, None)) == 0
    target = tmp_path / 'textfile' / 'portwarden.prom'
    got = samples(target.read_text())
    assert got[('portwarden_conflicts', '{type="service_not_listening"}')] == 1   # the catalogue reached port_info
    assert got[('portwarden_collector_success', '')] == 1
    assert oct(os.stat(str(target)).st_mode & 0o777) == '0o644'
    assert os.listdir(str(tmp_path / 'textfile')) == ['portwarden.prom']     # no temp file left
    assert capsys.readouterr().err == ''


def test_main_reports_a_failed_part_as_success_0(tmp_path, capsys):
    def broken(**kwargs):
        raise PortwardenError('port_info reads Linux procfs and does not support SunOS.')
    assert metrics.main(['--config', config_file(tmp_path)], gather=broken, firewall=lambda: ({'scan': 1}, None)) == 1
    got = samples((tmp_path / 'textfile' / 'portwarden.prom').read_text())
    assert got[('portwarden_collector_success', '')] == 0
    assert got[('portwarden_firewall_drops_total', '{reason="scan"}')] == 1
    assert 'port_info: port_info reads Linux procfs and does not support SunOS.' in capsys.readouterr().err


def test_main_bad_config_writes_nothing(tmp_path, capsys):
    assert metrics.main(['--config', config_file(tmp_path, top='ten')]) == 1
    assert not (tmp_path / 'textfile').exists()
    assert "top 'ten' must be a whole number" in capsys.readouterr().err


def test_main_check_config_and_usage(tmp_path, capsys):
    assert metrics.main(['--config', config_file(tmp_path), '--check-config']) == 0
    assert not (tmp_path / 'textfile').exists()
    assert metrics.main(['--config', str(tmp_path / 'missing.json'), '--check-config']) == 1
    assert 'missing.json does not exist' in capsys.readouterr().err
    assert metrics.main([]) == 2

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info on a real kernel: a namespace host with known listeners and
known outgoing connections, and the module must report exactly them.

The sockets are opened by a helper process started inside the namespace with
``host.run`` (in the background); the fixture kills it at the end.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import textwrap
import time

import pytest

N_CONNECTIONS = 40        # outgoing connections to 127.0.0.1:8080
N_CLOSED = 10             # of those, closed by the client: TIME_WAIT on the client side
BULK = 700                # connections opened inside the namespace by the two-paths test (IPv4 and IPv6)
HELPER_NAME = 'pwportinfo'

HELPER = textwrap.dedent('''
    import os, socket, sys, time
    status, n_conn, n_closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open('/proc/self/comm', 'w') as handle:
        handle.write(%(name)r)

    def listen(family, address, port, kind=socket.SOCK_STREAM):
        sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(128)
        return sock

    in_range = listen(socket.AF_INET, '0.0.0.0', 40100)       # inside the range, not reserved: the conflict
    reserved = listen(socket.AF_INET, '0.0.0.0', 40200)       # inside the range, reserved: fine
    service = listen(socket.AF_INET, '127.0.0.1', 8080)       # outside the range: the known endpoint
    udp_in = listen(socket.AF_INET, '0.0.0.0', 40300, socket.SOCK_DGRAM)   # UDP inside the range: a conflict
    udp_out = listen(socket.AF_INET6, '::', 5353, socket.SOCK_DGRAM)       # UDP over IPv6 outside the range

    clients, accepted = [], []
    for _ in range(n_conn):
        clients.append(socket.create_connection(('127.0.0.1', 8080)))
        accepted.append(service.accept()[0])
    inbound = socket.create_connection(('127.0.0.1', 40100))  # one connection to the in-range listener
    inbound_peer = in_range.accept()[0]

    client_ports = sorted(set(c.getsockname()[1] for c in clients + [inbound]))
    for index in range(n_closed):            # the client closes first, then the server: client in TIME_WAIT
        clients[index].close()
        assert accepted[index].recv(1) == b''
        accepted[index].close()
    tmp = status + '.tmp'
    with open(tmp, 'w') as handle:
        handle.write('%%d\\n%%s\\n' %% (os.getpid(), ','.join(str(p) for p in client_ports)))
    os.rename(tmp, status)
    while True:
        time.sleep(60)
''' % {'name': HELPER_NAME})

RANGE = '40000 40999'

# Run inside the namespace: the whole report (owners too) once from netlink sock_diag, once from /proc/net
BOTH_PATHS = textwrap.dedent('''
    import json, resource, socket, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.portwarden.ports.plugins.module_utils import portinfo, procnet, sockdiag

    # more sockets of this process: a listener outside the range and BULK connections to it (full 32 KiB chunks)
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, max(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.bind(('::', 7000))
    server.listen(4096)
    keep = []
    for index in range(int(sys.argv[2])):
        client = socket.create_connection(('::1' if index % 3 else '127.0.0.1', 7000))
        keep.extend([client, server.accept()[0]])

    def refuse():
        raise sockdiag.Unavailable('socket(AF_NETLINK, NETLINK_SOCK_DIAG)', 93)

    services = [{'name': 'web', 'port': 8080, 'proto': 'tcp'}, {'name': 'gone', 'port': 9999, 'proto': 'tcp'}]
    out = {'sources': [procnet.scan_tables(40000, 40999, netlink=sockdiag).source]}
    out['netlink'] = portinfo.gather(processes=True, services=services, top=5)
    sockdiag.open_socket = refuse            # what a kernel without sock_diag answers
    out['sources'].append(procnet.scan_tables(40000, 40999, netlink=sockdiag).source)
    out['proc'] = portinfo.gather(processes=True, services=services, top=5)
    print(json.dumps(out))
''')
RESERVED = '40200'


def tcp_states(host):
    """TCP states in the namespace, straight from /proc (independent of the module's parser)."""
    out = host.run(['cat', '/proc/net/tcp', '/proc/net/tcp6']).stdout
    states = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[0].endswith(':'):
            states[fields[3]] = states.get(fields[3], 0) + 1
    return states


@pytest.fixture
def sockets_host(nshost, tmp_path):
    """The namespace host with the range, the reservation and the helper's sockets; the helper is killed after."""
    nshost.set_sysctl('net.ipv4.ip_local_port_range', RANGE)
    nshost.set_sysctl('net.ipv4.ip_local_reserved_ports', RESERVED)
    script = tmp_path / 'helper.py'
    script.write_text(HELPER)
    status = str(tmp_path / 'helper.status')
    started = nshost.run(['sh', '-c', '(exec "$@" >"$0.log" 2>&1 </dev/null) & echo $!', status,
                          sys.executable, str(script), status, str(N_CONNECTIONS), str(N_CLOSED)])
    pid = int(started.stdout.strip())
    try:
        deadline = time.time() + 30
        while not os.path.exists(status):
            if time.time() > deadline or not os.path.exists('/proc/%d' % pid):
                with open(status + '.log') as handle:
                    raise AssertionError('socket helper did not start: %s' % handle.read())
            time.sleep(0.1)
        # wait until the closed connections have settled: N_CLOSED in TIME_WAIT, no closing handshakes left
        deadline = time.time() + 30
        while True:
            states = tcp_states(nshost)
            busy = sum(states.get(s, 0) for s in ('04', '05', '08', '09', '0B'))
            if states.get('06', 0) == N_CLOSED and not busy:
                break
            assert time.time() < deadline, 'connections did not settle: %r' % states
            time.sleep(0.1)
        nshost.helper_pid = pid
        with open(status) as handle:
            nshost.client_ports = set(int(p) for p in handle.read().split()[1].split(','))
        yield nshost
    finally:
        nshost.run(['kill', '-9', str(pid)], check=False)
        for _count in range(100):
            if not os.path.exists('/proc/%d' % pid):
                break
            time.sleep(0.05)
        assert not os.path.exists('/proc/%d' % pid), 'socket helper %d still running' % pid


def test_reports_exactly_the_known_sockets(sockets_host):
    host = sockets_host
    result = host.module('portwarden.ports.port_info', {'processes': True, 'top': 3})
    assert result['rc'] == 0, result
    assert result['changed'] is False

    assert result['ephemeral_range'] == {'start': 40000, 'end': 40999, 'size': 1000}
    assert result['reserved_ports'] == {'ports': '40200', 'list': [40200]}
    assert result['unprivileged_port_start'] == int(host.sysctl('net.ipv4.ip_unprivileged_port_start'))

    pid = host.helper_pid
    assert result['listeners'] == [
        {'proto': 'tcp', 'family': 'ipv4', 'address': '127.0.0.1', 'port': 8080, 'scope': 'loopback', 'pid': pid, 'process': HELPER_NAME},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 40100, 'scope': 'any', 'pid': pid, 'process': HELPER_NAME},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 40200, 'scope': 'any', 'pid': pid, 'process': HELPER_NAME},
        {'proto': 'udp', 'family': 'ipv6', 'address': '::', 'port': 5353, 'scope': 'any', 'pid': pid, 'process': HELPER_NAME},
        {'proto': 'udp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 40300, 'scope': 'any', 'pid': pid, 'process': HELPER_NAME},
    ]

    conflicts = result['conflicts']
    assert [(c['type'], c['proto'], c['port']) for c in conflicts] == [
        ('listener_in_range', 'tcp', 40100), ('listener_in_range', 'udp', 40300)]
    tcp_conflict = conflicts[0]
    assert tcp_conflict['reserve'] == [40100]
    assert tcp_conflict['processes'] == [HELPER_NAME]
    # the largest part of 40000-40999 without 40100 and 40300 is 40301-40999; one less for parity
    assert tcp_conflict['suggested_range'] == {'start': 40301, 'end': 40998, 'size': 698}
    assert 'portwarden.ports.reserved_ports with ports: [40100]' in tcp_conflict['remedy']
    assert 'portwarden.ports.ephemeral_range with start: 40301 and end: 40998' in tcp_conflict['remedy']

    usage = result['usage']
    established = N_CONNECTIONS - N_CLOSED + 1  # + the client side of the connection to 40100
    assert usage['tcp_states'] == {'ESTABLISHED': established, 'TIME_WAIT': N_CLOSED}
    assert usage['time_wait'] == N_CLOSED
    assert usage['inbound_excluded'] == 1       # the connection 40100 accepted shares the listener's port
    assert usage['udp_sockets'] == 1            # 40300
    assert usage['usable_ports'] == 999         # 1000 minus the reserved 40200
    # every client port + the ports of the two in-range listeners (40100 tcp, 40300 udp), counted as distinct
    # ports: the kernel may give the client to 40100 the same port as a client to 8080 (another 4-tuple), and a
    # TCP client the UDP listener's port 40300 (separate port spaces)
    assert N_CONNECTIONS <= len(host.client_ports) <= N_CONNECTIONS + 1
    assert usage['ports_in_use'] == len(host.client_ports | {40100, 40300})
    # tcp: 3 listeners, 40 client + 30 accepted on 8080, 1 client + 1 accepted on 40100; udp: 2
    assert usage['sockets_total'] == 3 + N_CONNECTIONS + (N_CONNECTIONS - N_CLOSED) + 2 + 2
    assert usage['destinations'] == 2

    busiest = usage['busiest']
    assert [(b['address'], b['port'], b['family'], b['ports_in_use'], b['time_wait']) for b in busiest] == [
        ('127.0.0.1', 8080, 'ipv4', N_CONNECTIONS, N_CLOSED),
        ('127.0.0.1', 40100, 'ipv4', 1, 0),
    ]
    top = busiest[0]
    assert top['states'] == {'ESTABLISHED': N_CONNECTIONS - N_CLOSED, 'TIME_WAIT': N_CLOSED}
    assert top['utilization_percent'] == round(100.0 * N_CONNECTIONS / 999, 2)
    # a loopback destination: TIME_WAIT ports are reused after a second when tcp_tw_reuse (1, or the default 2 for
    # loopback) and tcp_timestamps are both on
    reuse = host.sysctl('net.ipv4.tcp_tw_reuse') in ('1', '2') and host.sysctl('net.ipv4.tcp_timestamps') != '0'
    wait = 1.0 if reuse else 60.0
    assert usage['tcp_timestamps'] is (host.sysctl('net.ipv4.tcp_timestamps') != '0')
    assert top['sustainable_rate'] == round(999 / wait, 2)
    assert top['headroom_rate'] == round((999 - N_CONNECTIONS) / wait, 2)
    assert top['recent_rate'] == round(N_CLOSED / 60.0, 2)


@pytest.mark.parametrize('user', ['root', 'nobody'])
def test_netlink_and_proc_report_the_same(sockets_host, user):
    """The same sockets read both ways (sock_diag, then /proc/net as on a kernel that refuses it): the same
    report, to the listeners' owners, the states and the per-destination counts; as root and unprivileged
    (sock_diag then leaves out the socket marks, so the records are shorter; other users' owners are unknown)."""
    host = sockets_host
    collections = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               '.build', 'collections')
    setpriv = [] if user == 'root' else ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    out = json.loads(host.run(setpriv + [sys.executable, '-c', BOTH_PATHS, collections, str(BULK)]).stdout)
    assert out['sources'] == ['netlink', 'proc']
    assert out['netlink'] == out['proc']
    report = out['netlink']
    pid = host.helper_pid if user == 'root' else None
    owners = [(item['port'], item['pid']) for item in report['listeners']]
    assert owners[0][0] == 7000 and owners[0][1] not in (None, host.helper_pid)   # the snippet's own listener
    assert owners[1:] == [(port, pid) for port in (8080, 40100, 40200, 5353, 40300)]
    assert report['usage']['tcp_states'] == {'ESTABLISHED': N_CONNECTIONS - N_CLOSED + 1 + BULK, 'TIME_WAIT': N_CLOSED}
    assert [(b['address'], b['port'], b['ports_in_use']) for b in report['usage']['busiest']] == [
        ('::1', 7000, BULK - BULK // 3 - (1 if BULK % 3 else 0)), ('127.0.0.1', 7000, BULK // 3 + (1 if BULK % 3 else 0)),
        ('127.0.0.1', 8080, N_CONNECTIONS), ('127.0.0.1', 40100, 1)]
    assert report['usage']['sockets_total'] == 3 + N_CONNECTIONS + (N_CONNECTIONS - N_CLOSED) + 2 + 2 + 1 + 2 * BULK
    assert [c['type'] for c in report['conflicts']].count('service_not_listening') == 1


def test_check_mode_and_catalogue_drift(sockets_host):
    host = sockets_host
    services = [
        {'name': 'web', 'port': 8080, 'proto': 'tcp'},
        {'name': 'metrics', 'port': 40100, 'proto': 'tcp'},
        {'name': 'mdns', 'port': 5353, 'proto': 'udp'},
        {'name': 'gone', 'port': 9999, 'proto': 'tcp'},
    ]
    applied = host.module('portwarden.ports.port_info', {'services': services})
    checked = host.module('portwarden.ports.port_info', {'services': services}, check=True)
    assert applied['rc'] == 0 and checked['rc'] == 0
    assert checked['changed'] is False
    for key in ('ephemeral_range', 'reserved_ports', 'listeners', 'conflicts'):
        assert checked[key] == applied[key]
    assert [(c['type'], c.get('service'), c['proto'], c['port']) for c in applied['conflicts']] == [
        ('listener_in_range', None, 'tcp', 40100),
        ('listener_in_range', None, 'udp', 40300),
        ('service_in_range', 'metrics', 'tcp', '40100'),
        ('service_not_listening', 'gone', 'tcp', '9999'),
        ('listener_not_declared', None, 'tcp', 40200),
        ('listener_not_declared', None, 'udp', 40300),
    ]
    # nothing changed on the host
    assert host.sysctl('net.ipv4.ip_local_port_range').split() == RANGE.split()
    assert host.sysctl('net.ipv4.ip_local_reserved_ports') == RESERVED
    assert host.ls('/etc/sysctl.d') == []


def test_with_async_the_host_builds_the_same_report(sockets_host, tmp_path):
    """A port_info task ships linux_port_info (the conflicts are built on the controller); with async the port_info
    module itself, which builds them on the host. On the same sockets both report the same."""
    host = sockets_host
    remote = tmp_path / 'remote'
    remote.mkdir()
    services = [{'name': 'web', 'port': 8080, 'proto': 'tcp'}, {'name': 'metrics', 'port': 40100, 'proto': 'tcp'},
                {'name': 'gone', 'port': 9999, 'proto': 'tcp'}]
    data = host.playbook([{'name': 'gathered', 'portwarden.ports.port_info': {'services': services, 'processes': True}},
                          {'name': 'whole', 'portwarden.ports.port_info': {'services': services, 'processes': True},
                           'async': 60, 'poll': 1}],
                         env={'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': str(remote)})
    assert data['rc'] == 0, data['stderr']
    gathered, whole = [task['hosts']['localhost'] for task in data['plays'][0]['tasks']]
    assert whole['finished'] == 1 and 'ansible_job_id' in whole
    shipped = set(os.path.basename(path)[len('AnsiballZ_'):-3] for path in glob.glob(str(remote / '*' / 'AnsiballZ_*.py')))
    assert {'linux_port_info', 'port_info'} <= shipped, shipped
    # 40100 and 40300 unreserved in the range, metrics declared in it, gone not listening, 40200, 40300 and mdns
    assert [c['type'] for c in gathered['conflicts']] == ['listener_in_range'] * 2 + [
        'service_in_range', 'service_not_listening'] + ['listener_not_declared'] * 3
    for key in ('ephemeral_range', 'unprivileged_port_start', 'reserved_ports', 'listeners', 'conflicts', 'firewall'):
        assert whole[key] == gathered[key], key
    for key in ('sockets_total', 'tcp_states', 'ports_in_use', 'busiest'):
        assert whole['usage'][key] == gathered['usage'][key], key


def test_reserving_the_port_clears_the_conflict(sockets_host):
    host = sockets_host
    host.set_sysctl('net.ipv4.ip_local_reserved_ports', '40100,40200,40300')
    result = host.module('portwarden.ports.port_info', {})
    assert result['conflicts'] == []
    assert result['usage']['usable_ports'] == 997


def test_invalid_catalogue_fails_without_traceback(nshost):
    result = nshost.module('portwarden.ports.port_info', {'services': [{'name': 'web', 'port': 80, 'proto': 'icmp'}]})
    assert result.get('failed') is True
    assert result['msg'] == "service #0 (web): invalid proto 'icmp': allowed values are tcp, udp."
    # ansible-core 2.19 marks every failure with "(traceback unavailable)"; a crash would carry a real one
    assert 'Traceback' not in str(result.get('exception', '')) and 'module_stderr' not in result


# Run inside the namespace: port_info's firewall state asked one probe after the other, then from the probes
# started side by side (probes.start), on the same live nftables ruleset.
FIREWALL_BOTH = textwrap.dedent('''
    import json, subprocess, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.portwarden.ports.plugins.module_utils import portgather, probes

    asked = []

    def run(argv):
        asked.append(argv)
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    serial = portgather.firewall_state(run, probes.which)
    serial_asked, asked[:] = list(asked), []
    prefetched = probes.start()
    started = sorted(' '.join(argv) for argv in prefetched.started)
    fetched = portgather.firewall_state(prefetched.runner(run), probes.which)
    unused = sorted(' '.join(argv) for argv in prefetched.started)
    prefetched.close()
    print(json.dumps({'serial': serial, 'prefetched': fetched, 'started': started, 'unused': unused,
                      'serial_asked': [' '.join(argv) for argv in serial_asked],
                      'run_after_all': [' '.join(argv) for argv in asked], 'left': len(prefetched.started)}))
''')
FIREWALL_RULESET = '''
table inet portwarden {
    counter banned { }
    counter default_drop { }
    set banned_v4 { type ipv4_addr; flags timeout; elements = { 192.0.2.7 timeout 1h, 198.51.100.9 timeout 2h } }
    set banned_v6 { type ipv6_addr; flags timeout; elements = { 2001:db8:1:: timeout 1h } }
    chain input { type filter hook input priority 0; policy accept; }
}
table ip filter {
    chain INPUT { type filter hook input priority 0; policy accept; }
}
'''


@pytest.mark.parametrize('ruleset', ['portwarden', 'none'])
def test_prefetched_probes_report_what_serial_probes_do(nshost, tmp_path, ruleset):
    """The firewall probes started side by side answer exactly what they answer one after the other (the
    portwarden table with its counters and bans, another tool's table; or no ruleset at all), each started
    probe is asked for or waited for, and nothing that was predicted runs a second time."""
    if ruleset == 'portwarden':
        path = tmp_path / 'ruleset.nft'
        path.write_text(FIREWALL_RULESET)
        nshost.run(['nft', '-f', str(path)])
    collections = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               '.build', 'collections')
    out = json.loads(nshost.run([sys.executable, '-c', FIREWALL_BOTH, collections]).stdout)
    for state in (out['serial'], out['prefetched']):
        for ban in state['banned'] or []:
            ban['seconds_left'] = ban['seconds_left'] // 60   # the two reads are a moment apart
    assert out['prefetched'] == out['serial']
    assert out['left'] == 0
    assert out['run_after_all'] == []                          # every probe asked for had been started
    assert sorted(set(out['serial_asked'])) == sorted(set(out['started']) - set(out['unused']))
    if ruleset == 'portwarden':
        state = out['serial']
        assert state['backend'] == 'nftables' and state['error'] is None
        assert [ban['source'] for ban in state['banned']] == ['192.0.2.7', '198.51.100.9', '2001:db8:1::/64']
        assert sorted(state['counters']) == ['banned', 'default_drop']
        assert any(item['name'] == 'iptables-nft' for item in state['managers'])
        assert out['unused'] == []
    else:
        assert out['serial']['banned'] is None and out['serial']['counters'] is None
        assert len(out['unused']) == 2                         # the ban sets: asked for only when the table exists

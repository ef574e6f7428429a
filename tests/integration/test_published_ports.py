# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Published ports (host_firewall_filter_published): real packets through the role's table.

Four network namespaces: a target that DNATs two ports (8080 -> the container's 80, 9090 -> its 90, as Docker's
``-p`` does, in a table of its own standing for Docker's), a "container" behind it, and two peers, one of them the
only source of the catalogue's service ``web`` (8080). The role's ruleset (the template rendered through the
host_firewall_model filter) is loaded in the target, then:

* the published catalogue port is reachable from its source and not from the other peer;
* the published port that is not in the catalogue is reachable from nobody;
* the container's own outgoing connections (forwarded, not DNAT'd) follow host_firewall_forward_policy;
* without filter_published (the control), the other peer does reach the published port: the probes can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import COLLECTIONS, Namespace

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, COLLECTIONS)
from ansible_collections.portwarden.ports.plugins.filter.host_firewall_model import host_firewall_model  # noqa: E402
TEMPLATE = os.path.join(REPO, 'roles', 'host_firewall', 'templates', 'portwarden.nft.j2')

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespaces, nftables)')

# Docker's part, as it would set it up: DNAT of the published ports into the container (a table of its own).
DOCKER_NAT = textwrap.dedent('''\
    table ip sfwd_docker {
        chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            tcp dport 8080 dnat to 10.201.3.2:80
            tcp dport 9090 dnat to 10.201.3.2:90
        }
    }
    ''')

SERVER = textwrap.dedent('''\
    import socket, sys, threading
    def serve(port):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('0.0.0.0', port))
        sock.listen(16)
        while True:
            conn, _ = sock.accept()
            conn.sendall(b'hello from %d' % port)
            conn.close()
    ports = [int(p) for p in sys.argv[1:]]
    for port in ports[1:]:
        threading.Thread(target=serve, args=(port,), daemon=True).start()
    print('ready', flush=True)
    serve(ports[0])
    ''')

CLIENT = textwrap.dedent('''\
    import socket, sys
    try:
        sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
        print(sock.recv(64).decode())
    except OSError as exc:
        print('blocked: %s' % exc)
    ''')


def _ruleset(filter_published=True, forward_policy='accept'):
    with open(TEMPLATE) as handle:
        template = handle.read()
    return host_firewall_model(
        [{'name': 'web', 'port': 8080, 'sources': ['10.201.1.2/32']}, {'name': 'ssh', 'port': 22}],
        template=template, management_ports=[22], forward_policy=forward_policy, filter_published=filter_published,
        log=False)


@pytest.fixture()
def net():
    """target, container, allowed and denied peers, wired by veth pairs; servers in the container and a peer."""
    target = Namespace('sysctl -qw net.ipv4.ip_forward=1; ')
    others = dict((name, Namespace()) for name in ('container', 'allowed', 'denied'))
    procs = []
    try:
        for index, (name, address) in enumerate((('allowed', '10.201.1'), ('denied', '10.201.2'),
                                                 ('container', '10.201.3')), start=1):
            inner, outer = 'sfwdt%d' % index, 'sfwdp%d' % index
            target.run(['ip', 'link', 'add', inner, 'type', 'veth', 'peer', 'name', outer])
            target.run(['ip', 'link', 'set', outer, 'netns', str(others[name].pid)])
            target.run(['ip', 'addr', 'add', address + '.1/24', 'dev', inner])
            target.run(['ip', 'link', 'set', inner, 'up'])
            peer = others[name]
            peer.run(['ip', 'addr', 'add', address + '.2/24', 'dev', outer])
            peer.run(['ip', 'link', 'set', outer, 'up'])
            peer.run(['ip', 'route', 'add', 'default', 'via', address + '.1'])
        target.run(['nft', '-f', '-'], input=DOCKER_NAT)
        for ns, ports in ((others['container'], ['80', '90']), (others['denied'], ['8000'])):
            proc = ns.popen(['python3', '-c', SERVER] + ports, stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == 'ready'
            procs.append(proc)
        yield dict(others, target=target)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        for ns in list(others.values()) + [target]:
            ns.close()


def _connect(ns, address, port):
    return ns.run(['python3', '-c', CLIENT, address, str(port)]).stdout.strip()


def _load(target, ruleset):
    target.run(['nft', '-f', '-'], input=ruleset)


def test_published_ports_follow_the_catalogue(net):
    target = net['target']
    # Before any portwarden table: everything published is open (what forward_policy: accept alone gives).
    assert _connect(net['denied'], '10.201.2.1', 8080) == 'hello from 80'

    _load(target, _ruleset())
    listing = target.run(['nft', 'list', 'table', 'inet', 'portwarden']).stdout
    assert 'ct status dnat ct state new jump published' in listing
    assert 'ct original proto-dst 8080' in listing

    # The catalogue port, published: from its source only.
    assert _connect(net['allowed'], '10.201.1.1', 8080) == 'hello from 80'
    assert _connect(net['denied'], '10.201.2.1', 8080).startswith('blocked')
    # The published port that is not in the catalogue: from nobody.
    assert _connect(net['allowed'], '10.201.1.1', 9090).startswith('blocked')
    assert _connect(net['denied'], '10.201.2.1', 9090).startswith('blocked')
    # The container's own outgoing traffic (forwarded, not DNAT'd): forward_policy accept lets it through.
    assert _connect(net['container'], '10.201.2.2', 8000) == 'hello from 8000'

    # Loaded again with nothing changed in between: the same verdicts (the ruleset is stable, not one-shot).
    _load(target, _ruleset())
    assert _connect(net['allowed'], '10.201.1.1', 8080) == 'hello from 80'
    assert _connect(net['denied'], '10.201.2.1', 8080).startswith('blocked')


def test_forward_policy_drop_still_passes_catalogue_published_ports(net):
    _load(net['target'], _ruleset(forward_policy='drop'))
    assert _connect(net['allowed'], '10.201.1.1', 8080) == 'hello from 80'
    assert _connect(net['denied'], '10.201.2.1', 8080).startswith('blocked')
    # Not DNAT'd: follows the policy, drop.
    assert _connect(net['container'], '10.201.2.2', 8000).startswith('blocked')


def test_control_without_filter_published_leaves_them_open(net):
    _load(net['target'], _ruleset(filter_published=False))
    assert 'chain published' not in net['target'].run(['nft', 'list', 'table', 'inet', 'portwarden']).stdout
    assert _connect(net['denied'], '10.201.2.1', 8080) == 'hello from 80'
    assert _connect(net['denied'], '10.201.2.1', 9090) == 'hello from 90'


def test_port_info_reports_the_managers_of_a_docker_host(nshost):
    """port_info's ``firewall`` on a real ruleset: Docker's chains (iptables-nft style) and the portwarden table, and
    the nftables backend refusing nothing there (Docker is not a filter of incoming traffic)."""
    before = nshost.module('portwarden.ports.port_info', {})
    assert before['firewall']['backend'] is None
    assert [m['name'] for m in before['firewall']['managers'] if m['name'] != 'firewalld'] == []
    nshost.run(['nft', '-f', '-'], input=textwrap.dedent('''\
        table ip nat {
            chain DOCKER { }
            chain PREROUTING { type nat hook prerouting priority dstnat; policy accept; fib daddr type local jump DOCKER; }
        }
        table ip filter {
            chain DOCKER-USER { }
            chain FORWARD { type filter hook forward priority filter; policy accept; jump DOCKER-USER; }
        }
        '''))
    nshost.run(['nft', '-f', '-'], input=_ruleset())
    report = nshost.module('portwarden.ports.port_info', {})['firewall']
    docker = [m for m in report['managers'] if m['name'] == 'docker']
    assert docker and docker[0]['detail'] == 'nftables tables ip filter, ip nat' and not docker[0]['filters_input']
    assert report['backend'] == 'nftables'
    assert report['filtering_input'][0] == 'portwarden' and report['warning'] is None
    choice = nshost.module('portwarden.ports.firewall_managers', {'backend': 'auto'})
    assert choice['backend'] == 'nftables' and not choice['changed'] and choice['in_place'] == 'nftables'

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_firewall on a real kernel, with real packets.

A "server" namespace gets the table the role renders (the role runs in it
through Ansible); a "client" namespace, joined by a veth pair, holds an
allowed and a disallowed source address for each family and connects to
it. Other tools' tables (Docker-like ip nat / ip filter, a kube-proxy-like
inet table) must come out byte-identical. The lockout test runs Ansible over
SSH from the client to an sshd inside the server namespace.
"""

from __future__ import annotations

import ast
import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import textwrap
import time

import pytest
import yaml

from conftest import NsHost, ansible_env, _bin

SERVER_V4, ALLOWED_V4, DENIED_V4 = '10.77.0.1', '10.77.0.2', '10.77.0.3'
SERVER_V6, ALLOWED_V6, DENIED_V6 = 'fd77::1', 'fd77::2', 'fd77::3'

CATALOGUE = [
    {'name': 'web', 'port': 8080, 'proto': 'tcp', 'sources': ['10.77.0.2/32', 'fd77::2/128'], 'description': 'allowed sources only'},
    {'name': 'open', 'port': '8081', 'proto': 'tcp'},
    {'name': 'limited', 'port': 8082, 'proto': 'tcp', 'rate_limit': '3/minute'},
    {'name': 'dns', 'port': 5353, 'proto': 'udp', 'sources': ['10.77.0.2/32', 'fd77::2/128']},
]
SET_SIZE = 32768           # plugin_utils/firewall_model.py: networks per set of one service and family
UNDECLARED = 9999          # a listener the catalogue does not declare
RETURN_PORT = 7000         # a server in the client namespace, for the return path

OTHER_TABLES = textwrap.dedent('''\
    table ip nat {
        chain PREROUTING { type nat hook prerouting priority dstnat; policy accept; fib daddr type local jump DOCKER; }
        chain POSTROUTING { type nat hook postrouting priority srcnat; policy accept; ip saddr 172.17.0.0/16 oifname != "docker0" masquerade; }
        chain DOCKER { iifname "docker0" return; }
    }
    table ip filter {
        chain INPUT { type filter hook input priority filter; policy accept; }
        chain FORWARD { type filter hook forward priority filter; policy drop; jump DOCKER-USER; oifname "docker0" ct state related,established accept; }
        chain DOCKER-USER { return; }
    }
    table inet kube-proxy {
        comment "rules for kube-proxy"
        set cluster-ips { type ipv4_addr; elements = { 10.96.0.1, 10.96.0.10 }; }
        chain filter-input { type filter hook input priority -110; policy accept; ct state new ip daddr @cluster-ips reject; }
    }
''')
STOCK_NFTABLES_CONF = textwrap.dedent('''\
    #!/usr/sbin/nft -f

    flush ruleset

    table inet filter {
    \tchain input {
    \t\ttype filter hook input priority filter;
    \t}
    }
    include "/nonexistent-portwarden-test/*.nft"
''')

SERVER_SCRIPT = r'''
import socket, sys, threading
socks = []
for spec in sys.argv[1:]:
    proto, port = spec.split('/')
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', int(port)))
    if proto == 'tcp':
        s.listen(128)
    socks.append((proto, s))
def tcp(s):
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b'ok\n')
        finally:
            c.close()
def udp(s):
    while True:
        data, addr = s.recvfrom(512)
        s.sendto(b'ok\n', addr)
for proto, s in socks:
    threading.Thread(target=tcp if proto == 'tcp' else udp, args=(s,), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
'''

PROBE_SCRIPT = r'''
import json, socket, sys, concurrent.futures
probes, sequential = json.loads(sys.argv[1]), sys.argv[2] == 'seq'
def probe(p):
    fam = socket.AF_INET6 if ':' in p['dst'] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if p['proto'] == 'tcp' else socket.SOCK_DGRAM)
    s.settimeout(p.get('timeout', 1.0))
    try:
        if p.get('src'):
            s.bind((p['src'], 0))
        if p['proto'] == 'tcp':
            s.connect((p['dst'], p['port']))
            return 'open' if s.recv(16).startswith(b'ok') else 'open-nodata'
        s.connect((p['dst'], p['port']))
        s.send(b'hello')
        return 'open' if s.recv(16).startswith(b'ok') else 'open-nodata'
    except ConnectionRefusedError:
        return 'refused'
    except socket.timeout:
        return 'filtered'
    except OSError as exc:
        return 'error: %s' % exc
    finally:
        s.close()
if sequential:
    out = [probe(p) for p in probes]
else:
    with concurrent.futures.ThreadPoolExecutor(len(probes)) as pool:
        out = list(pool.map(probe, probes))
print(json.dumps(out))
'''


# ---------------------------------------------------------------- helpers
def tcp(dst, port, src=None, timeout=1.0):
    return {'proto': 'tcp', 'dst': dst, 'port': port, 'src': src, 'timeout': timeout}


def udp(dst, port, src=None, timeout=1.0):
    return {'proto': 'udp', 'dst': dst, 'port': port, 'src': src, 'timeout': timeout}


def probe(host, probes, sequential=False):
    result = host.run(['python3', '-c', PROBE_SCRIPT, json.dumps(probes), 'seq' if sequential else 'par'])
    return json.loads(result.stdout)


def start_listener(host, specs):
    proc = subprocess.Popen(host.nsenter() + ['python3', '-c', SERVER_SCRIPT] + list(specs),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line == 'ready', proc.stderr.read()
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def list_table(host, family, name):
    result = host.run(['nft', 'list', 'table', family, name], check=False)
    return result.stdout if result.returncode == 0 else None


def other_tables(host):
    return {t: list_table(host, *t.split()) for t in ('ip nat', 'ip filter', 'inet kube-proxy')}


def link(server, client):
    """A veth pair server:pwsrv0 <-> client:pwcli0 with both families' addresses."""
    server.run(['ip', 'link', 'add', 'pwsrv0', 'type', 'veth', 'peer', 'name', 'pwcli0', 'netns', str(client.pid)])
    server.sh('ip addr add %s/24 dev pwsrv0 && ip -6 addr add %s/64 dev pwsrv0 nodad && ip link set pwsrv0 up'
              % (SERVER_V4, SERVER_V6))
    client.sh('ip addr add %s/24 dev pwcli0 && ip addr add %s/24 dev pwcli0 && '
              'ip -6 addr add %s/64 dev pwcli0 nodad && ip -6 addr add %s/64 dev pwcli0 nodad && ip link set pwcli0 up'
              % (ALLOWED_V4, DENIED_V4, ALLOWED_V6, DENIED_V6))


@contextlib.contextmanager
def linked_pair(base, link_with=None):
    """A server and a client namespace host under ``base`` (a pathlib directory), joined by ``link_with`` (default
    :func:`link`); yields ``(server, client, procs)``: the processes put in ``procs`` are killed, then both hosts
    closed, however the block ends."""
    hosts, procs = [], []
    try:
        for name in ('server', 'client'):
            (base / name).mkdir()
            hosts.append(NsHost(str(base / name)))
        (link_with or link)(*hosts)
        yield hosts[0], hosts[1], procs
    finally:
        for proc in procs:
            stop(proc)
        for host in hosts:
            host.close()


def role_vars(tmpdir, **extra):
    conf = os.path.join(tmpdir, 'etc', 'nftables.conf')
    if not os.path.exists(conf):
        os.makedirs(os.path.dirname(conf), exist_ok=True)
        with open(conf, 'w') as handle:
            handle.write(STOCK_NFTABLES_CONF)
    values = {
        'portwarden_services': CATALOGUE,
        'host_firewall_management_ports': [],
        'host_firewall_rules_path': os.path.join(tmpdir, 'etc', 'portwarden', 'portwarden.nft'),
        'host_firewall_state_dir': os.path.join(tmpdir, 'state'),
        'host_firewall_nftables_conf': conf,
        'host_firewall_install': False,
        'host_firewall_rollback_timeout': 10,
    }
    values.update(extra)
    return values


ROLE_TASK = {'name': 'host_firewall', 'ansible.builtin.include_role': {'name': 'portwarden.ports.host_firewall'}}
APPLY_TASK = 'portwarden.ports.host_firewall : Load the table inet portwarden (all or nothing; rolled back by the host unless confirmed)'


def role_entries(data):
    """Every task entry of the role (skipped ones too: each costs the controller about a ping task), as name, skipped."""
    return [(task['task']['name'].split(' - ')[0] if 'Validating arguments' in task['task']['name'] else task['task']['name'],
             bool(task['hosts'].get('localhost', {}).get('skipped')))
            for task in data['plays'][0]['tasks'] if task['task']['name'].startswith('portwarden.ports.host_firewall : ')]


def ran_tasks(data):
    """The role's tasks that ran (not skipped), without its inclusion and argument validation."""
    return [task['task']['name'] for task in data['plays'][0]['tasks']
            if task['task']['name'].startswith('portwarden.ports.host_firewall : ')
            and not task['hosts'].get('localhost', {}).get('skipped') and 'Validating arguments' not in task['task']['name']]


def task_results(data, name):
    return [task['hosts']['localhost'] for task in data['plays'][0]['tasks'] if task['task']['name'] == name]


def task_result(data, name, occurrence=0):
    found = task_results(data, name)
    if len(found) > occurrence:
        return found[occurrence]
    raise AssertionError('task %r not in the play: %s' % (name, [t['task']['name'] for t in data['plays'][0]['tasks']]))


def run_role(host, check=False, **extra):
    data = host.playbook([ROLE_TASK], check=check, play_vars=role_vars(host.tmpdir, **extra))
    assert data['rc'] == 0, json.dumps(data, indent=1)[-4000:] + data['stderr']
    return data


# ---------------------------------------------------------------- Ansible contract
def test_check_apply_check_apply_persist_and_leave_other_tables(nshost):
    nshost.write_file(os.path.join(nshost.tmpdir, 'other.nft'), OTHER_TABLES)
    nshost.run(['nft', '-f', os.path.join(nshost.tmpdir, 'other.nft')])
    others = other_tables(nshost)
    assert all(others.values()), others
    conf = os.path.join(nshost.tmpdir, 'etc', 'nftables.conf')
    rules = os.path.join(nshost.tmpdir, 'etc', 'portwarden', 'portwarden.nft')

    # 1. check mode predicts the change, shows the ruleset diff, changes nothing
    data = run_role(nshost, check=True)
    applied = task_result(data, APPLY_TASK)
    assert applied['changed'] is True and applied['table_changed'] is True and applied['include_changed'] is True
    rules_diff, conf_diff = applied['diff']          # the rules file, and nftables.conf gaining the include line
    assert conf_diff['before'] == STOCK_NFTABLES_CONF
    assert conf_diff['after'] == STOCK_NFTABLES_CONF + 'include "%s"\n' % rules
    after = rules_diff['after']
    assert after.startswith('# Managed by Ansible: portwarden.ports.host_firewall.')
    assert 'table inet portwarden {}\ndelete table inet portwarden\ntable inet portwarden {\n' in after
    assert 'tcp dport 8080 ip saddr @svc1_web_tcp_v4 accept comment "web"' in after
    assert 'flush ruleset' not in after.replace('the ruleset is never flushed', '')
    assert list_table(nshost, 'inet', 'portwarden') is None
    assert not os.path.exists(rules)
    assert nshost.read_file(conf) == STOCK_NFTABLES_CONF
    assert data['stats']['localhost']['changed'] >= 1

    # 2. apply changes
    data = run_role(nshost)
    assert task_result(data, APPLY_TASK)['changed'] is True
    assert task_result(data, APPLY_TASK)['confirmed'] is True
    live = list_table(nshost, 'inet', 'portwarden')
    assert 'policy drop' in live and 'set svc1_web_tcp_v4' in live
    # The confirmation committed the copy the host saved at apply (not sent twice), then removed it and the
    # marker and restore files: only the record of what the kernel holds is left.
    assert nshost.read_file(rules) == after
    assert os.listdir(os.path.join(nshost.tmpdir, 'state')) == ['inet-portwarden.record']
    with open(rules) as handle:
        assert handle.read() == after
    conf_text = nshost.read_file(conf)
    assert conf_text == STOCK_NFTABLES_CONF + 'include "%s"\n' % rules
    assert other_tables(nshost) == others

    # without systemd here, the role says why the service was not enabled (when it writes the boot configuration),
    # as a warning (shown in the normal output) and in the result's notes
    applied = task_result(data, APPLY_TASK)
    assert applied['ran'] == ['load'] and len(applied['notes']) == 1 and 'not enabled' in applied['notes'][0], applied['notes']
    assert any('nftables.service was not enabled' in str(w) for w in applied['warnings']), applied['warnings']

    # 3. check mode predicts no change; 4. apply changes nothing, in ONE task (on the host), and says nothing
    for check in (True, False):
        data = run_role(nshost, check=check)
        assert data['stats']['localhost']['changed'] == 0, (check, json.dumps(data['plays'][0]['tasks'], indent=1)[-3000:])
        assert ran_tasks(data) == [APPLY_TASK], ran_tasks(data)
        # the argument validation and the one task (nothing skipped); one step on the host, nothing said
        assert role_entries(data)[1:] == [(APPLY_TASK, False)], role_entries(data)
        applied = task_result(data, APPLY_TASK)
        assert applied['ran'] == ['load'] and applied['notes'] == [] and applied['nft_missing'] is False
        assert applied['backend'] == 'nftables' and applied['stopped'] == [] and applied['enable_nftables_service'] is True
        assert applied['include_file'] == conf and applied['include_changed'] is False
        assert applied['systemd_running'] is False
    assert list_table(nshost, 'inet', 'portwarden') == live
    assert nshost.read_file(conf) == conf_text

    # Drift: someone opens a port behind Ansible's back; check mode sees it, apply puts the table back.
    nshost.run(['nft', 'insert', 'rule', 'inet', 'portwarden', 'input', 'tcp', 'dport', '4444', 'accept'])
    data = run_role(nshost, check=True)
    applied = task_result(data, APPLY_TASK)
    assert applied['changed'] is True and applied['drifted'] is True
    assert 'tcp dport 4444 accept' in applied['diff']['before']
    data = run_role(nshost)
    assert task_result(data, APPLY_TASK)['changed'] is True
    assert list_table(nshost, 'inet', 'portwarden') == live
    assert other_tables(nshost) == others

    # Another tool commits a transaction (its own table): no change, and the table is still compared.
    nshost.run(['nft', 'add', 'table', 'ip', 'pwother'])
    data = run_role(nshost)
    assert data['stats']['localhost']['changed'] == 0
    assert task_result(data, APPLY_TASK)['drifted'] is False
    # Someone adds a source to one of our sets: a transaction too; seen and repaired.
    nshost.run(['nft', 'add', 'element', 'inet', 'portwarden', 'svc1_web_tcp_v4', '{ 10.77.0.3 }'])
    data = run_role(nshost, check=True)
    assert task_result(data, APPLY_TASK)['drifted'] is True
    run_role(nshost)
    assert list_table(nshost, 'inet', 'portwarden') == live
    # The include line removed by hand comes back without reloading the table.
    nshost.write_file(conf, STOCK_NFTABLES_CONF)
    data = run_role(nshost)
    applied = task_result(data, APPLY_TASK)
    assert applied['changed'] is True and applied['include_changed'] is True and applied['table_changed'] is False
    assert 'confirmed' not in applied and nshost.read_file(conf) == conf_text

    # The persisted files load at boot: the whole nftables.conf passes nft -c (it includes ours).
    nshost.run(['nft', '-c', '-f', conf])


def module_examples():
    """The EXAMPLES of the docs-only module portwarden.ports.host_firewall (the role's one task), as tasks."""
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'modules', 'host_firewall.py')
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    text = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and [t.id for t in node.targets] == ['EXAMPLES']][0]
    return yaml.safe_load(text)


def test_the_modules_examples_run_check_apply_check_apply(nshost):
    """The module's EXAMPLES as they are (the paths and the rollback of this test host from the play's variables:
    the options the task does not give are the host_firewall_* variables)."""
    examples = module_examples()
    assert examples[0]['portwarden.ports.host_firewall']['services'][1]['name'] == 'api'
    play_vars = role_vars(nshost.tmpdir)
    del play_vars['portwarden_services']
    for check, changed in ((True, True), (False, True), (True, False), (False, False)):
        data = nshost.playbook(examples, check=check, play_vars=play_vars)
        assert data['rc'] == 0, json.dumps(data['plays'], indent=1)[-3000:]
        result = task_result(data, examples[0]['name'])
        assert result['changed'] is changed and result['ran'] == ['load'], (check, result)
        assert 'backend nftables' in task_result(data, examples[1]['name'])['msg']
        if not check:
            assert 'set svc2_api_tcp_v4' in list_table(nshost, 'inet', 'portwarden')
    # persist false: no include line, no boot configuration
    assert nshost.read_file(play_vars['host_firewall_nftables_conf']) == STOCK_NFTABLES_CONF


FAKE_PACKAGE = '''#!/usr/bin/python
# A stand-in package manager for the test (ansible_package_use): "installing" nftables uncovers the nft binary
# hidden in the test host's own mount namespace. Nothing is installed on the machine.
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='raw'), state=dict(type='str')), supports_check_mode=True)
    if not module.check_mode:
        rc, out, err = module.run_command(['umount', %r], check_rc=False)
        if rc != 0:
            module.fail_json(msg='umount failed: %%s' %% err)
    module.exit_json(changed=True, name=module.params['name'])


main()
'''


def hide_nft(host):
    """nft is not executable inside the host's own mount namespace any more (get_bin_path does not find it)."""
    nft = os.path.realpath(shutil.which('nft') or '/usr/sbin/nft')
    host.run(['mount', '--bind', '/dev/null', nft])
    return nft


def test_missing_nft_is_installed_then_the_table_loaded(nshost):
    nft = hide_nft(nshost)
    library = os.path.join(nshost.tmpdir, 'library')      # next to the playbooks the test host writes
    os.makedirs(library)
    with open(os.path.join(library, 'pw_fake_package.py'), 'w') as handle:
        handle.write(FAKE_PACKAGE % nft)
    install = {'host_firewall_install': True, 'ansible_package_use': 'ansible.legacy.pw_fake_package'}

    # Check mode: the install is predicted; nothing to load with yet.
    data = nshost.playbook([ROLE_TASK], check=True, play_vars=role_vars(nshost.tmpdir, **install))
    assert data['rc'] == 0, json.dumps(data['plays'], indent=1)[-3000:]
    first = task_result(data, APPLY_TASK)
    assert first['nft_missing'] is True and not first.get('failed') and first['changed'] is True
    assert first['install']['changed'] is True and first['ran'] == ['load', 'install']    # no load again in check mode
    assert len(task_results(data, APPLY_TASK)) == 1
    assert list_table(nshost, 'inet', 'portwarden') is None

    # Apply: installed ("nft" back), then loaded and persisted by the second load task.
    data = nshost.playbook([ROLE_TASK], play_vars=role_vars(nshost.tmpdir, **install))
    assert data['rc'] == 0, json.dumps(data['plays'], indent=1)[-3000:]
    loaded = task_result(data, APPLY_TASK)      # the load again after the install, inside the one task: its result
    assert loaded['nft_missing'] is True and loaded['install']['changed'] is True
    assert loaded['ran'] == ['load', 'install', 'reload'] and len(task_results(data, APPLY_TASK)) == 1
    assert loaded['changed'] is True and loaded['confirmed'] is True and loaded['include_changed'] is True
    assert 'set svc1_web_tcp_v4' in list_table(nshost, 'inet', 'portwarden')
    assert any('not enabled' in note for note in loaded['notes'])   # from the second load's result
    # nft is there now: check mode predicts nothing, and the run changes nothing - one step on the host, no install.
    for check in (True, False):
        data = run_role(nshost, check=check, **install)
        assert data['stats']['localhost']['changed'] == 0 and ran_tasks(data) == [APPLY_TASK], check
        assert task_result(data, APPLY_TASK)['ran'] == ['load'] and 'install' not in task_result(data, APPLY_TASK)


def test_missing_nft_fails_clearly_without_install(nshost):
    hide_nft(nshost)
    data = nshost.playbook([ROLE_TASK], play_vars=role_vars(nshost.tmpdir))
    assert data['rc'] != 0
    failed = task_result(data, APPLY_TASK)
    assert failed['failed'] is True and failed['nft_missing'] is True
    assert 'nft binary was not found' in failed['msg'] and 'host_firewall_install' in failed['msg']
    assert ran_tasks(data) == [APPLY_TASK] and failed['ran'] == ['load']    # the install was not tried
    assert nshost.read_file(role_vars(nshost.tmpdir)['host_firewall_nftables_conf']) == STOCK_NFTABLES_CONF


BAD_ENTRIES = [
    # (catalogue or extra vars, words the error must contain)
    ({'portwarden_services': [{'name': 'web\nchain x { }', 'port': 80}]}, ['service #0', 'name']),
    ({'portwarden_services': [{'name': 'ok', 'port': 80}, {'name': 'web', 'port': '80; flush ruleset'}]}, ['service #1 (web)', 'port']),
    ({'portwarden_services': [{'name': 'web', 'port': 80, 'proto': 'tcp }'}]}, ['service #0 (web)', 'proto']),
    ({'portwarden_services': [{'name': 'web', 'port': 80, 'sources': ['10.0.0.0/8 } accept #']}]}, ['service #0 (web)', 'sources']),
    ({'portwarden_services': [{'name': 'web', 'port': 80, 'rate_limit': '1/second } accept'}]}, ['service #0 (web)', 'rate_limit']),
    ({'portwarden_services': [{'name': 'web', 'port': 80, 'description': 'x"; flush ruleset; #'}]}, ['service #0 (web)', 'description']),
    ({'portwarden_services': [{'name': 'web', 'port': 80, 'description': 'line\nchain evil {}'}]}, ['service #0 (web)', 'description']),
    ({'portwarden_services': [{'name': 'web', 'port': 70000}]}, ['service #0 (web)', 'port']),
    ({'portwarden_services': [{'name': 'web', 'port': '90-80'}]}, ['service #0 (web)', 'port']),
    ({'portwarden_services': [{'name': 'web', 'port': 80, 'sources': ['10.0.0.1/8']}]}, ['service #0 (web)', 'sources']),
    ({'host_firewall_log_prefix': 'x" ; flush ruleset #'}, ['host_firewall_log_prefix']),
    ({'host_firewall_forward_policy': 'accept; flush ruleset'}, ['host_firewall_forward_policy']),
    ({'host_firewall_management_sources': ['0.0.0.0/0 } ']}, ['host_firewall_management_sources']),
    ({'host_firewall_rules_path': '/etc/x"\ninclude "/tmp/evil'}, ['host_firewall_rules_path']),
]


def test_bad_input_fails_naming_entry_and_field_and_changes_nothing(nshost):
    """Each bad value fails in its own block (one play for all, rescue records the message)."""
    tasks = [{'name': 'init', 'ansible.builtin.set_fact': {'errors': []}}]
    base = role_vars(nshost.tmpdir)
    for index, (override, _words) in enumerate(BAD_ENTRIES):
        variables = dict(base, **override)
        if 'portwarden_services' in variables:
            variables['host_firewall_services'] = variables.pop('portwarden_services')
        tasks.append({'name': 'case %d' % index, 'block': [dict(ROLE_TASK, vars=variables)],
                      'rescue': [{'ansible.builtin.set_fact': {'errors': "{{ errors + [ansible_failed_result.msg | default('') | string] }}"}}]})
    tasks.append({'name': 'report', 'ansible.builtin.debug': {'var': 'errors'}})
    data = nshost.playbook(tasks, play_vars={})
    assert data['rc'] == 0, data['stderr']
    errors = task_result(data, 'report')['errors']
    assert len(errors) == len(BAD_ENTRIES), errors
    for (override, words), message in zip(BAD_ENTRIES, errors):
        for word in words:
            assert word in message, (override, message)
    assert list_table(nshost, 'inet', 'portwarden') is None
    assert not os.path.exists(os.path.join(nshost.tmpdir, 'etc', 'portwarden', 'portwarden.nft'))
    assert nshost.read_file(base['host_firewall_nftables_conf']) == STOCK_NFTABLES_CONF


# ---------------------------------------------------------------- real packets
@pytest.fixture(scope='module')
def net(tmp_path_factory):
    """server + client namespaces, listeners, baseline probes, then the role's table in the server."""
    base = tmp_path_factory.mktemp('hfnet')
    hosts, procs = [], []
    try:
        for name in ('server', 'client'):
            path = base / name
            path.mkdir()
            hosts.append(NsHost(str(path)))
        server, client = hosts
        link(server, client)
        procs.append(start_listener(server, ['tcp/8080', 'tcp/8081', 'tcp/8082', 'tcp/%d' % UNDECLARED, 'udp/5353']))
        procs.append(start_listener(client, ['tcp/%d' % RETURN_PORT]))
        baseline = probe(client, [tcp(SERVER_V4, UNDECLARED, DENIED_V4), tcp(SERVER_V6, UNDECLARED, DENIED_V6),
                                  tcp(SERVER_V4, 8080, DENIED_V4), udp(SERVER_V4, 5353, DENIED_V4)])
        nmap_baseline = nmap(client, SERVER_V4, '-sN')
        server.write_file(str(base / 'other.nft'), OTHER_TABLES)
        server.run(['nft', '-f', str(base / 'other.nft')])
        others = other_tables(server)
        run_role(server)
        yield {'server': server, 'client': client, 'baseline': baseline, 'nmap_baseline': nmap_baseline, 'others': others}
    finally:
        for proc in procs:
            stop(proc)
        for host in hosts:
            host.close()


def nmap(client, target, scan):
    argv = ['nmap', scan, '-Pn', '-n', '--max-retries', '1', '--host-timeout', '20s', '-T4', '-p', '8080,8081,%d,9998' % UNDECLARED,
            '-oG', '-', target]
    if ':' in target:
        argv.insert(1, '-6')
    out = client.run(argv).stdout
    ports = {}
    for line in out.splitlines():
        if 'Ports:' in line:
            for item in line.split('Ports:')[1].split('\t')[0].split(','):
                fields = item.strip().split('/')
                ports[int(fields[0])] = fields[1]
    return ports


def test_the_probes_can_see_open_ports_without_the_table(net):
    # Without the table everything listening answers: what the tests below see is the table's doing.
    assert net['baseline'] == ['open', 'open', 'open', 'open']
    assert net['nmap_baseline'][9998] == 'closed'  # an RST comes back without the table


def test_ipv4_declared_from_allowed_only_and_undeclared_closed(net):
    got = probe(net['client'], [
        tcp(SERVER_V4, 8080, ALLOWED_V4), tcp(SERVER_V4, 8080, DENIED_V4),
        tcp(SERVER_V4, 8081, DENIED_V4), tcp(SERVER_V4, UNDECLARED, ALLOWED_V4),
        udp(SERVER_V4, 5353, ALLOWED_V4), udp(SERVER_V4, 5353, DENIED_V4)])
    assert got == ['open', 'filtered', 'open', 'filtered', 'open', 'filtered']


def test_ipv6_declared_from_allowed_only_and_undeclared_closed(net):
    got = probe(net['client'], [
        tcp(SERVER_V6, 8080, ALLOWED_V6), tcp(SERVER_V6, 8080, DENIED_V6),
        tcp(SERVER_V6, 8081, DENIED_V6), tcp(SERVER_V6, UNDECLARED, ALLOWED_V6),
        udp(SERVER_V6, 5353, ALLOWED_V6), udp(SERVER_V6, 5353, DENIED_V6)])
    assert got == ['open', 'filtered', 'open', 'filtered', 'open', 'filtered']


def test_return_path_of_connections_the_host_starts(net):
    # The server connects out (from its ephemeral range); the answers come back through established,related.
    got = probe(net['server'], [tcp(ALLOWED_V4, RETURN_PORT), tcp(ALLOWED_V6, RETURN_PORT),
                                tcp(DENIED_V4, RETURN_PORT), tcp(DENIED_V6, RETURN_PORT)])
    assert got == ['open', 'open', 'open', 'open']
    # ...while the same kind of connection into the server is dropped.
    assert probe(net['client'], [tcp(SERVER_V4, UNDECLARED, ALLOWED_V4)]) == ['filtered']


@pytest.mark.parametrize('scan', ['-sN', '-sX'])
@pytest.mark.parametrize('target', [SERVER_V4, SERVER_V6])
def test_null_and_xmas_scans_get_no_answer(net, scan, target):
    ports = nmap(net['client'], target, scan)
    # open|filtered for every port = nothing came back, not even an RST from the closed port 9998.
    assert ports == {8080: 'open|filtered', 8081: 'open|filtered', UNDECLARED: 'open|filtered', 9998: 'open|filtered'}


def test_rate_limit_drops_connections_past_the_limit(net):
    # limited: 3/minute per source -> 3 new connections at once pass, the following ones are dropped.
    got = probe(net['client'], [tcp(SERVER_V4, 8082, ALLOWED_V4, timeout=0.7) for dummy in range(6)], sequential=True)
    assert got == ['open', 'open', 'open', 'filtered', 'filtered', 'filtered']
    # The limit is per source: another address still gets its own 3; and IPv6 has its own meter.
    got = probe(net['client'], [tcp(SERVER_V4, 8082, DENIED_V4, timeout=0.7) for dummy in range(4)]
                + [tcp(SERVER_V6, 8082, ALLOWED_V6, timeout=0.7) for dummy in range(4)], sequential=True)
    assert got == ['open'] * 3 + ['filtered'] + ['open'] * 3 + ['filtered']
    # An unlimited service from the same exhausted source is unaffected.
    assert probe(net['client'], [tcp(SERVER_V4, 8081, ALLOWED_V4)]) == ['open']


def test_run_after_traffic_changes_nothing(net):
    # The rate limit meters now hold per-source state (dynamic set elements): not a change.
    assert 'elements = {' in net['server'].run(['nft', 'list', 'set', 'inet', 'portwarden', 'svc3_limited_tcp_rate_v4']).stdout
    for check in (True, False):
        data = run_role(net['server'], check=check)
        assert data['stats']['localhost']['changed'] == 0, check


def test_other_tables_untouched_by_apply(net):
    assert other_tables(net['server']) == net['others']
    assert all(net['others'].values())


# ---------------------------------------------------------------- lockout safety over SSH
SSHD_CONFIG = '''\
Port 2222
ListenAddress 0.0.0.0
HostKey {d}/host_key
AuthorizedKeysFile {d}/authorized_keys
PidFile {d}/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
'''


def test_a_source_list_above_the_set_size_is_split_into_sets_that_all_admit(tmp_path):
    """32,769 IPv4 sources of one service: two sets (SET_SIZE networks a set), one rule each; a client address in
    the first set and the one in the second connect, another is dropped; the check / apply / check / apply
    contract, and another tool's element in the second set is seen as drift and repaired."""
    first = '10.64.0.2'                                   # in the first set (the sources sort by address)
    sources = [str(ipaddress.IPv4Address(0x0A400000 + 2 * i)) + '/32' for i in range(SET_SIZE)] + [ALLOWED_V4 + '/32']
    assert first + '/32' in sources[:SET_SIZE]            # none of them touch: nothing merges
    with linked_pair(tmp_path) as (server, client, procs):
        client.sh('ip addr add %s/32 dev pwcli0' % first)
        server.sh('ip route add 10.64.0.0/14 dev pwsrv0')
        procs.append(start_listener(server, ['tcp/8080']))
        catalogue = [{'name': 'big', 'port': 8080, 'proto': 'tcp', 'sources': sources}]
        names = ['svc1_big_tcp_v4', 'svc1_big_tcp_v4_2']

        data = run_role(server, check=True, portwarden_services=catalogue)
        after = task_result(data, APPLY_TASK)['diff'][0]['after']
        assert task_result(data, APPLY_TASK)['changed'] is True and list_table(server, 'inet', 'portwarden') is None
        for name in names:
            assert after.count('\tset %s {' % name) == 1 and after.count('tcp dport 8080 ip saddr @%s accept comment "big"' % name) == 1
        assert 'svc1_big_tcp_v4_3' not in after

        assert task_result(run_role(server, portwarden_services=catalogue), APPLY_TASK)['changed'] is True
        live = list_table(server, 'inet', 'portwarden')
        assert all('set %s {' % name in live for name in names)
        for check in (True, False):
            data = run_role(server, check=check, portwarden_services=catalogue)
            assert data['stats']['localhost']['changed'] == 0, check
        assert probe(client, [tcp(SERVER_V4, 8080, first), tcp(SERVER_V4, 8080, ALLOWED_V4),
                              tcp(SERVER_V4, 8080, DENIED_V4)]) == ['open', 'open', 'filtered']

        server.run(['nft', 'add', 'element', 'inet', 'portwarden', names[1], '{ 10.76.200.1 }'])
        data = run_role(server, check=True, portwarden_services=catalogue)
        assert task_result(data, APPLY_TASK)['drifted'] is True
        assert task_result(run_role(server, portwarden_services=catalogue), APPLY_TASK)['changed'] is True
        assert list_table(server, 'inet', 'portwarden') == live


def controller_playbook(client, tmpdir, key, play_vars, name):
    """ansible-playbook run in the CLIENT namespace, reaching the server over SSH."""
    inventory = os.path.join(tmpdir, 'inventory.ini')
    with open(inventory, 'w') as handle:
        handle.write('server ansible_host=%s ansible_port=2222 ansible_user=root ansible_ssh_private_key_file=%s '
                     'ansible_python_interpreter=/usr/bin/python3\n' % (SERVER_V4, key))
    play = [{'name': name, 'hosts': 'server', 'gather_facts': False, 'vars': play_vars,
             'tasks': [ROLE_TASK, {'name': 'reachable after', 'ansible.builtin.ping': {}}]}]
    path = os.path.join(tmpdir, '%s.yml' % name)
    with open(path, 'w') as handle:
        json.dump(play, handle)
    env = ansible_env(ANSIBLE_TIMEOUT='2', ANSIBLE_PIPELINING='1', ANSIBLE_HOST_KEY_CHECKING='0',
                      ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null '
                                       '-o StrictHostKeyChecking=no -o LogLevel=ERROR',
                      ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(tmpdir, 'cp'), ANSIBLE_SSH_RETRIES='0')
    argv = client.nsenter() + [_bin('ansible-playbook'), '-i', inventory, path]
    started = time.time()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise AssertionError('no JSON (rc=%d): %s %s' % (result.returncode, result.stdout, result.stderr))
    data['rc'], data['seconds'] = result.returncode, time.time() - started
    return data


def server_task(data, name):
    for task in data['plays'][0]['tasks']:
        if task['task']['name'] in (name, 'portwarden.ports.host_firewall : ' + name):
            return task['hosts']['server']
    return None


def test_lockout_rolls_back_by_itself_and_the_play_fails(tmp_path):
    sshd = shutil.which('sshd') or '/usr/sbin/sshd'
    assert os.path.exists(sshd), 'sshd is missing: the lockout test needs the Debian package openssh-server'
    with linked_pair(tmp_path) as (server, client, procs):
        d = str(tmp_path / 'ssh')
        os.makedirs(d)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(d, 'host_key')], check=True)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(d, 'client_key')], check=True)
        shutil.copy(os.path.join(d, 'client_key.pub'), os.path.join(d, 'authorized_keys'))
        with open(os.path.join(d, 'sshd_config'), 'w') as handle:
            handle.write(SSHD_CONFIG.format(d=d))
        os.makedirs('/run/sshd', exist_ok=True)   # sshd's privilege separation directory
        procs.append(subprocess.Popen(server.nsenter() + [sshd, '-D', '-e', '-f', os.path.join(d, 'sshd_config')],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for dummy in range(50):
            if server.run(['ss', '-Hltn', 'sport = :2222']).stdout.strip():
                break
            time.sleep(0.1)
        server.write_file(str(tmp_path / 'other.nft'), OTHER_TABLES)
        server.run(['nft', '-f', str(tmp_path / 'other.nft')])
        others = other_tables(server)
        key = os.path.join(d, 'client_key')
        state = str(tmp_path / 'server')

        # 1. Management port kept open: applied over SSH, confirmed over a NEW connection.
        good = role_vars(state, host_firewall_management_ports=[2222], host_firewall_rollback_timeout=6)
        data = controller_playbook(client, str(tmp_path), key, good, 'good')
        assert data['rc'] == 0, json.dumps(data['plays'], indent=1)[-3000:]
        applied = server_task(data, APPLY_TASK)
        assert applied['changed'] is True and applied['confirmed'] is True
        kept = list_table(server, 'inet', 'portwarden')
        assert 'tcp dport 2222 accept comment "management"' in kept
        with open(good['host_firewall_rules_path']) as handle:
            kept_file = handle.read()

        # 2. A change that cuts the management path: the host rolls back by itself, the play fails saying so.
        bad = role_vars(state, host_firewall_management_ports=[22], host_firewall_rollback_timeout=6,
                        portwarden_services=CATALOGUE + [{'name': 'extra', 'port': 8443}])
        data = controller_playbook(client, str(tmp_path), key, bad, 'bad')
        assert data['rc'] != 0
        failed = server_task(data, APPLY_TASK)
        assert failed['failed'] is True and failed['rolled_back'] is True, failed
        assert 'ROLLED BACK' in failed['msg'] and 'restored the previous table' in failed['msg']
        assert failed['rollback_output'] == 'rc=0'
        assert server_task(data, 'reachable after') is None   # the play stopped at the failure
        assert data['seconds'] < 90   # bounded: the action plugin gives up, it does not hang
        # The host is back on the previous table, file untouched, other tables identical.
        assert list_table(server, 'inet', 'portwarden') == kept
        with open(good['host_firewall_rules_path']) as handle:
            assert handle.read() == kept_file
        assert other_tables(server) == others

        # 3. ...and reachable again over SSH: the good ruleset runs as a no-op.
        data = controller_playbook(client, str(tmp_path), key, good, 'again')
        assert data['rc'] == 0
        assert server_task(data, APPLY_TASK)['changed'] is False
        assert server_task(data, 'reachable after')['ping'] == 'pong'

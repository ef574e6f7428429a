# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet report inputs: real port_info results, recorded once, varied into fleets of any size.

``python benchmarks/report_inputs.py record`` (root) starts one namespace host
per entry of HOSTS, each with its own ephemeral range, reservations and
workload (listeners, held outgoing connections), runs the real
portwarden.ports.port_info on each (the audit's task and arguments) and
writes the results to benchmarks/report_inputs/*.json.

:func:`fleet` turns those records into ``{host: port_info result}`` for N
hosts, deterministically: each host starts from one record, its range end
may move down (the range text, size, headroom and the conflicts' texts
follow), its listener inside the range moves to another port, its load (ports
in use toward the busiest destination) is scaled, and one host in fifty is
unreachable. The render benchmark and the 10,000-host browser test use it.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import random
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = os.path.join(HERE, 'report_inputs')

CATALOGUE = [{'name': 'ssh', 'port': 22}, {'name': 'metrics', 'port': 9100}, {'name': 'grpc', 'port': 50051}]

# name: (range, reserved, TCP listeners, UDP listeners, connections to :9100)
HOSTS = {
    'ok': ('32768 60999', '50051', [22, 9100, 50051], [], 300),
    'drift': ('32768 60999', '50051', [22, 9100], [], 40),
    'conflict': ('32768 60999', '50051', [22, 9100, 45000, 50051], [], 150),
    'service-in-range-busy': ('40000 52047', '', [22, 9100], [], 9000),
    'iana-udp': ('49152 65535', '50051', [22, 9100, 50051], [5353, 60123], 5),
}

WORKLOAD = r'''
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
tcp, udp, clients = [int(p) for p in sys.argv[1].split(',') if p], [int(p) for p in sys.argv[2].split(',') if p], int(sys.argv[3])
keep = []
for port in tcp:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(4096); keep.append(s)
for port in udp:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port)); keep.append(s)
server = keep[tcp.index(9100)]
for dummy in range(clients):
    keep.append(socket.create_connection(("127.0.0.1", 9100)))
    if len(keep) % 2000 == 0:
        server.setblocking(False)
        try:
            while True:
                keep.append(server.accept()[0])
        except BlockingIOError:
            pass
print("up", flush=True)
time.sleep(600)
'''


def record():
    """Run port_info for real on one namespace host per HOSTS entry; write the records."""
    sys.path.insert(0, HERE)
    import benchlib
    tmp = tempfile.mkdtemp(prefix='sflt-rec-')
    os.makedirs(RECORDS, exist_ok=True)
    for name, (erange, reserved, tcp, udp, clients) in sorted(HOSTS.items()):
        host = benchlib.NsHost(tmp)
        workload = None
        try:
            host.set_sysctl('net.ipv4.ip_local_port_range', erange)
            host.set_sysctl('net.ipv4.ip_local_reserved_ports', reserved)
            workload = host.popen([sys.executable, '-c', WORKLOAD, ','.join(map(str, tcp)), ','.join(map(str, udp)),
                                   str(clients)], stdout=__import__('subprocess').PIPE, text=True)
            if workload.stdout.readline().strip() != 'up':
                raise RuntimeError('workload of %s did not start' % name)
            result = host.module('portwarden.ports.port_info', {'processes': True, 'services': CATALOGUE, 'top': 5},
                                 diff=False)
            if result.get('failed'):
                raise RuntimeError('port_info failed on %s: %s' % (name, result.get('msg')))
            kept = dict((k, v) for k, v in result.items() if k not in ('rc', 'changed', 'action', 'invocation'))
            with open(os.path.join(RECORDS, name + '.json'), 'w') as handle:
                json.dump(kept, handle, indent=1, sort_keys=True)
                handle.write('\n')
            sys.stderr.write('recorded %s: %d conflicts, %d listeners, %s ports in use\n' % (
                name, len(kept['conflicts']), len(kept['listeners']), kept['usage']['ports_in_use']))
        finally:
            if workload is not None:
                workload.kill()
                workload.wait()
            host.close()


def records():
    out = []
    for path in sorted(glob.glob(os.path.join(RECORDS, '*.json'))):
        with open(path) as handle:
            out.append(json.load(handle))
    if not out:
        raise RuntimeError('no recorded port_info results in %s: run "python %s record" as root' % (RECORDS, __file__))
    return out


LISTENER_OFFSETS = (0, 2232, 7232, 9000, 11000, 12232)


def _retext(item, old, new):
    """Replace text fragments (ranges, ports) in every string of a conflict."""
    for key, value in list(item.items()):
        if isinstance(value, str):
            for a, b in zip(old, new):
                value = value.replace(a, b)
            item[key] = value


def _vary(result, rng):
    result = copy.deepcopy(result)
    erange = result['ephemeral_range']
    start, end = erange['start'], erange['end']
    usage = result['usage']
    inside = [c for c in result['conflicts'] if c['type'] == 'listener_in_range']
    # The listener inside the range moves to one of a few other ports of the range (the same software on many
    # hosts listens on the same port).
    for conflict in inside:
        old_port = conflict['port']
        new_port = start + rng.choice(LISTENER_OFFSETS)
        for item in result['listeners']:
            if item['port'] == old_port:
                item['port'] = new_port
        for item in result['conflicts']:
            if item.get('port') == old_port and item['type'] in ('listener_in_range', 'listener_not_declared'):
                _retext(item, [str(old_port)], [str(new_port)])
                item['port'] = new_port
                if 'reserve' in item:
                    item['reserve'] = [new_port]
        old_port = new_port
    # The range end moves down by 0-3 thousand ports where no conflict port crosses it.
    ports = [int(c['port']) for c in result['conflicts'] if str(c.get('port', '')).isdigit()
             and start <= int(c['port']) <= end]
    new_end = end - 1000 * rng.randrange(0, 4)
    if ports and max(ports) >= new_end:
        new_end = end
    if new_end != end:
        size = new_end - start + 1
        old_text, new_text = '%d-%d' % (start, end), '%d-%d' % (start, new_end)
        for item in result['conflicts']:
            _retext(item, [old_text, '(%d ports' % erange['size']], [new_text, '(%d ports' % size])
            if 'suggested_range' in item and item['suggested_range']['end'] > new_end:
                item['suggested_range']['end'] = new_end - 1
        erange.update(end=new_end, size=size)
        usage['usable_ports'] += size - usage['range_size']
        usage['range_size'] = size
        usage['sustainable_rate'] = round(usage['usable_ports'] / float(usage['time_wait_seconds']), 2)
    # The load: ports in use toward the busiest destination scaled by 0.2-3x (at most the usable ports).
    factor = rng.choice((0.2, 0.5, 1, 1, 1.5, 3))
    total = 0
    for busiest in usage['busiest']:
        used = min(usage['usable_ports'] - 1, max(1, int(busiest['ports_in_use'] * factor)))
        busiest['ports_in_use'] = used
        busiest['utilization_percent'] = round(100.0 * used / usage['usable_ports'], 2)
        busiest['headroom_rate'] = round((usage['usable_ports'] - used) / float(usage['time_wait_seconds']), 2)
        busiest['sustainable_rate'] = usage['sustainable_rate']
        total += used
    usage['ports_in_use'] = min(usage['usable_ports'], total + 1)
    usage['utilization_percent'] = round(100.0 * usage['ports_in_use'] / usage['usable_ports'], 2)
    return result


def fleet(count, seed=17):
    """``{host name: port_info result}`` for ``count`` hosts varied from the records."""
    rng = random.Random(seed)
    base = records()
    hosts = {}
    for index in range(count):
        name = 'node-%05d.dc%d.example' % (index + 1, index % 3 + 1)
        if index % 50 == 49:
            hosts[name] = {'unreachable': True, 'msg': 'Failed to connect to the host via ssh: timed out', 'changed': False}
            continue
        hosts[name] = _vary(base[rng.randrange(len(base))], rng)
    return hosts


if __name__ == '__main__':
    if sys.argv[1:] != ['record']:
        sys.exit('usage: %s record' % sys.argv[0])
    record()

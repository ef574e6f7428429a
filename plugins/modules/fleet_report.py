#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Render the fleet's port_info results as a JSON, Markdown and HTML report
version_added: 0.1.0
description:
  - Takes the M(portwarden.ports.port_info) results of many hosts and writes one report on the controller, in
    O(dest) - C(report.json), C(report.md), C(report.html) and C(summary.txt) (see O(formats)).
  - The summary table of the fleet has, per host, the ephemeral range and its size, the reservations, the conflicts and
    drift findings, the busiest destination and the headroom in new connections per second.
  - The HTML page is one self-contained file (inline CSS, SVG and script, no external asset; its Content-Security-Policy
    allows nothing else) that reads at any fleet size. It opens with the fleet - counts by status, the distribution of
    range utilization and of headroom as histograms, the ephemeral ranges in use, the conflicts and drift grouped by kind
    (the same conflict on 800 hosts is one line with the count and the hosts) - then lists the hosts with problems first,
    filtered by status or by a finding and searched by name. Opening a host draws its port space - the well-known,
    registered and dynamic bands, the ephemeral range, the reserved ports, the listeners, the conflicts highlighted - with
    its findings, busiest destinations and listeners. Every value is escaped (the HTML template is rendered with
    autoescaping, the hosts' data is JSON escaped for a script element and drawn as text nodes, the Markdown escapes
    every value).
  - O(merge) folds the C(report.json) of earlier runs into this report (AWX job slices, several controllers, several days
    of one fleet); the report of merged slices equals the report of one run over all their hosts, host for host.
  - Hosts without a result (unreachable, failed) are listed as V(no-data).
  - This is an action plugin; it runs on the controller only and never connects to the target. Run it once, for example
    with C(run_once=true) and C(delegate_to=localhost) on the task.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: Runs entirely on the controller.
  check_mode:
    support: full
    details: Renders the report and tells whether a file would change, without writing.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
    details: The controller's file system; the target is not used.
  idempotent:
    support: partial
    details: The report carries the time it was generated, so each run rewrites the files.
options:
  hosts:
    description:
      - The fleet's results, a dictionary of inventory host name to the registered result of M(portwarden.ports.port_info)
        (ideally run with O(portwarden.ports.port_info#module:services) and O(portwarden.ports.port_info#module:processes=true)).
      - A host whose value is null, failed or unreachable is reported as V(no-data), with the error message when there is one.
      - At least one of O(hosts) and O(merge) is required.
    type: dict
  merge:
    description:
      - Paths on the controller of C(report.json) files written by earlier runs of this action (job slices, other
        controllers, earlier days); their hosts are added to the report, with or without O(hosts) of its own.
      - A host present in more than one input keeps its newest result, by the time it was collected (a run's own O(hosts)
        are the newest; on a tie the later path in the list wins). Its entry says so - C(collected), C(source) (the file
        it came from, null for this run's own), C(superseded) (the results it replaced) in C(report.json), and a line in its
        detail in C(report.html).
      - A relative path is relative to the directory C(ansible-playbook) runs in.
      - At least one of O(hosts) and O(merge) is required.
    type: list
    elements: path
  dest:
    description:
      - Directory on the controller to write the report into; created when missing.
      - A relative path is relative to the directory C(ansible-playbook) runs in.
    type: path
    default: portwarden-report
  title:
    description:
      - Title of the report.
    type: str
    default: Port space of the fleet
  formats:
    description:
      - Which files to write. V(json) is C(report.json), V(md) is C(report.md), V(html) is C(report.html), V(txt) is
        C(summary.txt) (the summary table as text).
    type: list
    elements: str
    choices: [json, md, html, txt]
    default: [json, md, html, txt]
notes:
  - The files are written atomically (a temporary file in O(dest), then renamed).
seealso:
  - module: portwarden.ports.port_info
  - name: Running portwarden at scale
    description: The enforce and audit playbooks, forks, serial and AWX (docs/fleet.md in the collection).
    link: https://github.com/portwarden/ports/blob/main/docs/fleet.md
"""

EXAMPLES = r"""
- name: Read every host
  portwarden.ports.port_info:
    processes: true
    services: "{{ portwarden_services | default([]) }}"
  register: audit

- name: Write one report on the controller
  portwarden.ports.fleet_report:
    hosts: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars) | map(attribute='audit', default=None))) }}"
    dest: /srv/reports/ports
    title: Port space of production
  run_once: true
  delegate_to: localhost
  register: report

- name: Show the summary table
  ansible.builtin.debug:
    var: report.table
  run_once: true

- name: Merge the reports of two job slices into one
  portwarden.ports.fleet_report:
    merge:
      - /srv/reports/ports/slice-1/report.json
      - /srv/reports/ports/slice-2/report.json
    dest: /srv/reports/ports/fleet
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: Absolute path of the report directory.
  returned: success
  type: str
  sample: /srv/reports/ports
files:
  description: Path of each file of the report, by format.
  returned: success
  type: dict
  sample: {"json": "/srv/reports/ports/report.json", "md": "/srv/reports/ports/report.md",
           "html": "/srv/reports/ports/report.html", "txt": "/srv/reports/ports/summary.txt"}
written:
  description: The files written by this task (empty in check mode).
  returned: success
  type: list
  elements: str
  sample: ["/srv/reports/ports/report.html"]
fleet:
  description: Counts over the fleet.
  returned: success
  type: dict
  contains:
    hosts:
      description: Number of hosts in the report.
      type: int
      sample: 3
    ok:
      description: Hosts without conflicts or drift.
      type: int
      sample: 2
    drift:
      description: Hosts with drift from the catalogue but no conflict.
      type: int
      sample: 0
    conflict:
      description: Hosts with at least one conflict.
      type: int
      sample: 1
    no_data:
      description: Hosts without a port_info result.
      type: int
      sample: 0
    conflicts:
      description: Conflicts in the fleet (listeners or declared services inside the ephemeral range, unreserved).
      type: int
      sample: 1
    drift_findings:
      description: Drift findings in the fleet (declared services not listening, listeners not declared).
      type: int
      sample: 1
    reserved_ports:
      description: Reserved ports, summed over the hosts.
      type: int
      sample: 6
    listeners:
      description: Listeners, summed over the hosts.
      type: int
      sample: 12
    ranges:
      description: The distinct ephemeral ranges in the fleet.
      type: list
      elements: str
      sample: ["32768-60999"]
    lowest_headroom:
      description: The host whose busiest destination has the fewest sustainable new connections per second; null without data.
      type: dict
      sample: {"host": "web2", "rate": 455.2, "text": "455/s", "destination": "127.0.0.1:9100 (1,200 ports, 4.25%)"}
    merged:
      description: The report.json files merged in (O(merge), absolute paths).
      type: list
      elements: str
      sample: ["/srv/reports/ports/slice-1/report.json"]
    superseded:
      description: Hosts present in more than one input, which kept their newest result.
      type: int
      sample: 0
summary:
  description: The summary table, one row per host.
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: Inventory name.
      type: str
    status:
      description: V(ok), V(drift), V(conflict) or V(no-data).
      type: str
    range:
      description: The ephemeral range, C(start-end).
      type: str
    size:
      description: Ports in the range.
      type: int
    reserved:
      description: Reserved ports, canonical form.
      type: str
    reserved_count:
      description: Number of reserved ports.
      type: int
    conflicts:
      description: Number of conflicts.
      type: int
    drift:
      description: Number of drift findings.
      type: int
    busiest:
      description: The busiest destination, with the ports it uses and its share of the range.
      type: str
    headroom:
      description: Sustainable new connections per second to the busiest destination (to any one destination when there is none).
      type: float
  sample:
    - {"host": "web1", "status": "ok", "range": "32768-60999", "size": 28232, "reserved": "45000", "reserved_count": 1,
       "conflicts": 0, "drift": 0, "busiest": "127.0.0.1:9100 (300 ports, 1.06%)", "headroom": 465.5}
table:
  description: The summary table as fixed-width text lines, followed by a one-line total.
  returned: success
  type: list
  elements: str
  sample: ["HOST  STATUS  RANGE        SIZE    RESERVED  CONFLICTS  DRIFT  BUSIEST DESTINATION  HEADROOM",
           "web1  ok      32768-60999  28,232  45000     0          0      -                    471/s"]
"""

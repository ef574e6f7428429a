# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Demo workload inside a fleet container (copied in by demo/run.sh).

  pw-workload serve PORT [PORT...]        listen on the ports, accept and hold connections
  pw-workload connect HOST PORT COUNT     open COUNT connections to HOST:PORT and hold them

Only loopback traffic inside the container's own network namespace.
"""

from __future__ import annotations

import socket
import sys
import threading
import time


def serve(ports):
    held = []

    def accept_forever(listener):
        while True:
            try:
                conn, dummy = listener.accept()
            except OSError:  # out of file descriptors: keep listening, retry later
                time.sleep(0.5)
                continue
            held.append(conn)

    for port in ports:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('0.0.0.0', port))
        listener.listen(1024)
        threading.Thread(target=accept_forever, args=(listener,), daemon=True).start()
    while True:
        time.sleep(3600)


def connect(host, port, count):
    held = []
    for dummy in range(count):
        held.append(socket.create_connection((host, port), timeout=5))
    print('connected %d' % len(held), flush=True)
    while True:
        time.sleep(3600)


def main(argv):
    if len(argv) >= 2 and argv[0] == 'serve':
        serve([int(p) for p in argv[1:]])
    elif len(argv) == 4 and argv[0] == 'connect':
        connect(argv[1], int(argv[2]), int(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])

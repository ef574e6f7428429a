#!/usr/bin/env bash
# make demo: a local fleet of three podman hosts, enforce the port policy, audit it, report.
#
#   bash demo/run.sh                 build images if missing, start the fleet, preview (--check --diff),
#                                    enforce, add client traffic, audit, print the summary, clean up
#   PW_DEMO_KEEP=1 bash demo/run.sh  keep the fleet running afterwards (remove it with make demo-clean)
#
# The fleet: debian12-a and debian12-b (Debian 12) and debian13-c (Debian 13),
# privileged containers with --network none (only loopback: the host's network
# and firewall are never touched). They start with three different ephemeral
# ranges; debian13-c also runs an undeclared service on port 45000, inside its
# range: the planted conflict that the audit must find. The policy is in
# demo/group_vars/all.yml. The report goes to demo/output/report/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
venv="${VENV:-$root/.venv}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/tests/images/containers.conf}"
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_NOCOWS=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_DEPRECATION_WARNINGS=0
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
export PATH="$venv/bin:$PATH"

# PW_DEMO_RUN_ID names the run (letters, digits, '-'; part of every container name), random by default.
run_id="${PW_DEMO_RUN_ID:-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
export PW_DEMO_RUN="$run_id"
label="org.portwarden.demo=$run_id"
out="$root/demo/output"
report="$out/report"
mkdir -p "$out"
t0=$(date +%s)

step() { printf '\n\033[1m==> %s\033[0m  (%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "the demo needs root (privileged podman containers)"
for tool in podman ansible-playbook python3; do
  command -v "$tool" >/dev/null || die "'$tool' is missing: run make deps (make demo does)"
done
link="$ANSIBLE_COLLECTIONS_PATH/ansible_collections/portwarden/ports"
if [ ! -e "$link" ]; then mkdir -p "$(dirname "$link")"; ln -sfn "$root" "$link"; fi

cleanup() {
  local rc=$?
  if [ "${PW_DEMO_KEEP:-0}" = 1 ]; then
    printf '\nThe fleet is still running (PW_DEMO_KEEP=1): make demo-clean removes it.\n'
  else
    step "Removing the fleet"
    bash "$here/clean.sh" "$run_id" || true
  fi
  exit "$rc"
}
trap cleanup EXIT

step "Images (built once with tests/images/build.sh, reused afterwards)"
bash "$root/tests/images/build.sh" 12 13

step "Starting the fleet (run $run_id)"
# name  image  starting ephemeral range
fleet=(
  "a 12 32768 60999"
  "b 12 10000 59999"
  "c 13 40000 49999"
)
for spec in "${fleet[@]}"; do
  read -r name release start end <<<"$spec"
  podman run -d --privileged --network none --label "$label" --env PW_SSHD=1 \
    --name "pw-demo-$run_id-$name" --hostname "debian$release-$name" \
    --sysctl "net.ipv4.ip_local_port_range=$start $end" \
    "localhost/portwarden-debian:$release" >/dev/null
  podman cp "$here/workload.py" "pw-demo-$run_id-$name:/usr/local/bin/pw-workload"
  # The services of the catalogue (ssh is started by the image's init).
  podman exec -d "pw-demo-$run_id-$name" python3 /usr/local/bin/pw-workload serve 9100 50051
  printf '  %-12s Debian %s  starting range %s-%s\n' "debian$release-$name" "$release" "$start" "$end"
done
# The planted conflict: a service nobody declared, listening inside debian13-c's range.
podman exec -d "pw-demo-$run_id-c" python3 -m http.server --bind 0.0.0.0 45000
printf '  %-12s planted: python3 -m http.server on 45000 (inside 40000-49999, not in the catalogue)\n' debian13-c

wait_port() {  # container port
  local _
  for _ in $(seq 1 50); do
    if podman exec "$1" python3 -c "import socket; socket.create_connection(('127.0.0.1', $2), 1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  die "nothing listens on port $2 in $1"
}
for name in a b c; do
  for port in 22 9100 50051; do wait_port "pw-demo-$run_id-$name" "$port"; done
done
wait_port "pw-demo-$run_id-c" 45000

cd "$root"
inventory=(-i "$here/inventory.yml")

step "Preview: ansible-playbook portwarden.ports.enforce --check --diff"
ansible-playbook "${inventory[@]}" portwarden.ports.enforce --check --diff

step "Enforce: ansible-playbook portwarden.ports.enforce"
ansible-playbook "${inventory[@]}" portwarden.ports.enforce

step "Enforce again, rolling (serial 1 then the rest): nothing left to change"
ansible-playbook "${inventory[@]}" portwarden.ports.enforce -e '{"portwarden_serial": [1, "100%"]}' | tee "$out/enforce-again.log"
if ! grep -Eq '^debian12-a +: .*changed=0 ' "$out/enforce-again.log" \
   || ! grep -Eq '^debian12-b +: .*changed=0 ' "$out/enforce-again.log" \
   || ! grep -Eq '^debian13-c +: .*changed=0 ' "$out/enforce-again.log"; then
  die "the second enforce run changed something (see $out/enforce-again.log)"
fi

step "Some client traffic (held connections to the metrics port)"
# Each container allows 1024 open files per process (tests/images/containers.conf).
for spec in "a 300" "b 900" "c 80"; do
  read -r name count <<<"$spec"
  podman exec -d "pw-demo-$run_id-$name" python3 /usr/local/bin/pw-workload connect 127.0.0.1 9100 "$count"
done
sleep 2

step "Audit: ansible-playbook portwarden.ports.audit"
rm -rf "$report"
# In batches of two hosts (serial), three forks: the report still covers every batch.
ansible-playbook "${inventory[@]}" portwarden.ports.audit -f 3 -e portwarden_serial=2 -e "portwarden_report_dir=$report" \
  -e "portwarden_report_title='Port space of the demo fleet'"

step "Checking the report"
python3 - "$report/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
hosts = {h['name']: h for h in report['hosts']}
problems = []
if sorted(hosts) != ['debian12-a', 'debian12-b', 'debian13-c']:
    problems.append('hosts in the report: %s' % sorted(hosts))
for name, host in sorted(hosts.items()):
    if host['status'] == 'no-data':
        problems.append('%s: no data (%s)' % (name, host.get('error')))
        continue
    if host['range_text'] != '32768-60999':
        problems.append('%s: range %s, expected 32768-60999 after enforce' % (name, host['range_text']))
    if '50051' not in host['reserved']['ports']:
        problems.append('%s: grpc 50051 not reserved (%s)' % (name, host['reserved']['ports']))
    ports = sorted(c['port'] for c in host['conflicts'])
    expected = [45000] if name == 'debian13-c' else []
    if ports != expected:
        problems.append('%s: conflicts on %s, expected %s' % (name, ports, expected))
if problems:
    sys.exit('demo check FAILED:\n  ' + '\n  '.join(problems))
print('demo check: every host on 32768-60999 with 50051 reserved; the planted conflict (debian13-c, 45000) found.')
PY

step "Fleet summary"
cat "$report/summary.txt"
printf '\nReport: %s\n        %s (Markdown), %s (JSON)\n' "$report/report.html" "$report/report.md" "$report/report.json"
printf 'Demo wall time: %ss\n' "$(( $(date +%s) - t0 ))"

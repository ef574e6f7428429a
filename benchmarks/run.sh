#!/usr/bin/env bash
# make bench: every benchmark of benchmarks/, side by side with the alternatives.
#
#   bash benchmarks/run.sh                       all of them (5 minutes on an idle 2-core machine, up to 16 under heavy load)
#   bash benchmarks/run.sh task_floor fleet_nochange   only these (file names without .py)
#
# Needs root (network namespaces, nftables, privileged podman containers).
# Sets up what it needs (make deps: apt packages, the venv, the collection
# link) unless PW_BENCH_NO_DEPS=1. Each benchmark prints its Markdown section;
# they are collected in .build/bench/RESULTS.md, raw figures in .build/bench/*.json.
# benchmarks/RESULTS.md holds a reviewed copy of a run with the findings.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/.build/bench"

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "the benchmarks need root (network namespaces, nftables, podman)"

if [ "${PW_BENCH_NO_DEPS:-0}" != 1 ]; then
  make -s -C "$root" deps || die "make deps failed"
fi
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/tests/images/containers.conf}"
export ANSIBLE_NOCOWS=1 PYTHONDONTWRITEBYTECODE=1
py="$root/.venv/bin/python"
[ -x "$py" ] || die "$py is missing: run make deps"
for tool in nft iptables-legacy-restore unshare nsenter taskset podman; do
  command -v "$tool" >/dev/null || die "'$tool' is missing: run make deps"
done

# The order: cheapest first. port_info_sockets is written separately and may be absent.
all=(task_floor firewall_scale port_info_sockets fleet_nochange report_render fleet_scale)
if [ $# -gt 0 ]; then selected=("$@"); else selected=("${all[@]}"); fi

mkdir -p "$out"
results="$out/RESULTS.md"
{
  printf '# Benchmark run\n\n'
  printf 'Started %s on %s (nproc %s, %s, kernel %s).\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(hostname)" "$(nproc)" \
    "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)" "$(uname -r)"
} >"$results"

failed=()
t_all=$(date +%s)
for name in "${selected[@]}"; do
  script="$here/$name.py"
  if [ ! -f "$script" ]; then
    if [ "$name" = port_info_sockets ]; then
      printf '\n==> %s: not there yet, skipped\n' "$name"
      continue
    fi
    die "no such benchmark: $script"
  fi
  printf '\n==> %s\n' "$name"
  t0=$(date +%s)
  if "$py" "$script" >"$out/$name.md"; then
    cat "$out/$name.md"
    { cat "$out/$name.md"; printf '\n'; } >>"$results"
    printf '(%s: %ss)\n' "$name" "$(( $(date +%s) - t0 ))"
  else
    failed+=("$name")
    cat "$out/$name.md"
    printf '%s FAILED after %ss\n' "$name" "$(( $(date +%s) - t0 ))" >&2
    printf '## %s\n\nFAILED (see the run output).\n\n' "$name" >>"$results"
  fi
done

printf '\nAll benchmarks: %ss. Sections: %s; raw figures: %s/*.json\n' "$(( $(date +%s) - t_all ))" "$results" "$out"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'bench: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi

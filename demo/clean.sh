#!/usr/bin/env bash
# make demo-clean: remove the demo fleet's containers (every run, or the one given).
#
#   bash demo/clean.sh          remove the containers of every demo run
#   bash demo/clean.sh RUN_ID   remove one run's containers
#
# Only containers carrying the demo's label are touched; the images are kept
# (tests/images/build.sh reuses them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/tests/images/containers.conf}"

if ! command -v podman >/dev/null; then
  echo "demo-clean: podman is not installed, nothing to clean"
  exit 0
fi
if [ $# -gt 0 ]; then
  filter="label=org.portwarden.demo=$1"
else
  filter="label=org.portwarden.demo"
fi
mapfile -t ids < <(podman ps -a --filter "$filter" --format '{{.ID}}')
if [ ${#ids[@]} -eq 0 ]; then
  echo "demo-clean: no demo containers"
  exit 0
fi
podman rm -f -t 0 "${ids[@]}" >/dev/null
echo "demo-clean: removed ${#ids[@]} container(s)"

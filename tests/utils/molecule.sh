#!/usr/bin/env bash
# Run every Molecule scenario under molecule/ (each directory with a
# molecule.yml), one after the other, on the local podman images.
#
#   bash tests/utils/molecule.sh              every scenario
#   bash tests/utils/molecule.sh default      only these scenarios
#
# Builds the images first when they are missing (tests/images/build.sh).
# Each run gets its own id (PW_MOLECULE_ID, part of every container name) and
# its own Molecule state directory, so parallel runs do not collide. Fails when
# any scenario fails; every scenario runs regardless, and a summary with the
# time of each is printed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export PATH="$root/.venv/bin:$PATH"
export CONTAINERS_CONF="$root/tests/images/containers.conf"
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
export ANSIBLE_NOCOWS=1
export PW_MOLECULE_ID="${PW_MOLECULE_ID:-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
[ -t 1 ] || export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0

link="$ANSIBLE_COLLECTIONS_PATH/ansible_collections/portwarden/ports"
[ -e "$link" ] || { echo "molecule.sh: $link is missing: run make deps" >&2; exit 1; }
command -v molecule >/dev/null || { echo "molecule.sh: molecule is not installed: run make deps" >&2; exit 1; }

bash "$root/tests/images/build.sh"

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  scenarios=()
  for file in molecule/*/molecule.yml; do
    [ -e "$file" ] && scenarios+=("$(basename "$(dirname "$file")")")
  done
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "molecule.sh: no scenario under molecule/" >&2; exit 1; }
# A scenario on an image variant names build.sh's arguments in molecule/NAME/image.args
# (for example "--variant systemd --packages prometheus-node-exporter --tag 12-systemd-metrics 12").
for name in "${scenarios[@]}"; do
  if [ -f "molecule/$name/image.args" ]; then
    read -r -a image_args <"molecule/$name/image.args"
    bash "$root/tests/images/build.sh" "${image_args[@]}"
  fi
done

state="$root/.build/molecule/$PW_MOLECULE_ID"

# Whatever an interrupted run left behind: this run's containers and
# networks only (their names end in the run id).
cleanup() {
  local name
  podman ps -a --format '{{.Names}}' | while read -r name; do
    case "$name" in pw-*-"$PW_MOLECULE_ID") podman rm -f -t 0 "$name" >/dev/null 2>&1 || true ;; esac
  done
  podman network ls --format '{{.Name}}' | while read -r name; do
    case "$name" in pw-*-"$PW_MOLECULE_ID") podman network rm -f "$name" >/dev/null 2>&1 || true ;; esac
  done
  rm -rf "$state"
}
trap cleanup EXIT
failed=()
summary=()
for name in "${scenarios[@]}"; do
  dir="molecule/$name"
  if [ ! -f "$dir/molecule.yml" ]; then
    echo "molecule.sh: no scenario '$name' (no $dir/molecule.yml)" >&2
    failed+=("$name"); summary+=("$name: missing"); continue
  fi
  # Molecule only warns about a missing playbook; here a scenario without a
  # converge or a verify is an error.
  missing=""
  for playbook in converge.yml verify.yml; do
    [ -f "$dir/$playbook" ] || missing+=" $playbook"
  done
  if [ -n "$missing" ]; then
    echo "molecule.sh: scenario '$name' lacks$missing" >&2
    failed+=("$name"); summary+=("$name: lacks$missing"); continue
  fi
  echo "=== molecule test -s $name (run $PW_MOLECULE_ID)"
  start=$(date +%s)
  if MOLECULE_EPHEMERAL_DIRECTORY="$state/$name" molecule test -s "$name"; then
    result=passed
  else
    result=FAILED
    failed+=("$name")
  fi
  summary+=("$name: $result in $(( $(date +%s) - start )) s")
done

echo "=== molecule summary (run $PW_MOLECULE_ID)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule.sh: failed: ${failed[*]}" >&2
  exit 1
fi

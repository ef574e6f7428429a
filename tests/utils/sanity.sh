#!/usr/bin/env bash
# ansible-test sanity, offline. ansible-test needs the collection at a path
# ending in ansible_collections/portwarden/ports, so the tracked and new
# (not ignored) files are copied there first.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.build"
base=$(mktemp -d "$root/.build/sanity.XXXXXX")
trap 'rm -rf "$base"' EXIT
work="$base/ansible_collections/portwarden/ports"
pyver=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pipver=$(python - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
import sys, types
print(get_venv_packages(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"])
PY
) || pipver=24.2
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cp "$root/tests/utils/get_pip_standin.py" "$cache/get_pip_${pipver//./_}.py"

mkdir -p "$work"
cd "$root"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | rsync -a --from0 --files-from=- ./ "$work/"
cd "$work"
git init -q . && git add -A >/dev/null
ansible-test sanity --requirements --python "$pyver" --color no "$@"

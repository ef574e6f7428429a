#!/usr/bin/env bash
# Build the local podman images the tests, the Molecule scenarios and the demo
# run on: localhost/portwarden-debian:12 (bookworm) and :13 (trixie).
#
#   bash tests/images/build.sh            build the images that are missing or stale
#   bash tests/images/build.sh --force    rebuild them all
#   bash tests/images/build.sh 13         only one release (12, 13 or a list)
#   bash tests/images/build.sh --variant systemd --packages firewalld,ufw --tag 12-firewalld 12
#                                         a variant with systemd as PID 1 (/sbin/init) plus extra packages,
#                                         as localhost/portwarden-debian:TAG (default tag: RELEASE-systemd)
#
# No image registry is reachable from these machines, so each image is a
# debootstrap (minbase) tree imported with `podman import`. debootstrap uses
# the Debian mirror this machine's apt already uses (read from the apt
# sources at run time); PORTWARDEN_DEBIAN_MIRROR overrides it.
#
# An image is reused when it exists and carries the label of the current
# recipe (package list + set-up steps); a changed recipe rebuilds it.
set -euo pipefail

die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'build.sh: %s\n' "$*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"

# PORTWARDEN_IMAGE_REPO builds under another name (to try a change to this
# script without replacing the images other runs use).
repo_name="${PORTWARDEN_IMAGE_REPO:-localhost/portwarden-debian}"
case "$repo_name" in localhost/*) ;; *) die "PORTWARDEN_IMAGE_REPO must start with localhost/" ;; esac
# Packages on top of minbase. Targets need python3 (Ansible), iproute2,
# nftables, procps (sysctl, ps) and openssh-server; peers in the firewall
# scenarios probe targets with nmap, nc and ping.
packages=python3,iproute2,nftables,openssh-server,procps,nmap,netcat-openbsd,iputils-ping
recipe_version=1   # bump when the set-up steps below change

declare -A suite_of=([12]=bookworm [13]=trixie)

force=0
releases=()
variant=""
extra_packages=""
tag=""
while [ $# -gt 0 ]; do
  arg=$1; shift
  case "$arg" in
    --force) force=1 ;;
    --variant) variant=${1:-}; shift || true
               [ "$variant" = systemd ] || die "unknown variant '$variant' (allowed: systemd)" ;;
    --packages) extra_packages=${1:-}; shift || true
                [[ "$extra_packages" =~ ^[a-z0-9.+-]+(,[a-z0-9.+-]+)*$ ]] || die "--packages: expected a comma-separated package list, got '$extra_packages'" ;;
    --tag) tag=${1:-}; shift || true
           [[ "$tag" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "--tag: invalid tag '$tag'" ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) [ -n "${suite_of[$arg]:-}" ] || die "unknown release '$arg' (allowed: ${!suite_of[*]})"
       releases+=("$arg") ;;
  esac
done
[ ${#releases[@]} -gt 0 ] || releases=(12 13)
if [ -n "$variant" ]; then
  [ ${#releases[@]} -eq 1 ] || die "--variant builds one release: name it (12 or 13)"
  # systemd as init, D-Bus, and what the variant's user asked for.
  packages="$packages,systemd,systemd-sysv,dbus"
  tag=${tag:-${releases[0]}-$variant}
elif [ -n "$extra_packages$tag" ]; then
  die "--packages and --tag go with --variant"
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap and podman import need root"
for tool in debootstrap podman tar flock python3; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (make deps installs it)"
done

[ -f "$CONTAINERS_CONF" ] || die "CONTAINERS_CONF=$CONTAINERS_CONF does not exist"
podman info >/dev/null 2>&1 || die "podman does not work: run 'CONTAINERS_CONF=$CONTAINERS_CONF podman info'"

# The recipe label: what the image was built from. Any change rebuilds.
recipe=$( { echo "$packages"; echo "$recipe_version"; sed -n '/^setup_tree()/,/^}/p' "$0";
            [ -z "$variant" ] || { echo "$extra_packages"; sed -n '/^setup_systemd()/,/^}/p' "$0"; }; } \
          | sha256sum | cut -c1-16)

# ------------------------------------------------------------------ mirror
# The first enabled `deb` source whose suite is this host's own release
# (e.g. "bookworm", not "bookworm-security"): that is the Debian archive
# mirror apt uses here. One-line (.list) and deb822 (.sources) formats.
find_mirror() {
  python3 - <<'PY'
import glob, os, re, sys

codename = ""
with open("/etc/os-release") as f:
    for line in f:
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip().strip('"')
if not codename:
    sys.exit("cannot read VERSION_CODENAME from /etc/os-release")

entries = []  # (uri, suites)

def one_line(path):
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line.startswith("deb "):
                continue
            line = re.sub(r"\[[^]]*\]", " ", line)
            words = line.split()
            if len(words) >= 3:
                entries.append((words[1], [words[2]]))

def deb822(path):
    with open(path) as f:
        text = f.read()
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in para.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            entries.append((uri, fields.get("suites", "").split()))

if os.path.exists("/etc/apt/sources.list"):
    one_line("/etc/apt/sources.list")
for path in sorted(glob.glob("/etc/apt/sources.list.d/*")):
    if path.endswith(".list"):
        one_line(path)
    elif path.endswith(".sources"):
        deb822(path)

for uri, suites in entries:
    if codename in suites and re.match(r"(https?|file)://", uri):
        print(uri.rstrip("/"))
        sys.exit(0)
sys.exit("no enabled 'deb' source for suite %r in /etc/apt/sources.list(.d); "
         "set PORTWARDEN_DEBIAN_MIRROR to a Debian mirror URL" % codename)
PY
}

mirror="${PORTWARDEN_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(find_mirror) || die "cannot find the Debian mirror apt uses"
fi

# apt's own proxy setting, if any, for debootstrap's downloads.
if [ -z "${http_proxy:-}" ]; then
  proxy=$(apt-config dump Acquire::http::Proxy 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p')
  [ -n "$proxy" ] && [ "$proxy" != DIRECT ] && export http_proxy="$proxy"
fi

# ------------------------------------------------------------------ tree
# Steps applied to the debootstrap tree before import. Part of the recipe.
setup_tree() {
  local dir=$1
  # Host keys are per container: generated when sshd first starts.
  rm -f "$dir"/etc/ssh/ssh_host_*
  : >"$dir/etc/machine-id"
  # Packages installed in a container never start services.
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
  cat >"$dir/usr/local/sbin/pw-sshd" <<'EOF'
#!/bin/sh
# Start sshd in this container. Its host key (ed25519 only: made in a few
# milliseconds) is generated on first start, so each container has its own.
# sshd listens before this returns.
set -e
key=/etc/ssh/ssh_host_ed25519_key
[ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -f "$key"
mkdir -p /run/sshd
exec /usr/sbin/sshd -h "$key" "$@"
EOF
  cat >"$dir/usr/local/sbin/pw-init" <<'EOF'
#!/bin/sh
# PID 1 of a test container: waits until stopped, answers SIGTERM at once.
# PW_SSHD=1 starts sshd first.
if [ "${PW_SSHD:-0}" = 1 ]; then /usr/local/sbin/pw-sshd; fi
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
EOF
  chmod 0755 "$dir/usr/local/sbin/pw-sshd" "$dir/usr/local/sbin/pw-init"
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
         "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
}

# The systemd variant: /sbin/init as PID 1 in a privileged container. Units that need a console or real
# hardware are masked; sshd makes its host keys before it starts (each container has its own).
setup_systemd() {
  local dir=$1 unit
  # The extra packages through apt in the tree (debootstrap's own resolver cannot configure some of them, such as
  # polkitd for firewalld); policy-rc.d keeps their daemons from starting in the chroot.
  if [ -n "$extra_packages" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 0755 "$dir/usr/sbin/policy-rc.d"
    mount -t proc proc "$dir/proc"
    chroot "$dir" apt-get update -qq >/dev/null
    # shellcheck disable=SC2046
    DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get install -y -qq --no-install-recommends $(tr , ' ' <<<"$extra_packages") \
      >/dev/null || { umount "$dir/proc"; die "apt-get install of $extra_packages in the image tree failed"; }
    chroot "$dir" apt-get clean
    umount "$dir/proc"
    rm -rf "$dir"/var/lib/apt/lists/*
  fi
  for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
              systemd-firstboot.service systemd-remount-fs.service sys-kernel-debug.mount; do
    ln -sf /dev/null "$dir/etc/systemd/system/$unit"
  done
  mkdir -p "$dir/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$dir/etc/systemd/system/ssh.service.d/portwarden.conf"
  # Daemons start at boot under systemd; policy-rc.d only stops package scripts from starting them.
}

# Unmount anything debootstrap left mounted below DIR, then remove it.
remove_tree() {
  local dir=$1 mnt
  [ -d "$dir" ] || return 0
  awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done
  if awk -v d="$dir" '$5 == d {found=1} END {exit !found}' /proc/self/mountinfo; then
    umount -l "$dir"
  fi
  rm -rf --one-file-system "$dir"
}

build_one() {
  local release=$1 suite=${suite_of[$1]} image="$repo_name:${tag:-$1}"
  local current old_id="" work start
  if podman image exists "$image"; then
    current=$(podman image inspect --format '{{ index .Labels "org.portwarden.recipe" }}' "$image" 2>/dev/null || true)
    if [ "$force" = 0 ] && [ "$current" = "$recipe" ]; then
      log "$image is up to date (recipe $recipe), reused"
      return 0
    fi
    old_id=$(podman image inspect --format '{{ .Id }}' "$image")
    log "$image is stale (recipe '${current:-none}', want $recipe) or --force: rebuilding"
  fi

  start=$(date +%s)
  work=$(mktemp -d /var/tmp/pw-image-"${tag:-$release}".XXXXXX)
  # shellcheck disable=SC2064
  trap "remove_tree '$work'" EXIT
  # The tree is built in memory: dpkg's many fsyncs then cost nothing.
  # PORTWARDEN_BUILD_TMPFS=0 builds on disk instead.
  if [ "${PORTWARDEN_BUILD_TMPFS:-1}" = 1 ]; then
    mount -t tmpfs -o size=2g,mode=0755 pw-image-build "$work" || die "cannot mount a tmpfs on $work"
  fi
  local cache="$root/.build/debootstrap-cache/$suite"
  mkdir -p "$cache"
  log "debootstrap $suite from $mirror into $work"
  if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" \
         "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.out" 2>&1; then
    printf '\nbuild.sh: debootstrap of %s (%s) from %s FAILED. Last lines:\n' "$suite" "$image" "$mirror" >&2
    tail -n 15 "$work/debootstrap.out" >&2
    if [ -f "$work/rootfs/debootstrap/debootstrap.log" ]; then
      printf -- '--- debootstrap.log ---\n' >&2
      tail -n 15 "$work/rootfs/debootstrap/debootstrap.log" >&2
    fi
    die "debootstrap failed for $image (mirror $mirror; set PORTWARDEN_DEBIAN_MIRROR to use another)"
  fi
  local cmd=/usr/local/sbin/pw-init
  if [ "$variant" = systemd ]; then
    setup_systemd "$work/rootfs"
    cmd=/sbin/init
  fi
  setup_tree "$work/rootfs"
  log "importing $image"
  tar --numeric-owner -C "$work/rootfs" -c . | podman import --quiet \
      --change "CMD [\"$cmd\"]" \
      --change "LABEL org.portwarden.recipe=$recipe" \
      --change "LABEL org.portwarden.suite=$suite" \
      --message "portwarden test image: debootstrap minbase $suite" \
      - "$image" >/dev/null || die "podman import of $image failed"
  remove_tree "$work"
  trap - EXIT
  if [ -n "$old_id" ]; then
    podman rmi "$old_id" >/dev/null 2>&1 || log "old image $old_id still in use, left in place"
  fi
  log "built $image in $(( $(date +%s) - start )) s"
}

# One build at a time on this host (podman's storage is host-wide).
lockdir=/run/lock
[ -d "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/portwarden-images.lock"
flock 9
# Earlier builds of these images that were still in use when replaced
# (untagged now, and carrying our label): remove those no container uses.
podman images --filter dangling=true --filter label=org.portwarden.recipe --format '{{.ID}}' |
  while read -r old; do podman rmi "$old" >/dev/null 2>&1 || true; done
for release in "${releases[@]}"; do
  build_one "$release"
done

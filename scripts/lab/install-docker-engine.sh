#!/usr/bin/env bash
# The test lab's Docker engine: Debian 13's docker.io 26 and Compose v2 (the
# versions the boot data gives every node), unpacked into a private prefix so
# the host's own packages stay as they are. Debian 12's runc replaces trixie's,
# which needs a newer glibc than this machine has. Idempotent; as root.
set -euo pipefail
PREFIX="${SUPAFLEET_LAB_DOCKER:-/opt/supafleet-docker}"
SUITE=trixie
PACKAGES=(docker.io docker-cli containerd docker-compose tini)
die() { echo "install-docker-engine: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
for bin in apt-get dpkg; do command -v "$bin" >/dev/null || die "missing $bin"; done

if [ -x "$PREFIX/usr/sbin/dockerd" ] && [ -x "$PREFIX/usr/libexec/docker/cli-plugins/docker-compose" ] && [ -f "$PREFIX/.complete" ]; then
  echo "install-docker-engine: $($PREFIX/usr/sbin/dockerd --version) already in $PREFIX"
  exit 0
fi

# A private apt state for trixie: fetch its packages without touching the host's sources.
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state"/{lists/partial,cache/archives/partial,debs}
echo "deb http://deb.debian.org/debian $SUITE main" > "$state/sources.list"
apt_private=(-o "Dir::Etc::sourcelist=$state/sources.list" -o Dir::Etc::sourceparts=/dev/null
  -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update -qq
(cd "$state/debs" && apt-get "${apt_private[@]}" download "${PACKAGES[@]}")
(cd "$state/debs" && apt-get -o APT::Sandbox::User=root download runc)   # the host's (bookworm) runc

rm -rf "$PREFIX" && mkdir -p "$PREFIX"
for d in "$state"/debs/*.deb; do
  case "$d" in */runc_*) ;; *) dpkg -x "$d" "$PREFIX" ;; esac
done
dpkg -x "$state"/debs/runc_*.deb "$state/runc"
install -m 0755 "$state/runc/usr/sbin/runc" "$PREFIX/usr/bin/runc"
mkdir -p "$PREFIX/cfg/cli-plugins"
ln -sf "$PREFIX/usr/libexec/docker/cli-plugins/docker-compose" "$PREFIX/cfg/cli-plugins/docker-compose"
touch "$PREFIX/.complete"
echo "install-docker-engine: $("$PREFIX/usr/sbin/dockerd" --version), $(DOCKER_CONFIG="$PREFIX/cfg" "$PREFIX/usr/bin/docker" compose version) in $PREFIX"

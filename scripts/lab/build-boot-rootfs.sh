#!/usr/bin/env bash
# Builds, for every image the config schema allows, a minimal root filesystem of
# that image's Debian suite with mmdebstrap, and downloads into its apt cache the
# .debs of every package the boot data names (with recommends, as cloud-init
# installs them). tests/integration/boot-image.test.ts unpacks it and installs
# those packages offline: the test itself needs no network.
#
# Cached as /var/cache/supafleet-lab/rootfs/<image>.tar, with <image>.manifest
# saying what it was built from (suite, sources, base packages, boot packages).
# A tree whose manifest still matches is kept; a changed package list rebuilds it.
#
# Usage, as root, from a checkout where `npm ci` has run:
#   npm run lab:rootfs
#       every image the schema allows, each with the packages of
#       scripts/lab/boot-packages.ts (image, suite and packages, one image a line)
#   bash scripts/lab/build-boot-rootfs.sh IMAGE SUITE PACKAGE...
#       one tree from explicit data, e.g. debian-12 bookworm docker.io …
set -euo pipefail

die() { echo "build-boot-rootfs: $*" >&2; exit 1; }
log() { echo "build-boot-rootfs: $*"; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SUPAFLEET_LAB_CACHE:-/var/cache/supafleet-lab}/rootfs
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
# Bump when the way a tree is built changes, so that every cached tree is rebuilt.
RECIPE=1
# What Hetzner's Debian images have beyond a minimal Debian: a kernel, systemd as
# init, sshd and cloud-init (with its python3). The boot data's packages come on top.
# The kernel matters: wireguard-tools recommends wireguard-modules, which an image's
# kernel provides; in a tree without one, apt would pick some kernel to install.
IMAGE_BASE=(systemd-sysv openssh-server cloud-init "linux-image-$(dpkg --print-architecture)")

[ "$(id -u)" -eq 0 ] || die "run as root: mmdebstrap, chroot and the tree's device nodes need it"
command -v mmdebstrap >/dev/null || die "needs mmdebstrap (apt-get install mmdebstrap, or bash scripts/install-test-deps.sh)"
command -v flock >/dev/null || die "needs flock (util-linux)"

# Lines of "IMAGE SUITE PACKAGE...".
if [ "$#" -gt 0 ]; then
  [ "$#" -ge 3 ] || die "usage: $0 [IMAGE SUITE PACKAGE...]"
  plan="$*"
else
  tsx="$ROOT/node_modules/.bin/tsx"
  [ -x "$tsx" ] || die "needs $tsx to read the boot data's packages: run npm ci first (or pass IMAGE SUITE PACKAGE...)"
  plan=$("$tsx" "$ROOT/scripts/lab/boot-packages.ts") || die "scripts/lab/boot-packages.ts failed"
  [ -n "$plan" ] || die "scripts/lab/boot-packages.ts printed no image"
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"

tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

build() {
  local image=$1 suite=$2
  shift 2
  [[ $image =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "$image is not an image name"
  [[ $suite =~ ^[a-z]+$ ]] || die "$suite is not a Debian suite name"
  local packages
  packages=$(printf '%s\n' "$@" | LC_ALL=C sort -u | tr '\n' ' ')
  packages=${packages% }
  local sources=("deb $MIRROR $suite main" "deb $MIRROR $suite-updates main" "deb $SECURITY $suite-security main")
  local manifest
  manifest=$(printf '%s\n' "recipe $RECIPE" "image $image" "suite $suite" "sources ${sources[*]}" "base ${IMAGE_BASE[*]}" "packages $packages")
  local tar="$CACHE/$image.tar" man="$CACHE/$image.manifest"
  if [ -f "$tar" ] && [ -f "$man" ] && [ "$(cat "$man")" = "$manifest" ]; then
    log "$image ($suite): up to date in $tar"
    return
  fi
  log "$image ($suite): building with the boot data's packages: $packages"
  local started=$SECONDS
  tmp=$(mktemp -d "$CACHE/.build-$image.XXXXXX")
  # The hooks run after the base is installed: empty the cache of the base's own .debs,
  # fetch what the boot data would install (and nothing else), then prove that apt
  # resolves it offline from the cache alone. The tree never boots, so its initramfs
  # is not rebuilt when a package triggers it (9 s of the test's install).
  # shellcheck disable=SC2016 # "$1" is the tree, expanded by mmdebstrap's hook shell
  mmdebstrap --quiet --mode=root --variant=apt --format=tar \
    --include="$(IFS=,; echo "${IMAGE_BASE[*]}")" \
    --skip=cleanup/apt/lists --skip=cleanup/apt/cache \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook='f="$1/etc/initramfs-tools/update-initramfs.conf"; [ ! -f "$f" ] || sed -i "s/^update_initramfs=.*/update_initramfs=no/" "$f"' \
    --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install --download-only --assume-yes --quiet=2 -o APT::Install-Recommends=true '"$packages" \
    --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install --simulate --no-download --assume-yes --quiet=2 -o APT::Install-Recommends=true '"$packages"' >/dev/null' \
    "$suite" "$tmp/$image.tar" "${sources[@]}" \
    || die "$image: mmdebstrap of $suite with $packages failed (is deb.debian.org reachable, and does $suite have every package?)"
  mv -f "$tmp/$image.tar" "$tar"
  printf '%s\n' "$manifest" >"$man.new" && mv -f "$man.new" "$man"
  rm -rf "$tmp"
  tmp=""
  log "$image ($suite): built $tar ($(du -m "$tar" | cut -f1) MiB) in $((SECONDS - started)) s"
}

while read -r image suite packages; do
  [ -n "$image" ] || continue
  [ -n "$packages" ] || die "$image: no packages given"
  # shellcheck disable=SC2086 # the packages are one word each
  build "$image" "$suite" $packages
done <<<"$plan"

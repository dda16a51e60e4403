#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real. Debian 12, as
# root (or with sudo). Recommended packages are skipped: wireguard's would pull
# a kernel image.
set -euo pipefail

PACKAGES=(
  ca-certificates
  git
  jq                # hub-sync.sh reads its payload with jq
  util-linux        # unshare and nsenter for the namespace tests
  iproute2          # network namespaces, veth, bridges
  iputils-ping
  nftables          # the rendered host firewalls, applied for real
  wireguard-tools   # wg, wg-quick; `wg pubkey` is the reference for derived keys
  wireguard-go      # userspace WireGuard: the kernel module is not available in CI
  cloud-init        # `cloud-init schema` validates every node's boot data
  postgresql-15     # the schema, RLS, migrations, passwords and backups run on a real server
  restic            # backups, retention, checks and restores, for real (Debian's 0.14)
  lua5.1            # Kong's request-transformer templates are Lua
)

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "install-test-deps: run as root (or install sudo)" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "install-test-deps: needs apt-get (Debian or Ubuntu)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}"
echo "install-test-deps: installed ${PACKAGES[*]}"

#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, Node.js when the
# machine has none new enough, and the add-on servers the tests start (Uptime
# Kuma, from the npm registry, into tests/addons). Debian 12, as root (or sudo).
# Recommended packages are skipped: wireguard's would pull a kernel image.
set -euo pipefail

PACKAGES=(
  ca-certificates
  git
  jq                # hub-sync.sh reads its payload with jq
  util-linux        # unshare and nsenter for the namespace tests
  iproute2          # network namespaces, veth, bridges
  iputils-ping
  nftables          # the rendered host firewalls, applied for real
  nmap              # the namespace tests sweep every TCP port, as an attacker would
  wireguard-tools   # wg, wg-quick; `wg pubkey` is the reference for derived keys
  wireguard-go      # userspace WireGuard: the kernel module is not available in CI
  cloud-init        # `cloud-init schema` validates every node's boot data
  postgresql-15     # the schema, RLS, migrations, passwords and backups run on a real server
  postgresql-15-cron  # pg_cron, preloaded as in Supabase's image: the registry's trial expiry job
  python3           # the worker agent (templates/worker/worker-agent.py) runs for real
  chromium          # the operator console's browser tests, driven by playwright-core
  restic            # backups, retention, checks and restores, for real (Debian's 0.14)
  lua5.1            # Kong's request-transformer templates are Lua
  lua-luaossl lua-cjson  # the rate-limit rule's HMAC (OpenSSL, as Kong's resty.openssl) and JSON, for real
  python3 make g++  # node-gyp builds Uptime Kuma's SQLite driver for the monitoring tests
  curl              # the health agent and backup scripts push with it
  caddy             # n8n's webhook gate on the mesh runs its rendered config for real
  fail2ban python3-systemd  # the sshd jail boot data writes is read by the real fail2ban-client
  mmdebstrap        # scripts/lab/build-boot-rootfs.sh: a tree of each node image, for the boot-image test
                    # (and the lab's images' Debian base, scripts/lab/build-images.ts)
  iptables          # the lab's dockerd writes its NAT rules with it, inside its own namespace
  shellcheck        # every script in templates/ and every one the plan renders (tests/unit/shellcheck.test.ts)
  systemd           # systemd-socket-proxyd, systemd-socket-activate and systemd-analyze: the Studio waker's units and their commands, run for real
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
# Debian's caddy package starts a web server on port 80 where systemd runs; the tests start their own.
# The same goes for fail2ban, which would start watching this machine's own sshd.
if [ -d /run/systemd/system ]; then "${SUDO[@]}" systemctl disable --now caddy.service fail2ban.service >/dev/null 2>&1 || true; fi

# The suite runs on Node 20.19 or newer (CI machines still have 20); deploying needs
# 22 or newer. A machine with neither (Debian's own is 18) gets the LTS line in .nvmrc.
if node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
  echo "install-test-deps: using node $(node --version)"
else
  "${SUDO[@]}" bash "$(dirname "$0")/install-node.sh" --prefix /usr/local
fi

# The real add-on servers, pinned by tests/addons/package-lock.json and
# tests/addons/n8n/package-lock.json. Kuma builds its SQLite driver from source here
# (a few minutes), and n8n is some 1,900 packages (about five minutes more), so they
# are installed now, not in the suite.
( while sleep 30; do echo "install-test-deps: still installing the test add-ons…"; done ) &
heartbeat=$!
( cd "$(dirname "$0")/../tests/addons" && npm ci --no-audit --no-fund --loglevel=error ) || { kill "$heartbeat"; exit 1; }
echo "install-test-deps: installed Uptime Kuma in tests/addons; now n8n"
( cd "$(dirname "$0")/../tests/addons/n8n" && npm ci --no-audit --no-fund --loglevel=error ) || { kill "$heartbeat"; exit 1; }
( cd "$(dirname "$0")/../tests/addons/postgres-meta" && npm ci --no-audit --no-fund --loglevel=error ) || { kill "$heartbeat"; exit 1; }
kill "$heartbeat"
echo "install-test-deps: installed the test add-ons in tests/addons (Uptime Kuma, n8n, postgres-meta)"

# The lab's real Docker engine: Debian 13's docker.io 26 and Compose v2, the versions every node runs,
# unpacked into /opt/supafleet-docker (the host's own packages are left alone). Its images are built
# from these add-ons and Debian's packages by `npm test`'s pretest step (scripts/lab/build-images.ts).
"${SUDO[@]}" bash "$(dirname "$0")/lab/install-docker-engine.sh"

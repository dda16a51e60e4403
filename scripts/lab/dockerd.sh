#!/usr/bin/env bash
# Starts or stops the test lab's Docker engine: containerd and dockerd inside
# their own network namespace, so their iptables rules and bridges never touch
# the host's. Images persist in the data root between runs.
#   dockerd.sh start [NETNS]   start (idempotent); NETNS defaults to supafleet-dk
#   dockerd.sh stop  [NETNS]   stop both daemons and delete the namespace
#   dockerd.sh env   [NETNS]   print the environment a docker client needs
# The lab's own engine (supafleet-dk) is linked to the host by a veth pair,
# 198.51.100.1 (host) to 198.51.100.2 (engine), with 198.51.100.0/24 routed to
# it: tests publish ports on addresses of that range and reach them directly.
# `nsenter --net`, not `ip netns exec`: the latter mounts a fresh /sys that hides the cgroups.
set -euo pipefail
PREFIX="${SUPAFLEET_LAB_DOCKER:-/opt/supafleet-docker}"
NETNS="${2:-supafleet-dk}"
RUN="/run/$NETNS"
DATA="${SUPAFLEET_LAB_DOCKER_DATA:-/var/lib/$NETNS}"
START_TIMEOUT="${SUPAFLEET_LAB_DOCKER_TIMEOUT:-60}"
die() { echo "dockerd.sh($NETNS): $*" >&2; exit 1; }

client_env() {
  echo "PATH=$PREFIX/usr/bin:$PREFIX/usr/sbin:$PATH"
  echo "DOCKER_CONFIG=$PREFIX/cfg"
  echo "DOCKER_HOST=unix://$RUN/docker.sock"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  [ -x "$PREFIX/usr/sbin/dockerd" ] || die "no engine in $PREFIX; run scripts/lab/install-docker-engine.sh"
  for bin in ip nsenter iptables; do command -v "$bin" >/dev/null || die "missing $bin"; done
  export PATH="$PREFIX/usr/bin:$PREFIX/usr/sbin:$PATH"
  if alive "$RUN/dockerd.pid" && DOCKER_HOST="unix://$RUN/docker.sock" docker info >/dev/null 2>&1; then return 0; fi
  # A dockerd left without its pid file still holds the data root's lock: nothing else could start.
  if ! alive "$RUN/dockerd.pid" && pgrep -f "dockerd .*--exec-root $RUN/exec" >/dev/null; then stop; fi
  # A namespace this script makes is its own to remove; one a lab made (a worker's) is the lab's, with what else runs in it.
  [ -e "/var/run/netns/$NETNS" ] || { ip netns add "$NETNS"; ip -n "$NETNS" link set lo up; mkdir -p "$RUN"; : > "$RUN/netns-own"; }
  if [ "$NETNS" = supafleet-dk ] && ! ip -n "$NETNS" link show sfdk-lab >/dev/null 2>&1; then
    # An earlier namespace deleted while a process still held it keeps the old pair's far end:
    # sfdk-host is then left on the host without its peer here, and goes.
    ip link del sfdk-host 2>/dev/null || true
    ip link add sfdk-host type veth peer name sfdk-lab
    ip link set sfdk-lab netns "$NETNS"
    ip addr add 198.51.100.1/24 dev sfdk-host && ip link set sfdk-host up
    ip -n "$NETNS" addr add 198.51.100.2/24 dev sfdk-lab && ip -n "$NETNS" link set sfdk-lab up
  fi
  mkdir -p "$RUN" "$DATA"
  if ! alive "$RUN/containerd.pid"; then
    nsenter --net="/var/run/netns/$NETNS" setsid containerd --root "$DATA/containerd" --state "$RUN/containerd" \
      --address "$RUN/containerd.sock" > "$RUN/containerd.log" 2>&1 < /dev/null 9>&- &
    echo $! > "$RUN/containerd.pid"
  fi
  # overlay2 shares image layers between containers; vfs (copies) where the filesystem cannot.
  local driver="${SUPAFLEET_LAB_STORAGE_DRIVER:-overlay2}"
  # SUPAFLEET_LAB_DOCKER_CONFIG: a daemon.json (a node's, as its boot data renders it) instead of the lab's settings.
  local settings=(--ip 127.0.0.1 --userland-proxy=false)
  [ -z "${SUPAFLEET_LAB_DOCKER_CONFIG:-}" ] || settings=(--config-file "$SUPAFLEET_LAB_DOCKER_CONFIG")
  nsenter --net="/var/run/netns/$NETNS" setsid dockerd --containerd "$RUN/containerd.sock" --data-root "$DATA/docker" \
    --exec-root "$RUN/exec" -H "unix://$RUN/docker.sock" --pidfile "$RUN/dockerd.pid" --storage-driver "$driver" \
    "${settings[@]}" >> "$RUN/dockerd.log" 2>&1 < /dev/null 9>&- &
  for _ in $(seq 1 "$((START_TIMEOUT * 5))"); do
    if DOCKER_HOST="unix://$RUN/docker.sock" docker info >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  tail -20 "$RUN/dockerd.log" >&2 || true
  die "dockerd did not answer within ${START_TIMEOUT}s"
}

stop() {
  local f pid ids
  # Kill what still runs first: dockerd stops running containers one by one within its own grace, and
  # the processes of any it had not reached outlive the shims killed below (a bench left 336 behind).
  if alive "$RUN/dockerd.pid"; then
    ids=$(DOCKER_HOST="unix://$RUN/docker.sock" timeout 20 docker ps -q 2>/dev/null || true)
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || DOCKER_HOST="unix://$RUN/docker.sock" timeout 60 docker kill $ids >/dev/null 2>&1 || true
  fi
  for f in dockerd containerd; do
    alive "$RUN/$f.pid" || continue
    pid=$(cat "$RUN/$f.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Daemons whose pid file went (an interrupted start or stop) are found by the paths they were given.
  for f in "dockerd .*--exec-root $RUN/exec" "containerd --root .* --state $RUN/containerd"; do
    pkill -f "$f" 2>/dev/null || continue
    for _ in $(seq 1 100); do pgrep -f "$f" >/dev/null || break; sleep 0.1; done
    pkill -9 -f "$f" 2>/dev/null || true
  done
  # containerd's shims outlive it by design.
  pkill -9 -f "containerd-shim.*$RUN/containerd" 2>/dev/null || true
  # A dockerd that had to be killed leaves its mounts (the default sandbox's netns, the data root).
  awk -v run="$RUN/" -v data="$DATA/" 'index($2, run) == 1 || index($2, data) == 1 { print $2 }' /proc/mounts \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ -e "$RUN/netns-own" ] && [ -e "/var/run/netns/$NETNS" ]; then ip netns del "$NETNS"; fi
  rm -rf "$RUN"
}

# One start or stop at a time per engine: a start must not take a starting dockerd for a stray one.
# The daemons are started without the lock's descriptor (9>&-), or they would hold it for their lifetime.
lock() { exec 9> "/run/$NETNS.lock"; flock 9; }

case "${1:-}" in
  start) lock; start ;;
  stop) lock; stop ;;
  env) client_env ;;
  *) die "usage: dockerd.sh start|stop|env [NETNS]" ;;
esac

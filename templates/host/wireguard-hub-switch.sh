#!/usr/bin/env bash
# supafleet: move the hub to its next WireGuard key (docs/operations.md, "Rotate the hub's WireGuard key").
#   wireguard-hub-switch.sh schedule   check the staged config, and switch to it in 5 s
#   wireguard-hub-switch.sh apply      switch now (what the scheduled unit runs)
# The switch is delayed so that the pulumi up session that asked for it ends cleanly first: once the hub
# is on its new key, no spoke and no operator still on the old one can reach it, until their rotate unit
# (or a new client config) moves them.
set -euo pipefail
SCRIPT='wireguard-hub-switch'
# die, say and need: the prelude every supafleet script shares (templates/lib/prelude.sh),
# installed beside this script; run from a checkout (as the tests do), it is in ../lib.
prelude_dir=$(dirname "$0")
[ -r "$prelude_dir/prelude.sh" ] || prelude_dir="$prelude_dir/../lib"
# shellcheck source=prelude.sh
. "$prelude_dir/prelude.sh"

LIVE=/etc/wireguard/wg0.conf
NEXT=/etc/wireguard/next/wg0.conf
need wg awk
private_key() { awk '$1 == "PrivateKey" { print $3 }' "$1"; }

case "${1:-}" in
  schedule)
    [ -f "$NEXT" ] || die "$NEXT not found; the staging step has not run"
    next_key=$(private_key "$NEXT")
    [ -n "$next_key" ] || die "$NEXT has no PrivateKey"
    next_public=$(wg pubkey <<<"$next_key")
    if [ "$(wg show wg0 public-key)" = "$next_public" ]; then
      install -m 0600 "$NEXT" "$LIVE.new" && mv "$LIVE.new" "$LIVE" && rm -f "$NEXT"
      echo "wireguard-hub-switch: already on key $next_public"
      exit 0
    fi
    need systemd-run
    systemd-run --quiet --collect --unit="supafleet-hub-switch-$(date +%s)" --on-active=5 "$(readlink -f "$0")" apply
    echo "wireguard-hub-switch: the hub moves to key $next_public in 5 s"
    ;;
  apply)
    [ -f "$NEXT" ] || die "$NEXT not found"
    wg set wg0 private-key <(private_key "$NEXT")
    install -m 0600 "$NEXT" "$LIVE.new"
    mv "$LIVE.new" "$LIVE"
    rm -f "$NEXT"
    echo "wireguard-hub-switch: now on key $(wg show wg0 public-key)"
    ;;
  *) die "usage: wireguard-hub-switch.sh schedule|apply" ;;
esac

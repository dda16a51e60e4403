#!/usr/bin/env bash
# supafleet: after the hub moved to a spoke's new WireGuard key, check that the
# spoke finished its switch: it is on the hub's key for it, with nothing left staged.
set -euo pipefail

want='{{publicKey}}'
wait_for=${SUPAFLEET_CONFIRM_SECONDS:-120}
die() { echo "wireguard-confirm: $*" >&2; exit 1; }
command -v wg >/dev/null || die "missing wg"

until=$((SECONDS + wait_for))
while :; do
  live=$(wg show wg0 public-key)
  if [ "$live" = "$want" ] && [ ! -e /etc/wireguard/next/wg0.conf ]; then
    echo "wireguard-confirm: on key $want"
    exit 0
  fi
  [ "$SECONDS" -lt "$until" ] || break
  sleep 2
done
[ "$live" = "$want" ] || die "wg0 is on key $live, not $want; see journalctl -u supafleet-wireguard-rotate"
die "wg0 is on the new key, but the staged config was not made permanent; see journalctl -u supafleet-wireguard-rotate"

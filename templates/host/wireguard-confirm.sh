#!/usr/bin/env bash
# supafleet: after a WireGuard key rotation (the spoke's or the hub's), check that
# the spoke finished its switch: it is on the hub's key for it, its only peer is
# the hub's current key, and nothing is left staged.
set -euo pipefail

want='{{publicKey}}'
want_hub='{{hubPublicKey}}'
wait_for=${SUPAFLEET_CONFIRM_SECONDS:-120}
die() { echo "wireguard-confirm: $*" >&2; exit 1; }
command -v wg >/dev/null || die "missing wg"

until=$((SECONDS + wait_for))
while :; do
  live=$(wg show wg0 public-key)
  hub=$(wg show wg0 peers)
  if [ "$live" = "$want" ] && [ "$hub" = "$want_hub" ] && [ ! -e /etc/wireguard/next/wg0.conf ]; then
    echo "wireguard-confirm: on key $want"
    exit 0
  fi
  [ "$SECONDS" -lt "$until" ] || break
  sleep 2
done
[ "$live" = "$want" ] || die "wg0 is on key $live, not $want; see journalctl -u supafleet-wireguard-rotate"
[ "$hub" = "$want_hub" ] || die "wg0's hub peer is $hub, not $want_hub; see journalctl -u supafleet-wireguard-rotate"
die "wg0 is on the expected keys, but the staged config was not made permanent; see journalctl -u supafleet-wireguard-rotate"

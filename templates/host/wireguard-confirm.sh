# supafleet: after a WireGuard key rotation (the spoke's or the hub's), check that
# the spoke finished its switch: it is on the hub's key for it, its only peer is
# the hub's current key, and nothing is left staged.
#   PUBLIC_KEY       the spoke's key after the rotation
#   HUB_PUBLIC_KEY   the hub's current key

wait_for=${SUPAFLEET_CONFIRM_SECONDS:-120}
need wg

until=$((SECONDS + wait_for))
while :; do
  live=$(wg show wg0 public-key)
  hub=$(wg show wg0 peers)
  if [ "$live" = "$PUBLIC_KEY" ] && [ "$hub" = "$HUB_PUBLIC_KEY" ] && [ ! -e /etc/wireguard/next/wg0.conf ]; then
    echo "wireguard-confirm: on key $PUBLIC_KEY"
    exit 0
  fi
  [ "$SECONDS" -lt "$until" ] || break
  sleep 2
done
[ "$live" = "$PUBLIC_KEY" ] || die "wg0 is on key $live, not $PUBLIC_KEY; see journalctl -u supafleet-wireguard-rotate"
[ "$hub" = "$HUB_PUBLIC_KEY" ] || die "wg0's hub peer is $hub, not $HUB_PUBLIC_KEY; see journalctl -u supafleet-wireguard-rotate"
die "wg0 is on the expected keys, but the staged config was not made permanent; see journalctl -u supafleet-wireguard-rotate"

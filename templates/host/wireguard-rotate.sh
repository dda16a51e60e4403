#!/usr/bin/env bash
# supafleet: finish a staged WireGuard key switch on a spoke (docs/operations.md,
# "Rotate a worker's WireGuard key"). Usage: wireguard-rotate.sh <hub mesh address>
#
# The hub knows one key per peer, so the spoke cannot switch first (the hub would
# drop it) and the hub cannot wait for it (pulumi up reaches the spoke through the
# hub). The same holds when the hub's own key rotates. So the spoke keeps the next
# config staged (its key and the hub's), and switches on the only signal it has:
# once the hub stops answering the live config, it tries the staged one, keeps it
# if the hub answers, and goes back otherwise. Exits once the staged config is live.
set -euo pipefail
SCRIPT='wireguard-rotate'
# die, say and need: the prelude every supafleet script shares (templates/lib/prelude.sh),
# installed beside this script; run from a checkout (as the tests do), it is in ../lib.
prelude_dir=$(dirname "$0")
[ -r "$prelude_dir/prelude.sh" ] || prelude_dir="$prelude_dir/../lib"
# shellcheck source=prelude.sh
. "$prelude_dir/prelude.sh"

HUB=${1:?usage: wireguard-rotate.sh <hub mesh address>}
LIVE=/etc/wireguard/wg0.conf
NEXT=/etc/wireguard/next/wg0.conf
# Tunable from the unit's environment; the defaults put a switch about 15 s after the hub moves.
CHECK_EVERY=${SUPAFLEET_WG_CHECK_EVERY:-3}   # seconds between pings of the hub
MISSES=${SUPAFLEET_WG_MISSES:-3}             # unanswered pings in a row before the staged key is tried
TRY_FOR=${SUPAFLEET_WG_TRY_FOR:-15}          # seconds the staged key gets to reach the hub

need wg wg-quick ping awk
for n in "$CHECK_EVERY" "$MISSES" "$TRY_FOR"; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "timings must be whole seconds above 0, not '$n'"; done
[ -f "$LIVE" ] || die "$LIVE not found"

private_key() { awk '$1 == "PrivateKey" { print $3 }' "$1"; }
public_key_of() { private_key "$1" | wg pubkey; }
hub_key_of() { awk '$1 == "PublicKey" { print $3 }' "$1"; }
# Either side may be the one rotating: the spoke's own key, or the hub's.
on_next() { [ "$(wg show wg0 public-key)" = "$(public_key_of "$NEXT")" ] && [ "$(wg show wg0 peers)" = "$(hub_key_of "$NEXT")" ]; }
apply() { wg syncconf wg0 <(wg-quick strip "$1"); }
hub_answers() { ping -c 1 -W 2 "$HUB" >/dev/null 2>&1; }
answers_within() {
  local until=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$until" ]; do hub_answers && return 0; sleep 1; done
  return 1
}
commit() {
  install -m 0600 "$NEXT" "$LIVE.new"
  mv "$LIVE.new" "$LIVE"
  rm -f "$NEXT"
  rmdir "$(dirname "$NEXT")" 2>/dev/null || true
  say "now on key $(wg show wg0 public-key)"
}

[ -f "$NEXT" ] || { say "nothing staged"; exit 0; }
[ -n "$(private_key "$NEXT")" ] || die "$NEXT has no PrivateKey"
[ -n "$(hub_key_of "$NEXT")" ] || die "$NEXT has no hub peer"
# A spoke created at this round, or a switch finished before a crash: nothing to wait for.
if on_next; then commit; exit 0; fi
say "staged key $(public_key_of "$NEXT") with hub key $(hub_key_of "$NEXT"); waiting for the hub to move"

missed=0
while [ -f "$NEXT" ]; do
  if hub_answers; then missed=0; sleep "$CHECK_EVERY"; continue; fi
  missed=$((missed + 1))
  if [ "$missed" -lt "$MISSES" ]; then sleep "$CHECK_EVERY"; continue; fi
  say "the hub does not answer the live key; trying the staged one"
  apply "$NEXT"
  if answers_within "$TRY_FOR"; then commit; exit 0; fi
  # The hub is down, or has not moved yet: the live key must stay usable.
  say "the hub does not answer the staged key either; back to the live key"
  apply "$LIVE"
  missed=0
  sleep "$CHECK_EVERY"
done

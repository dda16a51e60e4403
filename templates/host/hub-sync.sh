# supafleet: replace the hub's peer set and firewall sets in place.
# Reads a JSON payload on stdin: {"peers": "<wg peer sections>", "nftables": "<table file>"}.
# Never restarts wg0: `wg syncconf` adds, removes and updates peers live.

need jq wg wg-quick nft
[ -f /etc/wireguard/wg0.conf ] || die "/etc/wireguard/wg0.conf not found; has boot finished?"

payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
umask 077
jq -er '.peers' <<<"$payload" > /etc/wireguard/peers.conf.new || die "payload has no peers"
jq -er '.nftables' <<<"$payload" > /etc/nftables.d/supafleet.nft.new || die "payload has no nftables"

# Check both before touching the live system.
nft --check -f /etc/nftables.d/supafleet.nft.new || die "nftables file does not parse"
mv /etc/nftables.d/supafleet.nft.new /etc/nftables.d/supafleet.nft
mv /etc/wireguard/peers.conf.new /etc/wireguard/peers.conf

nft -f /etc/nftables.d/supafleet.nft
wg syncconf wg0 <(cat <(wg-quick strip wg0) /etc/wireguard/peers.conf)
echo "hub-sync: $(wg show wg0 peers | wc -l) peers"

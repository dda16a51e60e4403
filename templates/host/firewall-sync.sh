# supafleet: replace this node's host firewall in place with the managed ruleset on stdin
# (boot data's, plus what changes later, such as operators' database grants).

need nft
[ -d /etc/nftables.d ] || die "/etc/nftables.d not found; has boot finished?"
umask 077
cat > /etc/nftables.d/supafleet.nft.new
[ -s /etc/nftables.d/supafleet.nft.new ] || die "empty ruleset on stdin"
# Check before touching the live system; the file replaces our table atomically.
nft --check -f /etc/nftables.d/supafleet.nft.new || die "the ruleset does not parse"
mv /etc/nftables.d/supafleet.nft.new /etc/nftables.d/supafleet.nft
nft -f /etc/nftables.d/supafleet.nft
echo "firewall-sync: $(nft list table inet supafleet | grep -c ' accept ') accept rules"

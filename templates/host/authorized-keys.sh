# supafleet: replace root's authorized_keys with the set on stdin, atomically,
# refusing a set without the deploy key, so that the program never locks itself out.

tmp=$(mktemp /root/.ssh/authorized_keys.XXXXXX)
cat > "$tmp"
grep -q " supafleet-deploy$" "$tmp" || { rm -f "$tmp"; die "refusing a set without the deploy key"; }
chmod 600 "$tmp"
mv "$tmp" /root/.ssh/authorized_keys
echo "authorized-keys: $(grep -vc '^#' /root/.ssh/authorized_keys) keys"

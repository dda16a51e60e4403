# supafleet: write the workers' agent keys for the console. stdin: {"<worker>": "<64 hex>", ...}
# Readable by the console's user (uid 1000 in its image) alone.

need jq install
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
jq -e 'type == "object" and ([.[] | test("^[0-9a-f]{64}$")] | all)' <<<"$payload" >/dev/null || die "the payload is not an object of 64-hex keys"
DIR="${CONSOLE_DIR:-/opt/supafleet/master/console}"
install -d -m 0755 "$DIR"
install -d -m 0700 -o 1000 -g 1000 "$DIR/data"
( umask 077; jq . <<<"$payload" > "$DIR/data/keys.json.new" )
chown 1000:1000 "$DIR/data/keys.json.new" && chmod 0400 "$DIR/data/keys.json.new" && mv "$DIR/data/keys.json.new" "$DIR/data/keys.json"
echo "console-keys: $(jq 'length' <<<"$payload") worker keys"

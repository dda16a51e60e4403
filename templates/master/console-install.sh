# supafleet: install or update the operator console on the master. stdin, one JSON object:
#   { image, compose, bundle, fleet, keysDigest }
# The agents' keys are written before this, by console-keys.sh. The console reads
# its files when it starts, so every change here recreates its container.

need docker jq install
docker compose version >/dev/null 2>&1 || die "docker compose (v2) is missing"
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
image=$(jq -er '.image' <<<"$payload") || die "payload has no image"
jq -e '.fleet.workers and .fleet.tenants and .fleet.access.aud' <<<"$payload" >/dev/null || die "payload has no fleet (workers, tenants, access.aud)"

DIR="${CONSOLE_DIR:-/opt/supafleet/master/console}"
KEYS="$DIR/data/keys.json"
[ -s "$KEYS" ] || die "$KEYS is missing: the agents' keys are written first"
install -d -m 0755 "$DIR" "$DIR/app"
# The image runs as node (uid 1000): its data folder (fleet.json, keys.json, the audit log) is that user's.
install -d -m 0700 -o 1000 -g 1000 "$DIR/data" "$DIR/data/state"

jq -j '.compose' <<<"$payload" > "$DIR/compose.yaml.new" && mv "$DIR/compose.yaml.new" "$DIR/compose.yaml"
jq -j '.bundle' <<<"$payload" > "$DIR/app/console.mjs.new" && chmod 0644 "$DIR/app/console.mjs.new" && mv "$DIR/app/console.mjs.new" "$DIR/app/console.mjs"
jq '.fleet' <<<"$payload" > "$DIR/data/fleet.json.new"
chown 1000:1000 "$DIR/data/fleet.json.new" && chmod 0644 "$DIR/data/fleet.json.new" && mv "$DIR/data/fleet.json.new" "$DIR/data/fleet.json"

# A pinned tag that is already here needs no registry: pull only what is missing.
docker image inspect "$image" >/dev/null 2>&1 || docker pull "$image" >/dev/null || die "cannot pull $image"
docker compose -p supafleet-console -f "$DIR/compose.yaml" up -d --force-recreate --wait \
  || die "the console did not become healthy: $(docker logs --tail 20 supafleet-console 2>&1 | tr '\n' ' ')"
echo "console-install: running $image, $(jq '[.fleet.tenants[].projects[]] | length' <<<"$payload") projects on $(jq '.fleet.workers | length' <<<"$payload") workers"

# supafleet: install Uptime Kuma on the master. stdin, one JSON object:
#   { image, compose, reconcile, admin: { username, password } }
# A fresh Kuma asks first for its database, then for an admin account, and
# whoever answers first owns it. So its first start is in a container with no
# network at all: the database comes from UPTIME_KUMA_DB_TYPE, the admin
# account from this script through `docker exec`, and only then does Kuma start
# where anything else can reach it (the hub's WireGuard address, for cloudflared
# and the workers' pushes).

need docker jq
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
image=$(jq -er '.image' <<<"$payload") || die "payload has no image"

DIR="${KUMA_DIR:-/opt/supafleet/master/kuma}"
SETUP=supafleet-kuma-setup
install -d -m 0700 "$DIR" "$DIR/data"
install -d -m 0755 "$DIR/bin"
jq -j '.compose' <<<"$payload" > "$DIR/compose.yaml.new" && mv "$DIR/compose.yaml.new" "$DIR/compose.yaml"
jq -j '.reconcile' <<<"$payload" > "$DIR/bin/kuma-reconcile.cjs.new" && mv "$DIR/bin/kuma-reconcile.cjs.new" "$DIR/bin/kuma-reconcile.cjs"

# A pinned tag that is already here needs no registry (and a master that lost its
# registry access can still reinstall): pull only what is missing.
docker image inspect "$image" >/dev/null 2>&1 || docker pull "$image" >/dev/null || die "cannot pull $image"

if [ ! -e "$DIR/data/.supafleet-admin" ]; then
  docker rm -f "$SETUP" >/dev/null 2>&1 || true
  docker run -d --name "$SETUP" --network none \
    -e UPTIME_KUMA_DB_TYPE=sqlite -e UPTIME_KUMA_HOST=127.0.0.1 -e UPTIME_KUMA_PORT=3001 \
    -v "$DIR/data:/app/data" -v "$DIR/bin:/supafleet:ro" "$image" >/dev/null
  trap 'docker rm -f "$SETUP" >/dev/null 2>&1 || true' EXIT
  ready=0
  for _ in $(seq 1 90); do
    if docker exec "$SETUP" node -e 'fetch("http://127.0.0.1:3001/api/entry-page").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' 2>/dev/null; then
      ready=1
      break
    fi
    sleep 2
  done
  [ "$ready" = 1 ] || die "Kuma did not start in its setup container within 180 s: $(docker logs --tail 20 "$SETUP" 2>&1)"
  jq '{url: "http://127.0.0.1:3001", username: .admin.username, password: .admin.password, setup: true, desired: null}' <<<"$payload" \
    | docker exec -i -e NODE_PATH=/app/node_modules "$SETUP" node /supafleet/kuma-reconcile.cjs >/dev/null
  # A clean stop, so SQLite closes its database before the real Kuma opens it.
  docker stop -t 30 "$SETUP" >/dev/null
  docker rm -f "$SETUP" >/dev/null
  trap - EXIT
  touch "$DIR/data/.supafleet-admin"
  echo "kuma-install: admin account created before Kuma was reachable"
fi

docker compose -p supafleet-kuma -f "$DIR/compose.yaml" up -d --wait
echo "kuma-install: running $image"

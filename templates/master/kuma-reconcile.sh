# supafleet: make Uptime Kuma match the model. stdin: the desired state (no
# secrets in it: only ${secret:name} references). The admin account and the
# secrets come from the root-only file that monitoring-secrets writes.

need docker jq
SECRETS="${KUMA_SECRETS:-/etc/supafleet/monitoring/secrets.json}"
CONTAINER="${KUMA_CONTAINER:-supafleet-kuma}"
[ -r "$SECRETS" ] || die "cannot read $SECRETS (monitoring-secrets writes it)"
desired=$(mktemp)
trap 'rm -f "$desired"' EXIT
cat > "$desired"
jq -e . "$desired" >/dev/null || die "the desired state on stdin is not JSON"

jq -n --slurpfile s "$SECRETS" --slurpfile d "$desired" \
  '{url: $s[0].url, username: $s[0].admin.username, password: $s[0].admin.password, setup: false, desired: $d[0], secrets: $s[0].values}' \
  | docker exec -i -e NODE_PATH=/app/node_modules "$CONTAINER" node /supafleet/kuma-reconcile.cjs

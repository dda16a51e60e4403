# supafleet: install n8n (and its webhook gate) on the master. stdin, one JSON object:
#   { images: [...], compose, gate: <Caddy JSON> | null, extensions: [{name, text}], env: { N8N_ENCRYPTION_KEY } }
# n8n listens on loopback only; its public hostname sits behind Cloudflare
# Access. The owner account is made by n8n-reconcile.sh right after this.

need docker jq install
docker compose version >/dev/null 2>&1 || die "docker compose (v2) is missing"
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
key=$(jq -er '.env.N8N_ENCRYPTION_KEY' <<<"$payload") || die "payload has no encryption key"
[ "${#key}" -ge 32 ] || die "the encryption key is too short"

DIR="${N8N_DIR:-/opt/supafleet/master/n8n}"
ENV_FILE="${N8N_ENV_FILE:-/etc/supafleet/automation/n8n.env}"
install -d -m 0700 "$(dirname "$ENV_FILE")"
# The image runs as node (uid 1000): its folder is that user's, and nobody else's.
install -d -m 0700 -o 1000 -g 1000 "$DIR/data" "$DIR/data/custom"

# A changed key would make every stored credential unreadable: refuse, never overwrite.
if [ -s "$ENV_FILE" ] && ! grep -qxF "N8N_ENCRYPTION_KEY=$key" "$ENV_FILE"; then
  die "$ENV_FILE holds another encryption key; n8n's credentials depend on it (see the n8n runbook in docs/operations.md)"
fi
( umask 077; printf 'N8N_ENCRYPTION_KEY=%s\n' "$key" > "$ENV_FILE.new" && mv "$ENV_FILE.new" "$ENV_FILE" )

jq -j '.compose' <<<"$payload" > "$DIR/compose.yaml.new" && mv "$DIR/compose.yaml.new" "$DIR/compose.yaml"
# The gate's config holds the TRMM webhook secret: root's alone, beside the key file, never in n8n's folder.
GATE_FILE="${N8N_GATE_FILE:-/etc/supafleet/automation/gate.json}"
gate_before=$(sha256sum "$GATE_FILE" 2>/dev/null || true)
if jq -e '.gate != null' <<<"$payload" >/dev/null; then
  install -d -m 0700 "$(dirname "$GATE_FILE")"
  ( umask 077; jq -j '.gate' <<<"$payload" > "$GATE_FILE.new" && mv "$GATE_FILE.new" "$GATE_FILE" )
else
  rm -f "$GATE_FILE"
fi
rm -f "$DIR/gate.json" # where releases before issue 29 kept it
ext_digest() { find "$DIR/data/custom" -maxdepth 1 -type f -exec sha256sum {} + 2>/dev/null | sort | sha256sum; }
before=$(ext_digest)
jq -c '.extensions[]' <<<"$payload" | while read -r ext; do
  name=$(jq -er '.name' <<<"$ext")
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad extension file name: $name"
  jq -j '.text' <<<"$ext" | install -m 0644 -o 1000 -g 1000 /dev/stdin "$DIR/data/custom/$name"
done

# Pinned tags: pull only what is missing (a present image needs no registry).
jq -r '.images[]' <<<"$payload" | while read -r image; do
  docker image inspect "$image" >/dev/null 2>&1 || docker pull "$image" >/dev/null || die "cannot pull $image"
done
running=$(docker inspect -f '{{if .State.Running}}{{.Id}}{{end}}' supafleet-n8n 2>/dev/null || true)
gate_running=$(docker inspect -f '{{if .State.Running}}{{.Id}}{{end}}' supafleet-n8n-gate 2>/dev/null || true)
docker compose -p supafleet-n8n -f "$DIR/compose.yaml" up -d --remove-orphans --wait
# Caddy reads its config at start only: a gate that kept running gets a changed one (a rotated secret) by a restart.
if [ -n "$gate_running" ] && [ "$gate_before" != "$(sha256sum "$GATE_FILE" 2>/dev/null || true)" ] \
  && [ "$gate_running" = "$(docker inspect -f '{{.Id}}' supafleet-n8n-gate 2>/dev/null || true)" ]; then
  docker restart supafleet-n8n-gate >/dev/null
fi
# n8n loads its custom credential types at start only: restart it when they
# changed under an n8n that kept running (a new container read them at its start).
if [ "$before" != "$(ext_digest)" ] && [ -n "$running" ] && [ "$running" = "$(docker inspect -f '{{.Id}}' supafleet-n8n)" ]; then
  docker restart supafleet-n8n >/dev/null
fi
echo "n8n-install: running $(jq -r '.images | join(", ")' <<<"$payload")"

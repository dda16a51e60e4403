# supafleet: deploy one project's release as one unit: the compose file (on
# stdin) with the secrets the config step staged (.env, kong.yml). Before an
# upgrade (the images change) it takes a tagged pre-upgrade snapshot. The gate
# is every service healthy and an API call through the gateway with the anon
# key. If the gate fails, the previous images, .env and kong.yml go back, and
# the script exits non-zero with the reason, so `pulumi up` fails visibly.
# Data lives in named volumes: nothing here ever removes one.
#   PROJECT   the project
#   GATEWAY   its API gateway, address:port on the worker's mesh address

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
LIB="${SUPAFLEET_LIB:-/usr/local/lib/supafleet}"
BACKUP_CONFIG="${SUPAFLEET_BACKUP_CONFIG:-/etc/supafleet/backup/$PROJECT.env}"
DIR="$ROOT/projects/$PROJECT"
SECRETS="$DIR/secrets"
WAIT_TIMEOUT="${SUPAFLEET_WAIT_TIMEOUT:-300}"
# Going back to the release that ran before may take longer than a new one was given.
ROLLBACK_WAIT_TIMEOUT="${SUPAFLEET_ROLLBACK_WAIT_TIMEOUT:-$WAIT_TIMEOUT}"
PROBE_TRIES="${SUPAFLEET_PROBE_TRIES:-15}"

need docker curl sha256sum timeout
[ -f "$SECRETS/staged/.env" ] || [ -f "$SECRETS/.env" ] || die "no secrets at $SECRETS; the config step must run first"
[ -d "$DIR/assets" ] || die "no assets at $DIR/assets; the assets step must run first"

# compose [--within SECONDS] RELEASE ENV_FILE ARGS…: project_compose, with the hash of kong.yml the compose
# file reads, which recreates the gateway when its bind-mounted config changed. (The functions container is
# restarted by functions-deploy.sh, which writes its files.)
compose() {
  KONG_CONFIG_SHA256="$(sha256sum "$SECRETS/kong.yml" 2>/dev/null | cut -d' ' -f1)" \
    project_compose "$@"
}
images() { grep -E '^ +image: ' "$1" | sed 's/^ *//' | sort; }

# The API as a client sees it: Kong, then PostgREST, with the anon key. The key
# reaches curl on stdin, never in its argv.
probe() {
  local key code="" i
  key=$(sed -n 's/^ANON_KEY="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$SECRETS/.env")
  [ -n "$key" ] || { say "no ANON_KEY in .env: cannot probe the API"; return 1; }
  for i in $(seq 1 "$PROBE_TRIES"); do
    code=$(printf 'header = "apikey: %s"\nheader = "Authorization: Bearer %s"\n' "$key" "$key" \
      | curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -K - "http://$GATEWAY/rest/v1/" 2>/dev/null) || code="000"
    [ "$code" = 200 ] && { say "API answers through the gateway ($GATEWAY) with the anon key"; return 0; }
    [ "$i" = "$PROBE_TRIES" ] || sleep "${SUPAFLEET_PROBE_INTERVAL:-2}"
  done
  say "the API through the gateway ($GATEWAY) answered $code, not 200, after $PROBE_TRIES tries"
  return 1
}
# Every service healthy within the limit, then the API. Compose's --wait-timeout alone keeps
# to neither side of that: a service that waits for a dependency's health (depends_on:
# service_healthy) waits until the dependency is unhealthy, however long its healthcheck takes,
# and `up` then gives up at once, though the healthcheck goes on and a slow starter (postgres-meta
# on a busy node) turns healthy later. So `timeout` bounds each `up`, and one that gave up on an
# unhealthy service is tried again until the limit. `up` converges: the next one finishes what a
# cut-off one left half done.
healthy() {
  local seconds="${2:-$WAIT_TIMEOUT}" deadline left log rc
  deadline=$((SECONDS + seconds))
  log=$(mktemp)
  while left=$((deadline - SECONDS)); [ "$left" -gt 0 ]; do
    rc=0
    compose --within "$left" "$1" "$SECRETS/.env" up --detach --remove-orphans --wait --wait-timeout "$left" 2> "$log" || rc=$?
    cat "$log" >&2
    if [ "$rc" = 0 ]; then
      rm -f "$log"
      probe
      return
    fi
    if ! grep -q ' is unhealthy' "$log" || [ "$((deadline - SECONDS))" -le 5 ]; then break; fi
    say "not healthy yet; trying again until ${seconds}s have passed"
    sleep 5
  done
  rm -f "$log"
  say "services did not become healthy within ${seconds}s"
  return 1
}

# Secrets live in $SECRETS (.env, kong.yml), staged (the next ones) or kept (a release's own):
# each file copied, then moved into place, so a reader never sees half of one.
copy_secrets() {
  local f
  install -d -m 0700 "$2"
  for f in .env kong.yml; do
    if [ -f "$1/$f" ]; then cp -p "$1/$f" "$2/$f.new" && mv "$2/$f.new" "$2/$f"; fi
  done
}

umask 077
next="$DIR/releases/next"
rm -rf "$next"
install -d -m 0755 "$next"
cat > "$next/compose.yaml"
[ -s "$next/compose.yaml" ] || die "empty compose file on stdin"
env_next="$SECRETS/staged/.env"; [ -f "$env_next" ] || env_next="$SECRETS/.env"
compose "$next" "$env_next" config --quiet || die "the compose file does not validate"

current="$DIR/releases/current"
rollback="$DIR/releases/rollback"

# An upgrade: a snapshot the database can be brought back to if the new images
# migrate it and the release is then rolled back.
PRE_UPGRADE=""
if [ -f "$current/compose.yaml" ] && [ "$(images "$current/compose.yaml")" != "$(images "$next/compose.yaml")" ]; then
  [ -f "$BACKUP_CONFIG" ] || die "an upgrade needs a pre-upgrade snapshot, and $BACKUP_CONFIG (the project's backup settings) is missing; nothing was changed"
  PRE_UPGRADE=$(bash "$LIB/backup.sh" "$BACKUP_CONFIG" snapshot pre-upgrade) || die "the pre-upgrade snapshot failed; nothing was changed"
  say "pre-upgrade snapshot $PRE_UPGRADE"
fi

# The release and its secrets switch together; the old ones are kept to go back to.
rm -rf "$rollback" "$SECRETS/rollback"
[ -d "$current" ] && mv "$current" "$rollback"
copy_secrets "$SECRETS" "$SECRETS/rollback"
[ ! -d "$SECRETS/staged" ] || { copy_secrets "$SECRETS/staged" "$SECRETS"; rm -rf "$SECRETS/staged"; }
mv "$next" "$current"

if healthy "$current"; then
  rm -rf "$DIR/releases/previous" "$SECRETS/previous"
  [ -d "$rollback" ] && mv "$rollback" "$DIR/releases/previous"
  mv "$SECRETS/rollback" "$SECRETS/previous"
  say "healthy"
  exit 0
fi

compose "$current" "$SECRETS/.env" ps >&2 || true
compose "$current" "$SECRETS/.env" logs --no-color --tail 40 >&2 || true
[ -d "$rollback" ] || die "first release failed; there is nothing to roll back to"
rm -rf "$DIR/releases/failed" "$SECRETS/failed"
copy_secrets "$SECRETS" "$SECRETS/failed"
mv "$current" "$DIR/releases/failed"
mv "$rollback" "$current"
copy_secrets "$SECRETS/rollback" "$SECRETS"
rm -rf "$SECRETS/rollback"
after=""
if [ -n "$PRE_UPGRADE" ]; then
  # Not restored automatically: the previous images usually run on a migrated schema, and a restore
  # would drop what was written since. The operator decides (docs/operations.md, "Upgrade a release").
  # The project's backup settings, which backup-enable writes.
  # shellcheck source=/dev/null
  db=$(set +u; . "$BACKUP_CONFIG" > /dev/null 2>&1; echo "${DB_NAME:-postgres}")
  after="; if the new images migrated the database and the old ones misbehave on it: bash $LIB/restore.sh $BACKUP_CONFIG --target $db --snapshot $PRE_UPGRADE --replace"
fi
if healthy "$current" "$ROLLBACK_WAIT_TIMEOUT"; then
  die "the new release failed its health gate; rolled back to the previous images, .env and kong.yml, which are healthy; the failed release is in releases/failed$after"
fi
die "the new release failed its health gate, and after rolling back to the previous images, .env and kong.yml the project is not healthy either; look at: docker compose -p $PROJECT ps$after"

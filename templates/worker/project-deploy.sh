#!/usr/bin/env bash
# supafleet: deploy one project's compose file (on stdin) and wait until every
# service is healthy. If it is not, put the previous release back, wait for
# that to be healthy, and exit non-zero so the update fails visibly.
# Data lives in named volumes: nothing here ever removes one.
set -euo pipefail

PROJECT="{{project}}"
ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT"
WAIT_TIMEOUT="${SUPAFLEET_WAIT_TIMEOUT:-300}"

die() { echo "project-deploy($PROJECT): $*" >&2; exit 1; }
say() { echo "project-deploy($PROJECT): $*" >&2; }
for bin in docker sha256sum find; do command -v "$bin" >/dev/null || die "missing $bin"; done
[ -f "$DIR/secrets/.env" ] || die "no secrets at $DIR/secrets; the config step must run first"
[ -d "$DIR/assets" ] || die "no assets at $DIR/assets; the assets step must run first"

# Hashes that recreate containers whose bind-mounted files changed.
tree_sha() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }
compose() {
  local release="$1"; shift
  FUNCTIONS_SHA256="$(tree_sha "$DIR/assets/functions")" \
  KONG_CONFIG_SHA256="$(sha256sum "$DIR/secrets/kong.yml" | cut -d' ' -f1)" \
    docker compose --project-name "$PROJECT" --project-directory "$release" \
      -f "$release/compose.yaml" --env-file "$DIR/secrets/.env" "$@"
}
up() { compose "$1" up --detach --remove-orphans --wait --wait-timeout "$WAIT_TIMEOUT"; }

next="$DIR/releases/next"
rm -rf "$next"
install -d -m 0755 "$next"
cat > "$next/compose.yaml"
[ -s "$next/compose.yaml" ] || die "empty compose file on stdin"
compose "$next" config --quiet || die "the compose file does not validate"

current="$DIR/releases/current"
rollback="$DIR/releases/rollback"
rm -rf "$rollback"
[ -d "$current" ] && mv "$current" "$rollback"
mv "$next" "$current"

if up "$current"; then
  rm -rf "$DIR/releases/previous"
  [ -d "$rollback" ] && mv "$rollback" "$DIR/releases/previous"
  say "healthy"
  exit 0
fi

say "did not become healthy within ${WAIT_TIMEOUT}s"
compose "$current" ps >&2 || true
compose "$current" logs --no-color --tail 40 >&2 || true
if [ ! -d "$rollback" ]; then
  die "first release failed; there is nothing to roll back to"
fi
rm -rf "$DIR/releases/failed"
mv "$current" "$DIR/releases/failed"
mv "$rollback" "$current"
if up "$current"; then
  die "rolled back to the previous release, which is healthy; the failed one is in releases/failed"
fi
die "rolled back to the previous release, but it is not healthy either; look at: docker compose -p $PROJECT ps"

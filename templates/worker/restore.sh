#!/usr/bin/env bash
# supafleet: restore a project's database (and optionally its storage files).
#   restore.sh <config> --target <database> [--at "YYYY-MM-DD HH:MM"] [--replace] [--storage <dir>]
# --target names the database to restore into. A new name restores beside the
# live one (safe, the usual first step); the live database's own name restores
# in place, and then a safety dump of it is taken first. --at picks the newest
# snapshot taken at or before that time (UTC); without it, the latest.
set -euo pipefail
SCRIPT=restore
. "$(dirname "$0")/backup-lib.sh"
load_config "${1:-}"
shift || true

TARGET="" AT="" REPLACE=0 STORAGE_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET="${2:?--target needs a database name}"; shift 2 ;;
    --at) AT="${2:?--at needs a time}"; shift 2 ;;
    --replace) REPLACE=1; shift ;;
    --storage) STORAGE_DIR="${2:?--storage needs a directory}"; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -n "$TARGET" ] || die "--target <database> is required"
[[ "$TARGET" =~ ^[a-z_][a-z0-9_]*$ ]] || die "--target must be a plain database name"
[ -n "${DB_CONTAINER:-}" ] || die "this config has no database"

# The snapshot of a kind taken at or before --at (or the latest), as "id time".
pick() {
  local kind="$1" limit="9999-12-31T23:59:59Z"
  [ -n "$AT" ] && limit=$(date -u -d "$AT" +%Y-%m-%dT%H:%M:%SZ)
  r snapshots --json --host "$PROJECT" --tag "project:$PROJECT,kind:$kind" |
    jq -r --arg limit "$limit" '[.[] | select(.time[0:19] + "Z" <= $limit)] | max_by(.time) // empty | "\(.short_id) \(.time)"'
}

read -r SNAPSHOT TAKEN < <(pick database) || true
[ -n "${SNAPSHOT:-}" ] || die "no database snapshot ${AT:+at or before $AT }in $RESTIC_REPOSITORY"
say "restoring database snapshot $SNAPSHOT, taken $TAKEN, into $TARGET"

exists=$(psql_in_db postgres -c "select 1 from pg_database where datname = '$TARGET'")
if [ "$TARGET" = "$DB_NAME" ] && [ -n "$exists" ]; then
  # In place: keep what is there now, first.
  spool="${SUPAFLEET_SPOOL:-/var/backups/supafleet}/$PROJECT"
  install -d -m 0700 "$spool"
  safety="$spool/before-restore-$(date -u +%Y%m%dT%H%M%SZ).sql"
  docker exec "$DB_CONTAINER" pg_dump -U supabase_admin -d "$DB_NAME" --clean --if-exists > "$safety" || die "safety dump failed; nothing was restored"
  chmod 0600 "$safety"
  say "safety dump of the live database: $safety"
elif [ -n "$exists" ]; then
  [ "$REPLACE" = 1 ] || die "database $TARGET exists; add --replace to overwrite it"
  docker exec "$DB_CONTAINER" dropdb -U supabase_admin "$TARGET"
  docker exec "$DB_CONTAINER" createdb -U supabase_admin "$TARGET"
else
  docker exec "$DB_CONTAINER" createdb -U supabase_admin "$TARGET"
fi

started=$(date +%s)
r dump "$SNAPSHOT" /database.sql | psql_in_db "$TARGET" > /dev/null || die "restore into $TARGET failed"
say "database restored into $TARGET in $(( $(date +%s) - started ))s"

if [ -n "$STORAGE_DIR" ]; then
  read -r FILES _ < <(pick files) || true
  [ -n "${FILES:-}" ] || die "no files snapshot to restore storage from"
  install -d -m 0700 "$STORAGE_DIR"
  r restore "$FILES" --target "$STORAGE_DIR" > /dev/null || die "restoring files failed"
  say "files of snapshot $FILES restored under $STORAGE_DIR"
fi

#!/usr/bin/env bash
# supafleet: the restore drill. Restores the latest database snapshot into a
# scratch database, compares its row counts, newest timestamps and table
# checksums with the figures recorded at dump time, and reports the achieved
# RPO (age of the backup) and RTO (time to restore). Pings its own health check.
set -euo pipefail
SCRIPT=drill
. "$(dirname "$0")/backup-lib.sh"
load_config "${1:-}"
[ -n "${DB_CONTAINER:-}" ] || die "this config has no database to drill"
SCRATCH="supafleet_drill"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
REPORT="$WORK/report"

finish() {
  local ok="$1" message="$2"
  echo "$message" >> "$REPORT"
  psql_in_db postgres -c "drop database if exists $SCRATCH" > /dev/null 2>&1 || true
  if [ "$ok" = 1 ]; then
    ping_hc "${DRILL_HC_URL:-}" success "$REPORT"
    say "$message"
    exit 0
  fi
  ping_hc "${DRILL_HC_URL:-}" fail "$REPORT"
  alert "restore drill failed: $message"
  say "FAILED: $message"
  exit 1
}

ping_hc "${DRILL_HC_URL:-}" start
read -r SNAPSHOT TAKEN < <(r snapshots --json --host "$PROJECT" --tag "project:$PROJECT,kind:database" | jq -r 'max_by(.time) // empty | "\(.short_id) \(.time)"') || true
[ -n "${SNAPSHOT:-}" ] || finish 0 "no database snapshot to drill"

psql_in_db postgres -c "drop database if exists $SCRATCH" > /dev/null
docker exec "$DB_CONTAINER" createdb -U supabase_admin "$SCRATCH"
started=$(date +%s)
# The last line of the dump carries the figures recorded when it was taken.
if ! r dump "$SNAPSHOT" /database.sql | awk -v out="$WORK/expected" '/^-- supafleet-stats: /{ s = $0; sub(/^-- supafleet-stats: /, "", s); print s > out } { print }' | psql_in_db "$SCRATCH" > "$WORK/restore.log" 2>&1; then
  finish 0 "restoring snapshot $SNAPSHOT failed: $(tail -n 3 "$WORK/restore.log")"
fi
rto=$(( $(date +%s) - started ))
[ -s "$WORK/expected" ] || finish 0 "snapshot $SNAPSHOT carries no recorded figures"

printf '%s\n' "$STATS_SQL" | psql_in_db "$SCRATCH" > "$WORK/actual"
jq -S . "$WORK/expected" > "$WORK/expected.json"
jq -S . "$WORK/actual" > "$WORK/actual.json"
taken_epoch=$(date -u -d "$(echo "$TAKEN" | sed -E 's/\.[0-9]+//; s/T/ /')" +%s)
rpo=$(( ($(date +%s) - taken_epoch) / 60 ))
if ! diff -u "$WORK/expected.json" "$WORK/actual.json" > "$WORK/diff"; then
  jq -r --slurpfile a "$WORK/actual.json" 'to_entries[] | select(.value != $a[0][.key]) | "\(.key): recorded \(.value) restored \($a[0][.key])"' "$WORK/expected.json" >> "$REPORT"
  finish 0 "snapshot $SNAPSHOT restored in ${rto}s but does not match what was recorded at dump time"
fi
tables=$(jq 'length' "$WORK/expected.json")
finish 1 "snapshot $SNAPSHOT (taken $TAKEN) restored into $SCRATCH: $tables tables match; RPO ${rpo} min, RTO ${rto} s"

#!/usr/bin/env bash
# supafleet: the restore drill. Restores the latest database snapshot into a
# scratch database with restore.sh, which checks every table's row count, newest
# timestamp and checksum against the figures recorded at dump time, and reports
# the achieved RPO (age of the backup) and RTO (time to restore). Pings its own
# health check, alerts on failure, and drops the scratch database.
# With DRILL_IMAGE in the settings (another stack's backup, read through its
# read-only credential), the scratch database lives in a throwaway container of
# that image, which the drill removes whatever happens.
# When the repository holds base backups (the project archives its WAL), the drill
# then restores to a point in time as well: the latest base backup and all of the
# archive, replayed by restore-pitr.sh into a throwaway container of the project's
# database image, which is removed whatever happens.
#   drill.sh <config> [scratch database]
set -euo pipefail
SCRIPT='drill'
# shellcheck source=backup-lib.sh
. "$(dirname "$0")/backup-lib.sh"
load_config "${1:-}"
SCRATCH="${2:-supafleet_drill}"
[[ "$SCRATCH" =~ ^[a-z_][a-z0-9_]*$ ]] || die "the scratch database must be a plain name"
WORK=$(mktemp -d)
THROWAWAY="" PITR_THROWAWAY=""
trap 'rm -rf "$WORK"; [ -z "$THROWAWAY" ] || docker rm -f "$THROWAWAY" > /dev/null 2>&1 || true; [ -z "$PITR_THROWAWAY" ] || docker rm -f -v "$PITR_THROWAWAY" > /dev/null 2>&1 || true' EXIT
REPORT="$WORK/report"

# The drill's result and figures, for `backup.sh status` (the console's last drill), where backup.sh keeps its own.
record() { # <1|0> <message>
  local root="${SUPAFLEET_STATE_DIR:-/var/lib/supafleet}" rto ok=false
  local dir="$root/backup/$PROJECT"
  [ -d "$root" ] || return 0
  [ "$1" = 1 ] && ok=true
  rto=$(sed -n 's/.*RTO \([0-9]*\)s$/\1/p' <<<"$2")
  { install -d -m 0700 "$dir" && jq -n --argjson at "$(date +%s)" --argjson ok "$ok" --arg message "$2" --arg rpo "${rpo:-}" --arg rto "$rto" --arg pitr "${pitr:-}" \
    '{at: $at, ok: $ok, message: $message, rpoMinutes: ($rpo | tonumber? // null), rtoSeconds: ($rto | tonumber? // null),
      pointInTime: (if $pitr == "" then null else $pitr end)}' > "$dir/last-drill.json"; } 2>/dev/null || say "could not record the drill's result in $dir"
}

finish() {
  local ok="$1" message="$2"
  echo "$message" >> "$REPORT"
  record "$ok" "$message"
  # Before a throwaway database exists there is no DB_CONTAINER (and set -u would end the drill unreported).
  [ -z "${DB_CONTAINER:-}" ] || psql_in_db postgres -c "drop database if exists $SCRATCH" > /dev/null 2>&1 || true
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
if [ -n "${DRILL_IMAGE:-}" ]; then
  command -v docker > /dev/null || finish 0 "missing docker on $(hostname)"
  THROWAWAY="supafleet-drill-$PROJECT"
  docker rm -f "$THROWAWAY" > /dev/null 2>&1 || true
  # No port is published: only docker exec reaches it. Its password never enters argv. Its memory is
  # bounded: a worker's reserve holds one drill's database beside restic, not an unbounded one.
  docker run -d --rm --name "$THROWAWAY" --memory "${DRILL_MEMORY:-384m}" --env-file <(printf 'POSTGRES_PASSWORD=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')") "$DRILL_IMAGE" > /dev/null \
    || finish 0 "cannot start a throwaway database from $DRILL_IMAGE"
  # Over TCP, as the compose healthcheck asks: while the image initialises its empty volume, a
  # temporary server answers on the socket only, then shuts down under a restore that started.
  ready=0
  for _ in $(seq 1 120); do
    if docker exec "$THROWAWAY" pg_isready -U supabase_admin -h localhost -q 2>/dev/null; then ready=1; break; fi
    sleep 1
  done
  [ "$ready" = 1 ] || finish 0 "the throwaway database from $DRILL_IMAGE did not become ready in 120s"
  export DB_CONTAINER="$THROWAWAY"
fi
[ -n "${DB_CONTAINER:-}" ] || finish 0 "this config has no database to drill"
missing=$(missing_tools)
[ -z "$missing" ] || finish 0 "missing $missing on $(hostname)"
if ! bash "$(dirname "$0")/restore.sh" "$1" --target "$SCRATCH" --replace > "$WORK/out" 2> "$WORK/err"; then
  grep -E '^  ' "$WORK/err" >> "$REPORT" || true
  finish 0 "$(grep -v '^  ' "$WORK/err" | tail -n 1 | sed "s/^restore($PROJECT): //")"
fi
line=$(tail -n 1 "$WORK/out")
taken=$(sed -n 's/.*(taken \([^)]*\)).*/\1/p' <<<"$line")
rpo=$(( ($(date +%s) - $(date -u -d "$taken" +%s)) / 60 ))
line="${line/; RTO/; RPO ${rpo} min, RTO}"

# Point in time: the newest base backup and every archived segment since, into a throwaway
# container of the same image (no port, no archiving of its own), which goes whatever happens.
# Its result goes before the snapshot drill's line, which stays the last (the e2e probe reads it).
if r snapshots --json --host "${SNAPSHOT_HOST:-$PROJECT}" --tag kind:base 2> /dev/null | jq -e 'length > 0' > /dev/null; then
  # On the project's own worker, what the spool holds goes into the archive first.
  [ -z "${WAL_SPOOL:-}" ] || bash "$(dirname "$0")/wal.sh" "$1" ship > /dev/null 2>&1 || say "shipping the spool before the point-in-time drill failed"
  image="${DRILL_IMAGE:-$(docker inspect -f '{{.Config.Image}}' "$DB_CONTAINER" 2>/dev/null)}"
  PITR_THROWAWAY="supafleet-pitr-drill-$PROJECT"
  docker rm -f -v "$PITR_THROWAWAY" > /dev/null 2>&1 || true
  docker create --name "$PITR_THROWAWAY" --memory "${DRILL_MEMORY:-384m}" -v /var/lib/postgresql/data "$image" \
    postgres -c config_file=/etc/postgresql/postgresql.conf > /dev/null || finish 0 "cannot create a throwaway database from $image for the point-in-time drill"
  if ! bash "$(dirname "$0")/restore-pitr.sh" "$1" --time latest --container "$PITR_THROWAWAY" > "$WORK/pitr.out" 2> "$WORK/pitr.err"; then
    finish 0 "point-in-time: $(tail -n 1 "$WORK/pitr.err" | sed "s/^restore-pitr($PROJECT): //")"
  fi
  pitr=$(tail -n 1 "$WORK/pitr.out")
  reached=$(sed -n 's/.*replayed at \([0-9T:Z-]*\);.*/\1/p' <<<"$pitr")
  lag=""
  [ -z "$reached" ] || lag=" ($(( $(date -u +%s) - $(date -u -d "$reached" +%s) ))s before the drill)"
  echo "point-in-time: ${pitr/; RTO/$lag; RTO}" >> "$REPORT"
  say "point-in-time: ${pitr/; RTO/$lag; RTO}"
fi
finish 1 "$line"

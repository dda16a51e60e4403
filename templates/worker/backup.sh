#!/usr/bin/env bash
# supafleet: back up one project (or the master) with restic.
#   backup.sh <config> run      dump roles and database, back up files, apply retention, check weekly
#   backup.sh <config> forget   apply retention only
#   backup.sh <config> check [full]   verify the repository (a rotating fifth of the data, or all of it)
# Pings start/success/fail, alerts on failure, and exits non-zero on any failure.
set -euo pipefail
SCRIPT=backup
. "$(dirname "$0")/backup-lib.sh"
load_config "${1:-}"
MODE="${2:-run}"

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
TAGS=(--host "$PROJECT" --tag supafleet --tag "project:$PROJECT")

fail() {
  say "$*"
  echo "FAILED: $*" >> "$LOG"
  ping_hc "${HC_URL:-}" fail "$LOG"
  push_kuma down "backup failed: $*"
  alert "backup failed: $*"
  exit 1
}

# One stdin snapshot from a producer command. A producer that fails leaves no
# snapshot: the one restic made from its partial output is forgotten at once.
stream_snapshot() {
  local kind="$1" filename="$2"; shift 2
  local out rc_producer rc_restic id
  out=$(mktemp)
  set +e
  "$@" | r backup --stdin --stdin-filename "$filename" "${TAGS[@]}" --tag "kind:$kind" --json > "$out" 2>> "$LOG"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  rc_producer="${statuses[0]}" rc_restic="${statuses[1]}"
  id=$(jq -r 'select(.message_type == "summary") | .snapshot_id // empty' "$out" 2>/dev/null | tail -n 1)
  rm -f "$out"
  if [ "$rc_producer" -ne 0 ]; then
    [ -n "$id" ] && r forget "$id" >> "$LOG" 2>&1 || true
    fail "the $kind dump failed (exit $rc_producer); no snapshot kept"
  fi
  [ "$rc_restic" -eq 0 ] || fail "restic backup of $kind: $(restic_meaning "$rc_restic")"
  say "$kind: snapshot ${id:0:8}"
}

# The database dump, and its figures (rows, newest timestamps, checksums) taken
# in the same repeatable-read snapshot and appended as a final comment line.
dump_database() {
  coproc PSQL { psql_in_db "$DB_NAME" 2>&1; }
  local to="${PSQL[1]}" from="${PSQL[0]}" line snap="" stats=""
  printf '%s\n' "begin transaction isolation level repeatable read;" "select pg_export_snapshot();" '\echo __supafleet_end__' >&"$to"
  while IFS= read -r line <&"$from"; do [ "$line" = __supafleet_end__ ] && break; snap="$line"; done
  printf '%s\n' "$STATS_SQL" '\echo __supafleet_end__' >&"$to"
  while IFS= read -r line <&"$from"; do [ "$line" = __supafleet_end__ ] && break; stats="$line"; done
  [[ "$snap" =~ ^[0-9A-F-]+$ ]] || { echo "could not export a snapshot: $snap" >&2; return 1; }
  [[ "$stats" == \{* ]] || { echo "could not compute table figures: $stats" >&2; return 1; }
  local rc=0
  docker exec "$DB_CONTAINER" pg_dump -U supabase_admin -d "$DB_NAME" --snapshot="$snap" --clean --if-exists --quote-all-identifiers || rc=$?
  printf -- '-- supafleet-stats: %s\n' "$stats"
  printf '%s\n' "commit;" '\q' >&"$to"
  wait "$PSQL_PID" 2>/dev/null || true
  return "$rc"
}

dump_roles() {
  docker exec "$DB_CONTAINER" pg_dumpall -U supabase_admin --roles-only --no-role-passwords
}

forget() {
  local rc=0
  # Grouped by host and tags: each kind (roles, database, files) keeps its own 7/4/6.
  r forget "${TAGS[@]}" --group-by host,tags --keep-daily "$KEEP_DAILY" --keep-weekly "$KEEP_WEEKLY" --keep-monthly "$KEEP_MONTHLY" --prune >> "$LOG" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "restic forget: $(restic_meaning "$rc")"
}

check() {
  local rc=0 subset
  if [ "${1:-}" = full ]; then subset=(--read-data); else subset=(--read-data-subset "$(( $(date +%U) % 5 + 1 ))/5"); fi
  r check "${subset[@]}" >> "$LOG" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "restic check found problems: $(restic_meaning "$rc"); see: restic check --read-data"
  say "check passed (${subset[*]})"
}

run() {
  exec 9> "${SUPAFLEET_LOCK_DIR:-/run/lock}/supafleet-backup-$PROJECT.lock"
  flock -n 9 || fail "another backup of $PROJECT is still running"
  ping_hc "${HC_URL:-}" start
  r cat config > /dev/null 2>> "$LOG" || fail "cannot open the repository: $(tail -n 1 "$LOG")"
  if [ -n "${DB_CONTAINER:-}" ]; then
    stream_snapshot roles roles.sql dump_roles
    stream_snapshot database database.sql dump_database
  fi
  local paths=() p
  for p in ${BACKUP_PATHS:-}; do
    if [ -e "$p" ]; then paths+=("$p"); else say "skipping $p: it does not exist (yet)"; fi
  done
  if [ "${#paths[@]}" -gt 0 ]; then
    local rc=0
    r backup "${TAGS[@]}" --tag kind:files "${paths[@]}" >> "$LOG" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || fail "restic backup of files: $(restic_meaning "$rc")"
    say "files: backed up ${paths[*]}"
  fi
  forget
  if [ "$(date +%u)" = "${CHECK_WEEKDAY:-7}" ]; then check; fi
  ping_hc "${HC_URL:-}" success "$LOG"
  push_kuma up "backup ok at $(date -u +%FT%TZ)"
  say "done"
}

case "$MODE" in
  run) run ;;
  forget) forget; say "retention applied" ;;
  check) check "${3:-}" ;;
  *) die "unknown mode '$MODE' (run, forget, check)" ;;
esac

#!/usr/bin/env bash
# supafleet: back up one project (or the master) with restic.
#   backup.sh <config> run      globals (roles, settings), database, files, the base backup (with WAL archiving);
#                               retention; the weekly check; the second copy
#   backup.sh <config> base     a base backup now (point-in-time recovery starts from one)
#   backup.sh <config> forget   apply retention only
#   backup.sh <config> check [full]   verify the repository (a rotating fifth of the data, or all of it)
#   backup.sh <config> copy     copy to the second repository and apply its retention
#   backup.sh <config> snapshot LABEL [--files]   globals and database now (and the files), tagged LABEL
#                                 (pre-upgrade, final); prints the database snapshot's id
#   backup.sh <config> verify ID   the database snapshot ID and its run's roles read back whole (completion marks)
#   backup.sh <config> rekey   after a rotation: the key of RESTIC_PREVIOUS_PASSWORD replaced by one for RESTIC_PASSWORD
#   backup.sh <config> status  the backups' state as one JSON object (the worker agent's status)
# Pings start/success/fail, pushes to Uptime Kuma, alerts on failure, and exits non-zero on any failure.
set -euo pipefail
SCRIPT='backup'
# shellcheck source=backup-lib.sh
. "$(dirname "$0")/backup-lib.sh"
load_config "${1:-}"
CONFIG="$1"
MODE="${2:-run}"

LOG=$(mktemp)
trap 'rm -f "$LOG" "$LOG.list"' EXIT
TAGS=(--host "$PROJECT" --tag supafleet --tag "project:$PROJECT")
# The outcomes of the last run, second copy and drill (drill.sh writes last-drill.json), for `status`:
# under the worker's state folder, made when it is installed (a run from a checkout records nothing).
STATE_ROOT="${SUPAFLEET_STATE_DIR:-/var/lib/supafleet}"
RESULTS="$STATE_ROOT/backup/$PROJECT"

# restic's snapshot list as `status` last read it. The console asks every minute, and listing each project's
# repository over SFTP that often is work for nothing: the list is reused until another mode runs (it may
# change the snapshots), an outcome is recorded after it, or it is STATUS_CACHE_MINUTES old.
SNAPSHOT_LIST="$RESULTS/snapshots.json"
STATUS_CACHE_MINUTES="${SUPAFLEET_STATUS_CACHE_MINUTES:-10}"
[ "$MODE" = status ] || rm -f "$SNAPSHOT_LIST"

record() { # <last-run|last-copy> <true|false> <message>
  [ -d "$STATE_ROOT" ] || return 0
  { install -d -m 0700 "$RESULTS" && jq -n --argjson at "$(date +%s)" --argjson ok "$2" --arg message "$3" '{at: $at, ok: $ok, message: $message}' > "$RESULTS/$1.json"; } 2>/dev/null \
    || say "could not record the outcome in $RESULTS"
}

fail() {
  say "$*"
  echo "FAILED: $*" >> "$LOG"
  [ "$MODE" != run ] || record last-run false "$*"
  ping_hc "${HC_URL:-}" fail "$LOG"
  push_kuma down "backup failed: $*"
  alert "backup failed: $*"
  exit 1
}

# Checked after the settings are read, so that a missing tool is reported on every channel.
missing=$(missing_tools)
[ -z "$missing" ] || fail "missing $missing on $(hostname)"
sftp_options

# One stdin snapshot from a producer command. It is written tagged "pending"
# and loses the tag only once the producer has succeeded, so a snapshot of a
# failed dump is never what a restore, a drill or the copy takes, even if it
# cannot be forgotten at once (the next run forgets it).
stream_snapshot() {
  local kind="$1" filename="$2"; shift 2
  local out rc_producer rc_restic id
  out=$(mktemp)
  set +e
  "$@" | r backup --stdin --stdin-filename "$filename" "${TAGS[@]}" --tag "kind:$kind" --tag pending --json > "$out" 2>> "$LOG"
  local statuses=("${PIPESTATUS[@]}")
  set -e
  rc_producer="${statuses[0]}" rc_restic="${statuses[1]}"
  id=$(jq -r 'select(.message_type == "summary") | .snapshot_id // empty' "$out" 2>/dev/null | tail -n 1)
  rm -f "$out"
  if [ "$rc_producer" -ne 0 ]; then
    if [ -n "$id" ] && ! r_exclusive forget "$id" >> "$LOG"; then
      say "the partial $kind snapshot ${id:0:8} stays marked pending ($(restic_meaning 1 "$LOG")); the next run forgets it"
    fi
    fail "the $kind dump failed (exit $rc_producer); no snapshot kept"
  fi
  [ "$rc_restic" -eq 0 ] || fail "restic backup of $kind: $(restic_meaning "$rc_restic" "$LOG")"
  local done_tags=() tag
  if [ -n "${DONE_TAGS_FILE:-}" ] && [ -s "$DONE_TAGS_FILE" ]; then
    while IFS= read -r tag; do done_tags+=(--add "$tag"); done < "$DONE_TAGS_FILE"
  fi
  r_exclusive tag --remove pending "${done_tags[@]}" "$id" >> "$LOG" || fail "the $kind snapshot ${id:0:8} could not be marked complete: $(restic_meaning 1 "$LOG")"
  # Removing the tag rewrote the snapshot under a new id, which records the old one as its
  # original (restic 0.14 reports a new snapshot by its short id).
  LAST_SNAPSHOT=$(r snapshots --json --host "$PROJECT" --tag "kind:$kind" 2>> "$LOG" | jq -r --arg old "$id" '.[] | select((.original // "") | startswith($old)) | .id' | tail -n 1)
  [ -n "$LAST_SNAPSHOT" ] || fail "the $kind snapshot ${id:0:8} was marked complete but cannot be found again"
  say "$kind: snapshot ${LAST_SNAPSHOT:0:8}"
}

# Pending snapshots left by an earlier failed run that could not forget them.
drop_pending() {
  local ids
  # restic ORs repeated --tag flags and ANDs the tags of one: this asks for pending snapshots of this project only.
  ids=$(r snapshots --json --host "$PROJECT" --tag "project:$PROJECT,pending" 2>> "$LOG" | jq -r '.[] | select(.tags | index("pending")) | .id') \
    || fail "cannot list snapshots: $(restic_meaning 1 "$LOG")"
  [ -z "$ids" ] && return 0
  # shellcheck disable=SC2086 # one snapshot id per word
  r_exclusive forget $ids >> "$LOG" || fail "cannot forget the pending snapshots of an earlier failed run: $(restic_meaning 1 "$LOG")"
  say "forgot $(wc -w <<<"$ids") pending snapshot(s) of an earlier failed run"
}

# The database dump, and its figures (rows, newest timestamps, checksums) taken
# in the same repeatable-read snapshot. Only a dump that pg_dump finished gets
# the two trailer lines: the figures, then the completion mark that every
# restore checks for, so a truncated dump never looks whole.
dump_database() {
  local to from pid line snap="" stats=""
  coproc PSQL { psql_in_db "$DB_NAME" 2>&1; }
  # Copies of the coprocess's pipes: bash closes PSQL's own fds and unsets PSQL_PID as soon as
  # psql exits, which can be before the last line is read.
  [ -n "${PSQL_PID:-}" ] || { echo "psql did not start" >&2; return 1; }
  pid=$PSQL_PID; exec {to}>&"${PSQL[1]}" {from}<&"${PSQL[0]}"
  printf '%s\n' "begin transaction isolation level repeatable read;" "select pg_export_snapshot();" '\echo __supafleet_end__' >&"$to"
  while IFS= read -r line <&"$from"; do [ "$line" = __supafleet_end__ ] && break; snap="$line"; done
  printf '%s\n' "$STATS_SQL" '\echo __supafleet_end__' >&"$to"
  while IFS= read -r line <&"$from"; do [ "$line" = __supafleet_end__ ] && break; stats="$line"; done
  [[ "$snap" =~ ^[0-9A-F-]+$ ]] || { echo "could not export a snapshot: $snap" >&2; return 1; }
  [[ "$stats" == \{* ]] || { echo "could not compute table figures: $stats" >&2; return 1; }
  local rc=0
  docker exec "$DB_CONTAINER" pg_dump -U supabase_admin -d "$DB_NAME" --snapshot="$snap" --clean --if-exists --quote-all-identifiers || rc=$?
  printf '%s\n' "commit;" '\q' >&"$to"
  exec {to}>&- {from}<&-
  wait "$pid" 2>/dev/null || true
  [ "$rc" -eq 0 ] || return "$rc"
  printf -- '-- supafleet-stats: %s\n' "$stats"
  printf -- '%s\n' "$DUMP_COMPLETE"
}

# The cluster's globals: every role with its attributes, password hash (the
# repository is encrypted), memberships and settings, then the database-level
# settings (ALTER DATABASE … SET, ALTER ROLE … IN DATABASE … SET), which
# pg_dumpall --roles-only leaves out and pg_dump writes only with --create.
dump_globals() {
  local settings
  docker exec "$DB_CONTAINER" pg_dumpall -U supabase_admin --roles-only --quote-all-identifiers || return
  settings=$(docker exec "$DB_CONTAINER" pg_dump -U supabase_admin -d "$DB_NAME" --create --schema-only --quote-all-identifiers --exclude-schema='*') || return
  echo "-- supafleet: database-level settings of \"$DB_NAME\""
  grep -E '^ALTER (DATABASE|ROLE) .* SET ' <<<"$settings" || true
  printf -- '%s\n' "$DUMP_COMPLETE"
}

# A physical copy of the data directory for point-in-time recovery, as a tar
# stream: PostgreSQL's low-level backup API (pg_backup_start/stop in one
# session), not pg_basebackup, whose replication connection Supabase's pg_hba.conf
# does not allow. The backup needs the WAL archived from its start to its stop,
# which the archive ships. backup_label, from pg_backup_stop, comes last, as a
# second tar member set; without it a restore would start from the wrong checkpoint.
# Writes the stop time and the first segment as tags for the snapshot, to $DONE_TAGS_FILE.
dump_base() {
  local to from pid line start="" cluster="" label="" rc=0 dir
  coproc BASE { psql_in_db postgres 2>&1; }
  [ -n "${BASE_PID:-}" ] || { echo "psql did not start" >&2; return 1; }
  pid=$BASE_PID; exec {to}>&"${BASE[1]}" {from}<&"${BASE[0]}" # see dump_database
  printf '%s\n' "select system_identifier from pg_control_system();" "select pg_walfile_name(pg_backup_start('supafleet', true));" '\echo __supafleet_end__' >&"$to"
  while IFS= read -r line <&"$from"; do [ "$line" = __supafleet_end__ ] && break; cluster="$start"; start="$line"; done
  if ! [[ "$start" =~ ^[0-9A-F]{24}$ ]] || ! [[ "$cluster" =~ ^[0-9]+$ ]]; then echo "pg_backup_start failed: $start" >&2; return 1; fi
  # GNU tar exits 1 when a file changed as it read it, which the WAL replay puts right; 2 is a real failure.
  docker exec "$DB_CONTAINER" tar -C /var/lib/postgresql/data -cf - --warning=no-file-changed --warning=no-file-removed --warning=no-file-shrank \
    --exclude=./pg_wal/* --exclude=./postmaster.pid --exclude=./postmaster.opts --exclude=./pg_replslot/* --exclude=./pg_dynshmem/* \
    --exclude=./pg_notify/* --exclude=./pg_serial/* --exclude=./pg_snapshots/* --exclude=./pg_stat_tmp/* --exclude=./pg_subtrans/* \
    --exclude=pgsql_tmp* --exclude=pg_internal.init --exclude=./current_logfiles . || rc=$?
  printf '%s\n' "select translate(encode(convert_to(labelfile, 'UTF8'), 'base64'), E'\\n', '') from pg_backup_stop(false);" '\echo __supafleet_end__' '\q' >&"$to"
  while IFS= read -r line <&"$from"; do [ "$line" = __supafleet_end__ ] && break; label="$line"; done
  exec {to}>&- {from}<&-
  wait "$pid" 2>/dev/null || true
  [ "$rc" -le 1 ] || { echo "tar of the data directory failed (exit $rc)" >&2; return 1; }
  dir=$(mktemp -d)
  if ! base64 -d <<<"$label" > "$dir/backup_label" 2>/dev/null || ! grep -q '^START WAL LOCATION' "$dir/backup_label"; then
    rm -rf "$dir"; echo "pg_backup_stop gave no backup label: $label" >&2; return 1
  fi
  tar -C "$dir" -cf - backup_label
  rm -rf "$dir"
  # The cluster's system identifier: its WAL is tagged with it too (wal.sh), and a restore takes no other.
  printf '%s\n' "base-stop:$(date -u +%s)" "base-wal:$start" "cluster:$cluster" > "$DONE_TAGS_FILE"
}

# A base backup, when the project archives its WAL.
base_backup() {
  [ -n "${WAL_SPOOL:-}" ] && [ -n "${DB_CONTAINER:-}" ] || return 0
  DONE_TAGS_FILE=$(mktemp)
  stream_snapshot base base.tar dump_base
  rm -f "$DONE_TAGS_FILE"
  DONE_TAGS_FILE=""
}

# Retention, as restic forget options for one repository: each kind keeps its own 7/4/6. Roles,
# database and files are grouped by their tags, so a labelled snapshot (pre-upgrade) is a set of its
# own; base backups by host alone, as each carries tags of its own (base-stop, base-wal) and would
# otherwise be a group of one that is never forgotten.
forget_by_kind() { # <restic function> <daily> <weekly> <monthly> [--prune]
  local run="$1" keep=(--keep-daily "$2" --keep-weekly "$3" --keep-monthly "$4") extra=("${@:5}")
  "$run" forget --host "$PROJECT" --tag "project:$PROJECT,kind:roles" --tag "project:$PROJECT,kind:database" --tag "project:$PROJECT,kind:files" \
    --group-by host,tags "${keep[@]}" "${extra[@]}" || return
  "$run" forget --host "$PROJECT" --tag "project:$PROJECT,kind:base" --group-by host "${keep[@]}" "${extra[@]}"
}

forget() {
  local rc=0
  forget_by_kind r_exclusive "$KEEP_DAILY" "$KEEP_WEEKLY" "$KEEP_MONTHLY" >> "$LOG" || rc=$?
  [ "$rc" -eq 0 ] || fail "restic forget: $(restic_meaning "$rc" "$LOG")"
  # Then the WAL that the oldest base backup still kept does not need.
  if [ -n "${WAL_SPOOL:-}" ]; then
    bash "$(dirname "$0")/wal.sh" "$CONFIG" prune >> "$LOG" 2>&1 || fail "pruning the WAL archive: $(tail -n 1 "$LOG")"
  fi
  r_exclusive prune >> "$LOG" || rc=$?
  [ "$rc" -eq 0 ] || fail "restic prune: $(restic_meaning "$rc" "$LOG")"
}

check() {
  local rc=0 subset
  # Week numbers 08 and 09 are not octal: 10# reads them as decimal.
  if [ "${1:-}" = full ]; then subset=(--read-data); else subset=(--read-data-subset "$(( 10#$(date +%U) % 5 + 1 ))/5"); fi
  r_exclusive check "${subset[@]}" >> "$LOG" || rc=$?
  [ "$rc" -eq 0 ] || fail "restic check found problems: $(restic_meaning "$rc" "$LOG"); see: restic check --read-data"
  say "check passed (${subset[*]})"
}

# The second copy: every snapshot not yet there, then the copy's own retention.
copy() {
  [ -n "${COPY_REPOSITORY:-}" ] || return 0
  : "${COPY_PASSWORD:?the settings name a COPY_REPOSITORY but no COPY_PASSWORD}"
  ping_hc "${COPY_HC_URL:-}" start
  local rc=0 source_password="$RESTIC_PASSWORD"
  # The copy's own password for its own repository; the source's reaches restic through a file descriptor.
  c() { RESTIC_PASSWORD="$COPY_PASSWORD" restic -r "$COPY_REPOSITORY" "${RESTIC_OPTS[@]}" "$@"; }
  c cat config > /dev/null 2>> "$LOG" || copy_failed "cannot open the second repository: $(restic_meaning 1 "$LOG")"
  c unlock > /dev/null 2>&1 || true
  c copy --from-repo "$RESTIC_REPOSITORY" --from-password-file <(printf '%s' "$source_password") "${TAGS[@]}" >> "$LOG" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || copy_failed "restic copy: $(restic_meaning "$rc" "$LOG")"
  forget_by_kind c "${COPY_KEEP_DAILY:-$KEEP_DAILY}" "${COPY_KEEP_WEEKLY:-$KEEP_WEEKLY}" "${COPY_KEEP_MONTHLY:-$KEEP_MONTHLY}" --prune >> "$LOG" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || copy_failed "restic forget on the second repository: $(restic_meaning "$rc" "$LOG")"
  ping_hc "${COPY_HC_URL:-}" success "$LOG"
  record last-copy true "up to date"
  say "second copy: up to date"
}

copy_failed() {
  say "$*"
  echo "FAILED: $*" >> "$LOG"
  record last-copy false "$*"
  ping_hc "${COPY_HC_URL:-}" fail "$LOG"
  push_kuma down "second copy failed: $*"
  alert "second copy failed: $*"
  exit 1
}

run() {
  exec 9> "${SUPAFLEET_LOCK_DIR:-/run/lock}/supafleet-backup-$PROJECT.lock"
  flock -n 9 || fail "another backup of $PROJECT is still running"
  ping_hc "${HC_URL:-}" start
  # Opens the repository (a wrong password or a missing one fails here, before anything is dumped) and clears stale locks.
  clear_stale_locks "$LOG" || fail "cannot open the repository: $(restic_meaning 1 "$LOG")"
  drop_pending
  if [ -n "${DB_CONTAINER:-}" ]; then
    stream_snapshot roles roles.sql dump_globals
    stream_snapshot database database.sql dump_database
    base_backup
  fi
  local paths=() p
  for p in ${BACKUP_PATHS:-}; do
    if [ -e "$p" ]; then paths+=("$p"); else say "skipping $p: it does not exist (yet)"; fi
  done
  if [ "${#paths[@]}" -gt 0 ]; then
    local rc=0
    r backup "${TAGS[@]}" --tag kind:files "${paths[@]}" >> "$LOG" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || fail "restic backup of files: $(restic_meaning "$rc" "$LOG")"
    say "files: backed up ${paths[*]}"
  fi
  forget
  if [ "$(date +%u)" = "${CHECK_WEEKDAY:-7}" ]; then check; fi
  ping_hc "${HC_URL:-}" success "$LOG"
  push_kuma up "backup ok at $(date -u +%FT%TZ)"
  record last-run true "backup ok"
  say "done"
  copy
}

# A labelled snapshot outside the nightly run, before a change that cannot be undone
# by redeploying (an upgrade's migrations). It waits for a running backup rather than fail.
snapshot() {
  local label="${1:-}"
  [[ "$label" =~ ^[a-z][a-z0-9-]{0,40}$ ]] || die "snapshot needs a label such as pre-upgrade"
  [ -n "${DB_CONTAINER:-}" ] || die "this config has no database to snapshot"
  exec 9> "${SUPAFLEET_LOCK_DIR:-/run/lock}/supafleet-backup-$PROJECT.lock"
  flock -w "${SUPAFLEET_LOCK_WAIT:-600}" 9 || fail "another backup of $PROJECT kept running; no $label snapshot taken"
  clear_stale_locks "$LOG" || fail "cannot open the repository: $(restic_meaning 1 "$LOG")"
  TAGS+=(--tag "$label")
  stream_snapshot roles roles.sql dump_globals
  stream_snapshot database database.sql dump_database
  local database="$LAST_SNAPSHOT"
  if [ "${2:-}" = --files ]; then
    local paths=() p rc=0
    for p in ${BACKUP_PATHS:-}; do [ ! -e "$p" ] || paths+=("$p"); done
    if [ "${#paths[@]}" -gt 0 ]; then
      r backup "${TAGS[@]}" --tag kind:files "${paths[@]}" >> "$LOG" 2>&1 || rc=$?
      [ "$rc" -eq 0 ] || fail "restic backup of files: $(restic_meaning "$rc" "$LOG")"
      say "files: backed up ${paths[*]}"
    fi
  fi
  say "$label snapshot of $PROJECT: ${database:0:8}"
  echo "$database"
}

# Reads a database snapshot and the roles snapshot of the same label back out of the
# repository, whole: every blob decrypts and each dump ends with its completion mark.
verify() {
  local id="${1:-}" label last
  [[ "$id" =~ ^[0-9a-f]{8,64}$ ]] || die "verify needs a snapshot id"
  label=$(r snapshots --json "$id" 2>> "$LOG" | jq -r '.[0].tags[] | select(. != "supafleet" and (startswith("project:") or startswith("kind:")) == false)' | head -n 1) \
    || fail "snapshot $id is not in the repository: $(restic_meaning 1 "$LOG")"
  last=$(r dump "$id" database.sql 2>> "$LOG" | tail -n 1) || fail "cannot read snapshot ${id:0:8} back: $(restic_meaning 1 "$LOG")"
  [ "$last" = "$DUMP_COMPLETE" ] || fail "the database dump in snapshot ${id:0:8} is not complete"
  local roles
  roles=$(r snapshots --json --host "$PROJECT" --tag "kind:roles${label:+,$label}" 2>> "$LOG" | jq -r 'max_by(.time) | .id // empty')
  [ -n "$roles" ] || fail "no roles snapshot goes with ${id:0:8}"
  last=$(r dump "$roles" roles.sql 2>> "$LOG" | tail -n 1) || fail "cannot read roles snapshot ${roles:0:8} back: $(restic_meaning 1 "$LOG")"
  [ "$last" = "$DUMP_COMPLETE" ] || fail "the roles dump in snapshot ${roles:0:8} is not complete"
  say "snapshot ${id:0:8} and roles ${roles:0:8} read back whole"
}

# A rotated password (rotate.restic): add a key for the new password with the old
# one, then remove the old key with the new one. Other keys (the reader's) stay.
# Run again, it finds the new password already works and does nothing.
rekey() {
  if r cat config > /dev/null 2>> "$LOG"; then say "the repository opens with the current password"; return 0; fi
  [ -n "${RESTIC_PREVIOUS_PASSWORD:-}" ] || fail "the repository does not open with the current password, and no previous one is set"
  local old new_file
  old=$(RESTIC_PASSWORD="$RESTIC_PREVIOUS_PASSWORD" r key list --json 2>> "$LOG" | jq -r '.[] | select(.current) | .id') \
    || fail "the repository opens with neither the current nor the previous password: $(restic_meaning 1 "$LOG")"
  [ -n "$old" ] || fail "cannot tell which key the previous password uses"
  new_file=$(mktemp)
  printf '%s' "$RESTIC_PASSWORD" > "$new_file"
  RESTIC_PASSWORD="$RESTIC_PREVIOUS_PASSWORD" r key add --new-password-file "$new_file" >> "$LOG" 2>&1 || { rm -f "$new_file"; fail "adding the new key failed: $(restic_meaning 1 "$LOG")"; }
  rm -f "$new_file"
  r key remove "$old" >> "$LOG" 2>&1 || fail "the new key works, but removing the old key ${old} failed: $(restic_meaning 1 "$LOG"); remove it by hand"
  say "restic password rotated: key ${old} removed"
}

# No lock: a lock held by `status` would make a running backup wait for it.
snapshot_list() {
  if [ -s "$SNAPSHOT_LIST" ] && [ -n "$(find "$SNAPSHOT_LIST" -mmin "-$STATUS_CACHE_MINUTES")" ] \
    && [ -z "$(find "$RESULTS" -maxdepth 1 -name 'last-*.json' -newer "$SNAPSHOT_LIST")" ]; then
    cat "$SNAPSHOT_LIST"
    return 0
  fi
  r snapshots --no-lock --json --host "$PROJECT" --tag "project:$PROJECT" 2>> "$LOG" > "$LOG.list" || return 1
  # Kept only where outcomes are recorded (an installed worker), written whole or not at all.
  if [ -d "$RESULTS" ] && cp "$LOG.list" "$SNAPSHOT_LIST.new" 2>/dev/null; then mv -f "$SNAPSHOT_LIST.new" "$SNAPSHOT_LIST"; fi
  cat "$LOG.list"
}

# The newest complete snapshot of each kind (restic 0.17 and newer also give its size), the
# recorded outcomes, and the WAL archive's state when the project archives its WAL.
status() {
  local wal=null result name
  local -A results=()
  for name in last-run last-copy last-drill; do
    result=$(jq -c . "$RESULTS/$name.json" 2>/dev/null) || result=null
    results[$name]=${result:-null}
  done
  if [ -n "${WAL_SPOOL:-}" ]; then wal=$(bash "$(dirname "$0")/wal.sh" "$CONFIG" status 2>> "$LOG") || wal=null; fi
  # The snapshot list goes through a pipe: as an argument it could outgrow the kernel's limit for one.
  snapshot_list | jq -c --arg project "$PROJECT" --argjson wal "${wal:-null}" \
    --argjson run "${results[last-run]}" --argjson copy "${results[last-copy]}" --argjson drill "${results[last-drill]}" "$JQ_EPOCH"'
    [.[] | (.tags // []) as $t | select($t | index("pending") | not) | ($t[] | select(startswith("kind:")) | .[5:]) as $kind
      | {kind: $kind, id: .short_id, time, at: (.time | epoch), size: (.summary.total_bytes_processed // null),
         labels: [$t[] | select(. != "supafleet" and (contains(":") | not))]}]
    | {project: $project, snapshots: (group_by(.kind) | map({key: .[0].kind, value: (max_by(.at) | del(.kind))}) | from_entries),
       lastRun: $run, copy: $copy, drill: $drill, wal: $wal}' \
    || die "cannot list snapshots: $(restic_meaning 1 "$LOG")"
}

case "$MODE" in
  run) run ;;
  base)
    exec 9> "${SUPAFLEET_LOCK_DIR:-/run/lock}/supafleet-backup-$PROJECT.lock"
    flock -w "${SUPAFLEET_LOCK_WAIT:-600}" 9 || fail "another backup of $PROJECT kept running; no base backup taken"
    [ -n "${WAL_SPOOL:-}" ] || die "$PROJECT does not archive its WAL (backups.pitr): a base backup alone restores nothing"
    clear_stale_locks "$LOG" || fail "cannot open the repository: $(restic_meaning 1 "$LOG")"
    base_backup
    echo "$LAST_SNAPSHOT" ;;
  rekey) rekey ;;
  snapshot) snapshot "${3:-}" "${4:-}" ;;
  verify) verify "${3:-}" ;;
  forget) clear_stale_locks "$LOG" || fail "cannot open the repository: $(restic_meaning 1 "$LOG")"; forget; say "retention applied" ;;
  check) clear_stale_locks "$LOG" || fail "cannot open the repository: $(restic_meaning 1 "$LOG")"; check "${3:-}" ;;
  copy) copy ;;
  status) status ;;
  *) die "unknown mode '$MODE' (run, base, forget, check, copy, snapshot, verify, rekey, status)" ;;
esac

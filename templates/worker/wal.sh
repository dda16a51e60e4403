#!/usr/bin/env bash
# supafleet: one project's continuous WAL archive, in its restic repository.
#   wal.sh <config> prepare         the spool's folders, writable by the database container's postgres
#   wal.sh <config> ship            every minute (supafleet-wal@.timer): the spooled segments into restic,
#                                   a closed day's parts folded into one snapshot, health to Kuma and alerts
#   wal.sh <config> prune           forget the WAL that no kept base backup needs (backup.sh's nightly forget)
#   wal.sh <config> status          the archive's state as one JSON object
#   wal.sh <config> fetch CLUSTER SINCE DIR   every segment of the cluster CLUSTER (its system
#                                   identifier) shipped at or after SINCE (epoch seconds), and its timeline
#                                   history files, into DIR (for restore-pitr.sh)
#
# The database's archive_command (wal-archive.sh) copies each finished segment into
# <WAL_SPOOL>/incoming. A ship backs those files up as one snapshot tagged
# wal, wal:part, day:<UTC day> and bucket:<day>-<n>, then moves them to
# days/<cluster>/<day>-<n>; history files go to history/, kept for good (tag wal:history).
# Once a folder is closed (its day is over, or it holds WAL_BUCKET_MIB), it is backed up
# whole as one wal:day snapshot (its data is already in the repository, so only the
# listing is new), its parts are forgotten and the folder is deleted: an idle day costs
# one snapshot, not one a minute, and a busy project's spool stays small. restic encrypts everything before it leaves the worker.
# Every snapshot is tagged cluster:<system identifier>: a project moved to another worker,
# or restored there from a dump, is a new cluster whose segment and history file names
# start again, and a restore must never mix the two.
set -euo pipefail
SCRIPT='wal'
# shellcheck source=backup-lib.sh
. "$(dirname "$0")/backup-lib.sh"
load_config "${1:-}"
MODE="${2:-ship}"
WAL_ALERT_AFTER="${WAL_ALERT_AFTER:-180}" WAL_PGWAL_LIMIT_MIB="${WAL_PGWAL_LIMIT_MIB:-1024}"
STATE="${WAL_SPOOL:-}/state"
# Every mode but fetch (which a seed runs on another project's archive) works on this project's spool.
[ "$MODE" = fetch ] || [ -n "${WAL_SPOOL:-}" ] || die "${1} sets no WAL_SPOOL: $PROJECT does not archive its WAL (backups.pitr)"
# The spool inside the database container (wal-archive.sh's SPOOL).
CONTAINER_SPOOL=/var/lib/supafleet/wal-spool

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

now() { date -u +%s; }

prepare() {
  install -d -m 0700 "$WAL_SPOOL/days" "$WAL_SPOOL/history" "$STATE" "$WAL_SPOOL/incoming"
  # The container's postgres passes through the spool to incoming/, and sees nothing else.
  chmod 0711 "$WAL_SPOOL"
  # The database's postgres writes incoming/ through the bind mount: it must own it, by its uid in the image.
  if [ -n "${DB_CONTAINER:-}" ] && [ "$(docker inspect -f '{{.State.Running}}' "$DB_CONTAINER" 2>/dev/null)" = true ]; then
    docker exec -u root "$DB_CONTAINER" chown postgres:postgres "$CONTAINER_SPOOL/incoming" \
      || die "cannot give $DB_CONTAINER's postgres the spool's incoming folder"
    # Once per start of the database: a reload wakes its checkpointer, which after a start can sleep a whole
    # checkpoint_timeout before archive_timeout counts (docs/benchmarks.md, point-in-time recovery).
    local started
    started=$(docker inspect -f '{{.State.StartedAt}}' "$DB_CONTAINER")
    if [ "$started" != "$(cat "$STATE/db-started" 2>/dev/null)" ] && psql_in_db postgres -c "select pg_reload_conf()" > /dev/null 2>&1; then
      echo "$started" > "$STATE/db-started"
    fi
  fi
}

# Segment files waiting in incoming/, oldest first (names sort in WAL order within a timeline).
waiting() { find "$WAL_SPOOL/incoming" -maxdepth 1 -type f -regex '.*/[0-9A-F][0-9A-F.a-z]*' -printf '%f\n' | sort; }

# The cluster's system identifier: from the running database, else the last one seen. A new one
# (the project restored onto this worker from a dump) starts a new history folder.
cluster_id() {
  local id=""
  if [ -n "${DB_CONTAINER:-}" ]; then id=$(psql_in_db postgres -c "select system_identifier from pg_control_system()" 2>/dev/null || true); fi
  if [[ "$id" =~ ^[0-9]+$ ]]; then
    if [ -s "$STATE/cluster" ] && [ "$(cat "$STATE/cluster")" != "$id" ] && [ -d "$WAL_SPOOL/history" ]; then
      mv "$WAL_SPOOL/history" "$WAL_SPOOL/history.$(cat "$STATE/cluster")"
      install -d -m 0700 "$WAL_SPOOL/history"
    fi
    echo "$id" > "$STATE/cluster"
  fi
  [ -s "$STATE/cluster" ] && cat "$STATE/cluster"
}

# The folder this ship's segments go to: days/<cluster>/<day>-<n>, a new one once the last holds
# WAL_BUCKET_MIB (1 GiB), so that the spool keeps at most about that much of a busy project's WAL.
# The number is kept in the state, never reused: a folded folder's name is its snapshots' tag.
current_bucket() {
  local cluster="$1" day="$2" file="$STATE/bucket-$1" last="" n=0
  [ -s "$file" ] && last=$(cat "$file")
  if [ "${last%%-*}" = "$day" ]; then
    n=${last#*-}
    if [ -d "$WAL_SPOOL/days/$cluster/$last" ] && [ "$(du -sm "$WAL_SPOOL/days/$cluster/$last" | cut -f1)" -ge "${WAL_BUCKET_MIB:-1024}" ]; then n=$((n + 1)); fi
  fi
  echo "$day-$n" > "$file"
  echo "$day-$n"
}

ship_waiting() {
  local -a files=() history=()
  local name day cluster bucket
  day=$(date -u +%Y%m%d)
  cluster=$(cluster_id) || { SHIP_ERROR="the database's system identifier is not known yet (is $DB_CONTAINER running?)"; return 1; }
  bucket=$(current_bucket "$cluster" "$day")
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    files+=("$WAL_SPOOL/incoming/$name")
    [[ "$name" == *.history ]] && history+=("$name")
  done < <(waiting)
  [ "${#files[@]}" -gt 0 ] || return 0
  local rc=0
  r backup --host "$PROJECT" --tag wal --tag wal:part --tag "day:$day" --tag "bucket:$bucket" --tag "cluster:$cluster" "${files[@]}" >> "$LOG" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { SHIP_ERROR="restic backup of ${#files[@]} segment(s): $(restic_meaning "$rc" "$LOG")"; return 1; }
  install -d -m 0700 "$WAL_SPOOL/days/$cluster/$bucket"
  local f
  for f in "${files[@]}"; do
    if [[ "$f" == *.history ]]; then mv "$f" "$WAL_SPOOL/history/"; else mv "$f" "$WAL_SPOOL/days/$cluster/$bucket/"; fi
  done
  [ "${#history[@]}" -eq 0 ] || ship_history "$cluster"
  printf '%s %s\n' "$(now)" "$(basename "${files[-1]}")" > "$STATE/last-shipped"
  say "shipped ${#files[@]} file(s), up to $(basename "${files[-1]}")"
}

# Timeline history files, all of them in one snapshot: a restore needs every one, whatever its age.
ship_history() {
  r backup --host "$PROJECT" --tag wal --tag wal:history --tag "cluster:$1" "$WAL_SPOOL/history" >> "$LOG" 2>&1 \
    || { say "history files stay to be shipped with the next one: $(restic_meaning 1 "$LOG")"; return 0; }
  forget_all_but_newest "wal:history,cluster:$1"
}

# Snapshots with all the given tags (comma-separated), as "id epoch", oldest first.
snapshots_tagged() {
  r snapshots --json --host "$PROJECT" --tag "$1" 2>> "$LOG" | jq -r "$JQ_EPOCH"' map(.epoch = (.time | epoch)) | sort_by(.epoch)[] | "\(.id) \(.epoch)"'
}

forget_all_but_newest() {
  local ids
  ids=$(snapshots_tagged "$1" | head -n -1 | cut -d' ' -f1)
  [ -z "$ids" ] && return 0
  # shellcheck disable=SC2086 # one id per word
  SUPAFLEET_LOCK_WAIT=0 r_exclusive forget $ids >> "$LOG" 2>&1 || say "older $1 snapshots stay until the next ship: $(restic_meaning 1 "$LOG")"
}

# A folder no ship adds to any more (a day that is over, or one that reached WAL_BUCKET_MIB): one
# snapshot of all of it (tag wal:day), then its parts go, then the folder.
fold_closed_buckets() {
  local today="$1" current="$2" dir bucket day cluster parts
  for dir in "$WAL_SPOOL"/days/*/*/; do
    [ -d "$dir" ] || continue
    bucket=$(basename "$dir") cluster=$(basename "$(dirname "$dir")") day="${bucket%%-*}"
    if ! [[ "$bucket" =~ ^[0-9]{8}-[0-9]+$ ]] || [ "$day" -gt "$today" ] || [ "$bucket" = "$current" ]; then continue; fi
    if [ "$day" = "$today" ] && [ "${bucket#*-}" -ge "${current#*-}" ]; then continue; fi
    r backup --host "$PROJECT" --tag wal --tag wal:day --tag "day:$day" --tag "bucket:$bucket" --tag "cluster:$cluster" "${dir%/}" >> "$LOG" 2>&1 \
      || { say "$bucket stays in parts until the next ship: $(restic_meaning 1 "$LOG")"; return 0; }
    parts=$( { snapshots_tagged "wal:part,bucket:$bucket,cluster:$cluster"; snapshots_tagged "wal:day,bucket:$bucket,cluster:$cluster" | head -n -1; } | cut -d' ' -f1)
    if [ -n "$parts" ]; then
      # shellcheck disable=SC2086 # one id per word
      SUPAFLEET_LOCK_WAIT=0 r_exclusive forget $parts >> "$LOG" 2>&1 \
        || { say "$bucket is folded; its parts go with the next ship: $(restic_meaning 1 "$LOG")"; return 0; }
    fi
    rm -rf "$dir"
    say "$bucket folded into one snapshot"
  done
}

# What is wrong with archiving now, one line each; nothing when all is well.
problems() {
  local oldest age stats failed last_failed last_archived pgwal
  if [ -n "${SHIP_ERROR:-}" ]; then echo "shipping fails: $SHIP_ERROR"; fi
  oldest=$(find "$WAL_SPOOL/incoming" -maxdepth 1 -type f -regex '.*/[0-9A-F][0-9A-F.a-z]*' -printf '%T@\n' | sort -n | head -n 1)
  if [ -n "$oldest" ]; then
    age=$(( $(now) - ${oldest%.*} ))
    [ "$age" -le "$WAL_ALERT_AFTER" ] || echo "a segment has waited ${age}s in the spool"
  fi
  [ -n "${DB_CONTAINER:-}" ] || return 0
  stats=$(psql_in_db postgres -F ' ' -c "select coalesce(extract(epoch from last_failed_time)::bigint, 0), coalesce(extract(epoch from last_archived_time)::bigint, 0), coalesce(last_failed_wal, '-'), (select (coalesce(sum(size), 0) / 1048576)::bigint from pg_ls_waldir()), current_setting('archive_mode') from pg_stat_archiver" 2>/dev/null) \
    || { echo "cannot read pg_stat_archiver from $DB_CONTAINER"; return 0; }
  read -r last_failed last_archived failed pgwal mode <<<"$stats"
  # A database started without the compose file's settings (by hand, say) archives nothing at all.
  [ "$mode" != off ] || echo "archive_mode is off in $DB_CONTAINER: nothing is archived"
  if [ "$last_failed" -gt "$last_archived" ]; then echo "archive_command fails (last for $failed, $(( $(now) - last_failed ))s ago)"; fi
  [ "$pgwal" -le "$WAL_PGWAL_LIMIT_MIB" ] || echo "pg_wal holds ${pgwal} MiB (limit ${WAL_PGWAL_LIMIT_MIB} MiB)"
}

# Alerts once a problem has lasted WAL_ALERT_AFTER seconds, and once more when it is over.
report() {
  local found="$1" since
  if [ -n "$found" ]; then
    [ -f "$STATE/problem-since" ] || now > "$STATE/problem-since"
    since=$(cat "$STATE/problem-since")
    if [ $(( $(now) - since )) -ge "$WAL_ALERT_AFTER" ]; then
      push_wal_kuma down "WAL archive: ${found//$'\n'/; }"
      if [ ! -f "$STATE/alerted" ]; then
        alert "WAL archiving is failing: ${found//$'\n'/; }"
        touch "$STATE/alerted"
      fi
    fi
    say "problem: ${found//$'\n'/; }"
    return 1
  fi
  if [ -f "$STATE/alerted" ]; then alert "WAL archiving works again: every spooled segment is shipped"; fi
  rm -f "$STATE/problem-since" "$STATE/alerted"
  push_wal_kuma up "WAL archive ok; last segment shipped $(shipped_age)s ago"
}

shipped_age() { if [ -s "$STATE/last-shipped" ]; then echo $(( $(now) - $(cut -d' ' -f1 "$STATE/last-shipped") )); else echo -1; fi; }

push_wal_kuma() { KUMA_PUSH_URL="${WAL_KUMA_PUSH_URL:-}" push_kuma "$@"; }

ship() {
  exec 8> "${SUPAFLEET_LOCK_DIR:-/run/lock}/supafleet-wal-$PROJECT.lock"
  flock -n 8 || { say "an earlier ship is still running"; return 0; }
  local missing
  missing=$(missing_tools)
  if [ -z "$missing" ]; then sftp_options; else SHIP_ERROR="missing $missing on $(hostname)"; fi
  # Every time: a database container made again (an upgrade, a restore) must own incoming/ again.
  prepare
  if [ -z "${SHIP_ERROR:-}" ] && ship_waiting; then
    local cluster today
    today=$(date -u +%Y%m%d)
    if cluster=$(cluster_id); then fold_closed_buckets "$today" "$(current_bucket "$cluster" "$today")"; fi
  fi
  report "$(problems)"
}

# Forgets the WAL that came before the oldest kept base backup: a segment shipped
# before a backup began is finished before it, so no kept base backup replays it.
# History files stay. Only forget: backup.sh's nightly prune frees the space.
prune() {
  local oldest ids
  oldest=$(r snapshots --json --host "$PROJECT" --tag kind:base 2>> "$LOG" | jq -r "$JQ_EPOCH"' [.[] | select((.tags // []) | index("pending") | not) | .time | epoch] | min // empty') \
    || die "cannot list the base backups: $(restic_meaning 1 "$LOG")"
  [ -n "$oldest" ] || { say "no base backup yet: all WAL is kept"; return 0; }
  # A part ends when it was shipped; a folded day at the end of its UTC day.
  ids=$(r snapshots --json --host "$PROJECT" --tag wal 2>> "$LOG" | jq -r --argjson before "$oldest" "$JQ_EPOCH"'
    .[] | (.tags // []) as $t | select($t | index("wal:history") | not)
    | (if ($t | index("wal:day")) then ($t[] | select(startswith("day:")) | .[4:] | "\(.[0:4])-\(.[4:6])-\(.[6:8])T00:00:00Z" | fromdateiso8601 + 86400) else (.time | epoch) end) as $until
    | select($until <= $before) | .id' 2>> "$LOG") || die "cannot list the WAL snapshots: $(restic_meaning 1 "$LOG")"
  [ -n "$ids" ] || { say "no WAL older than the oldest kept base backup"; return 0; }
  # shellcheck disable=SC2086 # one id per word
  r_exclusive forget $ids >> "$LOG" 2>&1 || die "forgetting old WAL: $(restic_meaning 1 "$LOG")"
  say "forgot $(wc -w <<<"$ids") WAL snapshot(s) older than the oldest kept base backup"
}

status() {
  local waiting_count
  waiting_count=$(waiting | wc -l)
  jq -n --argjson age "$(shipped_age)" --argjson waiting "$waiting_count" --arg last "$( [ -s "$STATE/last-shipped" ] && cut -d' ' -f2 "$STATE/last-shipped")" \
    --arg problems "$(problems)" --argjson alerted "$( [ -f "$STATE/alerted" ] && echo true || echo false)" \
    '{lastShipped: $last, lastShippedAgeSeconds: $age, waiting: $waiting, alerted: $alerted, problems: ($problems | split("\n") | map(select(. != "")))}'
}

fetch() {
  local cluster="${1:?fetch needs the cluster system identifier}" since="${2:?fetch needs a time (epoch seconds)}" dest="${3:?fetch needs a folder}" ids id n=0
  [[ "$since" =~ ^[0-9]+$ ]] || die "fetch needs a time in epoch seconds"
  install -d -m 0700 "$dest"
  ids=$(r snapshots --json --host "${SNAPSHOT_HOST:-$PROJECT}" --tag "wal,cluster:$cluster" 2>> "$LOG" | jq -r --argjson since "$since" "$JQ_EPOCH"'
    sort_by(.time | epoch)[] | (.tags // []) as $t
    | select(($t | index("wal:history")) or ((.time | epoch) >= $since)) | .id') \
    || die "cannot list the WAL archive: $(restic_meaning 1 "$LOG")"
  local tmp
  tmp=$(mktemp -d)
  for id in $ids; do
    r restore "$id" --target "$tmp/$id" >> "$LOG" 2>&1 || { rm -rf "$tmp"; die "restoring WAL snapshot ${id:0:8} failed: $(restic_meaning 1 "$LOG")"; }
    n=$((n + 1))
  done
  # Flat, by name: a file in two snapshots (a history file in a part and in the history set, a segment
  # in a part and its day) is the same file. Two different files of one name are never papered over.
  local f name
  while IFS= read -r -d '' f; do
    name=$(basename "$f")
    if [ -e "$dest/$name" ]; then
      cmp -s "$f" "$dest/$name" || { rm -rf "$tmp"; die "the archive holds two different $name"; }
    else
      mv "$f" "$dest/$name"
    fi
  done < <(find "$tmp" -type f -print0)
  rm -rf "$tmp"
  say "fetched $n WAL snapshot(s): $(find "$dest" -maxdepth 1 -type f | wc -l) file(s) into $dest"
}

case "$MODE" in
  prepare) prepare ;;
  ship) ship ;;
  prune) sftp_options; clear_stale_locks "$LOG" || die "cannot open the repository: $(restic_meaning 1 "$LOG")"; prune ;;
  status) status ;;
  fetch) missing=$(missing_tools); [ -z "$missing" ] || die "missing $missing"; sftp_options; fetch "${3:-}" "${4:-}" "${5:-}" ;;
  *) die "unknown mode '$MODE' (prepare, ship, prune, status, fetch)" ;;
esac

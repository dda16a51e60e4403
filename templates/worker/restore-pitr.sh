#!/usr/bin/env bash
# supafleet: restore a project's database cluster to a moment, from a base backup
# and the WAL archive (point-in-time recovery). restore.sh hands every --time over here.
#
#   restore.sh <config> --time 2026-12-06T14:31:00Z
#       In place: a safety snapshot of what is live now (backup.sh snapshot pre-pitr),
#       then the project's database goes back to that moment, and its services start again.
#   restore.sh <config> --whole --time T
#       Into a new project (a seed, restoreFrom.time): the source's cluster at T, with the
#       source's Vault key and files of the last nightly run before T, then this project's
#       own passwords and JWT secret.
#   restore-pitr.sh <config> --time T|latest --container NAME
#       Into a created, stopped container of the database image (the drill's throwaway).
#
# T is a UTC time; "latest" replays all the archive holds. The newest base backup that
# finished before T is restored, then PostgreSQL replays the archived WAL up to T and
# promotes. If the archive ends before T (a segment missing or corrupt), PostgreSQL
# refuses, and so does this: it never stops early and calls that success.
set -euo pipefail
SCRIPT='restore-pitr'
# shellcheck source=backup-lib.sh
. "$(dirname "$0")/backup-lib.sh"
# shellcheck source=restore-lib.sh
. "$(dirname "$0")/restore-lib.sh"
CONFIG="${1:-}"
load_config "$CONFIG"
shift || true

TIME="" WHOLE=0 CONTAINER="" SAFETY=1 VAULT_KEY=1 ANONYMISE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME="${2:?--time needs a UTC time or latest}"; shift 2 ;;
    --whole) WHOLE=1; shift ;;
    --container) CONTAINER="${2:?--container needs a container name}"; shift 2 ;;
    --no-safety-snapshot) SAFETY=0; shift ;;
    --no-vault-key) VAULT_KEY=0; shift ;;
    --anonymise) ANONYMISE="${2:?--anonymise needs an SQL file}"; shift 2 ;;
    *) die "unknown argument '$1' (a point-in-time restore takes --time, --whole, --container)" ;;
  esac
done
[ -n "$TIME" ] || die "--time <UTC time | latest> is required"
if [ "$TIME" = latest ]; then
  TARGET_EPOCH=$(date -u +%s)
else
  [[ "$TIME" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[T\ ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?Z?$ ]] || die "cannot read the time '$TIME': give it as 2026-12-06T14:31:00Z"
  TARGET_EPOCH=$(date -u -d "${TIME%Z}Z" +%s 2>/dev/null) || die "cannot read the time '$TIME'"
  [ "$TARGET_EPOCH" -le "$(date -u +%s)" ] || die "$TIME is in the future"
  # To the microsecond, as PostgreSQL compares it with each commit's time (and the read-through as text).
  TARGET_TEXT=$(date -u -d "${TIME%Z}Z" '+%Y-%m-%d %H:%M:%S.%6N')
  TARGET_SQL="$TARGET_TEXT+00"
fi
DB_CONTAINER="${CONTAINER:-${DB_CONTAINER:?this config has no database}}"
[ -z "$CONTAINER" ] || { SAFETY=0; [ "$WHOLE" = 0 ] || die "--container restores into a throwaway; leave out --whole"; }
[ "$WHOLE" = 0 ] || SAFETY=0
[ -z "$ANONYMISE" ] || [ -r "$ANONYMISE" ] || die "cannot read $ANONYMISE"
missing=$(missing_tools)
[ -z "$missing" ] || die "missing $missing"
command -v docker > /dev/null || die "missing docker"
sftp_options

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
clear_stale_locks "$WORK/unlock.err" || die "cannot open the repository: $(restic_meaning 1 "$WORK/unlock.err")"
SOURCE="${SNAPSHOT_HOST:-$PROJECT}"
DATA=/var/lib/postgresql/data
# Loopback inside the container is trusted by Supabase's pg_hba.conf: a cluster from another
# project's backup has that project's passwords until reset_passwords sets this one's.
db_admin() { docker exec -i "$DB_CONTAINER" psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -U supabase_admin -d postgres "$@"; }

# The base backup: the newest complete one that stopped at or before the target.
r snapshots --json --host "$SOURCE" --tag kind:base > "$WORK/bases" 2> "$WORK/bases.err" || die "cannot list the base backups: $(restic_meaning 1 "$WORK/bases.err")"
read -r BASE_ID BASE_START_EPOCH BASE_WAL BASE_CLUSTER < <(jq -r --argjson t "$TARGET_EPOCH" "$JQ_EPOCH"'
  [.[] | (.tags // []) as $g | select($g | index("pending") | not)
   | {id: .short_id, stop: ($g[] | select(startswith("base-stop:")) | .[10:] | tonumber), wal: ($g[] | select(startswith("base-wal:")) | .[9:]),
      cluster: ($g[] | select(startswith("cluster:")) | .[8:]), start: (.time | epoch)}
   | select(.stop <= $t)] | sort_by(.stop) | last // empty | "\(.id) \(.start) \(.wal) \(.cluster)"' "$WORK/bases") || true
[ -n "${BASE_ID:-}" ] || die "no base backup of $SOURCE finished at or before ${TIME}: $(jq -r '[.[] | .time] | if length == 0 then "there is none yet (the nightly run takes one; backup.sh <config> base takes one now)" else "the oldest kept was taken \(min)" end' "$WORK/bases")"
say "base backup $BASE_ID (taken $(date -u -d "@$BASE_START_EPOCH" +%FT%TZ), from WAL segment $BASE_WAL)"

# The WAL from the base backup on, and every timeline history file.
bash "$(dirname "$0")/wal.sh" "$CONFIG" fetch "$BASE_CLUSTER" "$BASE_START_EPOCH" "$WORK/wal" 2> "$WORK/fetch.err" \
  || die "cannot fetch the WAL archive, so nothing was restored: $(tail -n 1 "$WORK/fetch.err")"
IMAGE=$(docker inspect -f '{{.Config.Image}}' "$DB_CONTAINER" 2>/dev/null) || die "no container $DB_CONTAINER"
# The archive is read through before anything is touched (wal-readthrough.sh); it may find that
# nothing was committed after the target, and then all of it is replayed.
verdict=$(bash "$(dirname "$0")/wal-readthrough.sh" "$IMAGE" "$WORK/wal" "$BASE_WAL" "${TARGET_TEXT:-}") \
  || die "$(tail -n 1 <<<"$verdict"), so nothing was restored"
[ "$verdict" != replay-all ] || TARGET_SQL=""
say "WAL: $(find "$WORK/wal" -maxdepth 1 -type f | wc -l) file(s) fetched"

# A throwaway container that writes the cluster into the data volume of the (stopped) database.
in_volume() { docker run --rm -i --volumes-from "$DB_CONTAINER" -v "$WORK:/supafleet-restore:ro" --user root --entrypoint bash "$IMAGE" -c "set -euo pipefail; $1"; }

stop_project() {
  if [ -z "$CONTAINER" ] && [ -n "$(docker compose -p "$PROJECT" ps -q 2>/dev/null)" ]; then
    docker compose -p "$PROJECT" stop > /dev/null || die "cannot stop project $PROJECT's services"
  fi
  docker stop "$DB_CONTAINER" > /dev/null 2>&1 || true
}

if [ "$SAFETY" = 1 ]; then
  # What is live now, whole, before it is replaced; and the WAL up to now, into the archive.
  bash "$(dirname "$0")/wal.sh" "$CONFIG" ship > /dev/null 2>&1 || say "the last WAL could not be shipped before the restore"
  SAFETY_ID=$(bash "$(dirname "$0")/backup.sh" "$CONFIG" snapshot pre-pitr 2> "$WORK/safety.err" | tail -n 1) \
    || die "the safety snapshot failed, so nothing was restored: $(tail -n 1 "$WORK/safety.err")"
  say "safety snapshot of the live database: ${SAFETY_ID:0:8} (tag pre-pitr)"
fi

# The Vault key (db-config) and storage files of the last nightly run before the target, found
# before the project is stopped: without them a whole restore refuses with the database untouched.
[ "$WHOLE" = 0 ] || {
  r snapshots --json --host "$SOURCE" --tag kind:files > "$WORK/files.json" 2>/dev/null || die "cannot list the files snapshots"
  FILES_SNAP=$(jq -r --argjson t "$TARGET_EPOCH" "$JQ_EPOCH"'[.[] | select((.tags // []) | index("pending") | not) | .epoch = (.time | epoch) | select(.epoch <= $t)] | sort_by(.epoch) | last | .short_id // empty' "$WORK/files.json")
  [ -n "$FILES_SNAP" ] || die "no files snapshot of $SOURCE taken at or before $TIME to restore storage, functions and the Vault key from, so nothing was restored"
}
STARTED=$(date +%s)
stop_project
[ "$WHOLE" = 0 ] || restore_files
{
  echo "restore_command = 'cp $DATA/supafleet-wal/%f %p'"
  echo "recovery_target_action = 'promote'"
  echo "recovery_target_timeline = 'latest'"
  [ -z "${TARGET_SQL:-}" ] || echo "recovery_target_time = '$TARGET_SQL'"
} > "$WORK/recovery.conf"
# One throwaway container does it all: the base backup from stdin into the emptied data volume, the
# WAL beside it (restore_command copies from there), the recovery settings and recovery.signal.
r dump "$BASE_ID" /base.tar 2> "$WORK/base.err" | in_volume "find $DATA -mindepth 1 -delete; tar -x -i -C $DATA -f -
  test -s $DATA/backup_label || { echo 'the base backup has no backup_label' >&2; exit 1; }
  cp -r /supafleet-restore/wal $DATA/supafleet-wal
  cat /supafleet-restore/recovery.conf >> $DATA/postgresql.auto.conf; touch $DATA/recovery.signal
  chown -R postgres:postgres $DATA; chmod 0700 $DATA" \
  || die "writing base backup $BASE_ID and the WAL into $DB_CONTAINER's data failed: $(tail -n 1 "$WORK/base.err") (the database is stopped; run this again)"

# The replay: until PostgreSQL has promoted, or has stopped and said why.
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
docker start "$DB_CONTAINER" > /dev/null || die "cannot start $DB_CONTAINER"
deadline=$(( $(date +%s) + ${PITR_TIMEOUT:-3600} ))
while :; do
  if [ "$(docker inspect -f '{{.State.Running}}' "$DB_CONTAINER")" != true ]; then
    reason=$(docker logs --since "$SINCE" "$DB_CONTAINER" 2>&1 | grep -E 'FATAL|PANIC' | tail -n 3 | tr '\n' ' ')
    case "$reason" in
      *"before configured recovery target was reached"*) die "the WAL archive ends before $TIME (a segment is missing or corrupt), so the database was not restored: $reason" ;;
      *) die "PostgreSQL stopped during the replay: ${reason:-see docker logs $DB_CONTAINER}" ;;
    esac
  fi
  [ "$(db_admin -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && break
  [ "$(date +%s)" -lt "$deadline" ] || die "the replay did not finish within ${PITR_TIMEOUT:-3600}s (docker logs $DB_CONTAINER)"
  sleep 2
done
REACHED=$(db_admin -c "select coalesce(to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'no transaction after the base backup')")
# The recovery settings go, so a later restart is a plain start.
db_admin -c "alter system reset restore_command" -c "alter system reset recovery_target_time" \
  -c "alter system reset recovery_target_action" -c "alter system reset recovery_target_timeline" -c "select pg_reload_conf()" > /dev/null \
  || die "the database is restored, but its recovery settings could not be removed"
docker exec -u root "$DB_CONTAINER" rm -rf "$DATA/supafleet-wal"

if [ "$WHOLE" = 1 ]; then
  reset_passwords
  env="${PROJECT_ENV:-/opt/supafleet/projects/$PROJECT/secrets/.env}"
  jwt=$(sed -n 's/^JWT_SECRET="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$env")
  [ -z "$jwt" ] || db_admin -c "alter database postgres set \"app.settings.jwt_secret\" to '$jwt'" > /dev/null || die "setting the JWT secret failed"
  [ "$VAULT_KEY" = 1 ] || db_admin -c "delete from vault.secrets" > /dev/null 2>&1 || true
  [ -z "$ANONYMISE" ] || { in_transaction < "$ANONYMISE" | db_admin > /dev/null || die "the anonymisation failed"; say "anonymised with $(basename "$ANONYMISE")"; }
fi
RTO=$(( $(date +%s) - STARTED ))
if [ -z "$CONTAINER" ] && [ -n "$(docker compose -p "$PROJECT" ps -a -q 2>/dev/null)" ]; then start_services; fi
# The cluster goes on on a new timeline; until a base backup on it, a later restore replays across the switch.
[ -n "$CONTAINER" ] || [ "${READ_ONLY:-0}" = 1 ] || say "take a base backup soon: $(dirname "$0")/backup.sh $CONFIG base"
echo "restored $PROJECT to ${TIME} from base backup $BASE_ID and the WAL archive: last transaction replayed at $REACHED; RTO ${RTO}s"

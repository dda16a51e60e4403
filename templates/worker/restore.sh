#!/usr/bin/env bash
# supafleet: restore a project from its restic repository.
#
#   restore.sh <config> --whole [--at TIME | --snapshot ID]
#       The project's whole state onto this worker, which runs the project's stack (a
#       fresh worker, or a new project): its roles with their passwords set again from
#       the project's own secrets, the database-level settings, the database, the storage
#       files (a project without Storage has none: its BACKUP_PATHS name no storage volume),
#       the Vault key and the edge functions. Then it verifies the result before reporting
#       success. This is the "a worker is gone" command (docs/backups.md).
#
#   restore.sh <config> --target <database> [--at TIME | --snapshot ID] [--replace] [--storage DIR]
#       The database alone. A new name restores beside the live database (safe, the usual
#       first step); the live database's own name restores in place, after a safety dump.
#       Roles the dump needs and the cluster lacks are created first; existing roles are
#       left as they are. --storage also restores the files under DIR.
#
# --at picks the newest snapshot taken at or before that time (UTC); --snapshot names a
# database snapshot; without either, the latest. Snapshots of a failed run (tagged
# "pending") are never taken. A dump without its completion mark is refused, and
# because it is applied in one transaction, nothing of it is kept.
#
# restore.sh <config> [--whole] --time TIME restores to a moment instead (restore-pitr.sh).
#
# For seeding another project (src/backup/seed.ts): --no-vault-key leaves the Vault key
# (and empties vault.secrets, which no other key can read), --anonymise FILE runs FILE's
# SQL after the data is restored and verified.
set -euo pipefail
SCRIPT='restore'
# shellcheck source=backup-lib.sh
. "$(dirname "$0")/backup-lib.sh"
# shellcheck source=restore-lib.sh
. "$(dirname "$0")/restore-lib.sh"
load_config "${1:-}"
# A moment rather than a snapshot: the base backup and WAL archive's restore.
for arg in "$@"; do [ "$arg" != --time ] || exec bash "$(dirname "$0")/restore-pitr.sh" "$@"; done
shift || true

TARGET="" AT="" SNAPSHOT_ID="" REPLACE=0 STORAGE_DIR="" WHOLE=0 VAULT_KEY=1 ANONYMISE="" ALLOW_UNMARKED=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET="${2:?--target needs a database name}"; shift 2 ;;
    --at) AT="${2:?--at needs a time}"; shift 2 ;;
    --snapshot) SNAPSHOT_ID="${2:?--snapshot needs a snapshot id}"; shift 2 ;;
    --replace) REPLACE=1; shift ;;
    --storage) STORAGE_DIR="${2:?--storage needs a directory}"; shift 2 ;;
    --whole) WHOLE=1; shift ;;
    --no-vault-key) VAULT_KEY=0; shift ;;
    --anonymise) ANONYMISE="${2:?--anonymise needs an SQL file}"; shift 2 ;;
    --allow-unmarked) ALLOW_UNMARKED=1; shift ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -n "${DB_CONTAINER:-}" ] || die "this config has no database"
if [ "$WHOLE" = 1 ]; then
  [ -z "$TARGET" ] || [ "$TARGET" = "$DB_NAME" ] || die "--whole restores into the project's own database ($DB_NAME); leave out --target"
  TARGET="$DB_NAME"
fi
[ -n "$TARGET" ] || die "--target <database> or --whole is required"
[[ "$TARGET" =~ ^[a-z_][a-z0-9_]*$ ]] || die "--target must be a plain database name"
[ -z "$AT" ] || [ -z "$SNAPSHOT_ID" ] || die "give --at or --snapshot, not both"
[ -z "$ANONYMISE" ] || [ -r "$ANONYMISE" ] || die "cannot read $ANONYMISE"
missing=$(missing_tools)
[ -z "$missing" ] || die "missing $missing"
sftp_options

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
clear_stale_locks "$WORK/unlock.err" || die "cannot open the repository: $(restic_meaning 1 "$WORK/unlock.err")"

# Every complete snapshot of the project, listed once (each restic call pays for its key derivation).
SOURCE="${SNAPSHOT_HOST:-$PROJECT}"
r snapshots --json --host "$SOURCE" --tag "project:$SOURCE" > "$WORK/snapshots" 2> "$WORK/snapshots.err" \
  || die "cannot list the snapshots: $(restic_meaning 1 "$WORK/snapshots.err")"
# Those of one kind, as "short-id id time", oldest first.
snapshots_of() {
  jq -r --arg kind "kind:$1" '[.[] | select((.tags // []) | (index($kind) and (index("pending") | not)))] | sort_by(.time)[] | "\(.short_id) \(.id) \(.time)"' "$WORK/snapshots"
}
epoch() { date -u -d "$1" +%s; }

# The database snapshot, then the roles and files of the same run: roles are taken
# just before the database, files just after it.
snapshots_of database > "$WORK/db"
[ -s "$WORK/db" ] || die "no database snapshot in $RESTIC_REPOSITORY"
if [ -n "$SNAPSHOT_ID" ]; then
  read -r DB_SNAP _ DB_TIME < <(awk -v id="$SNAPSHOT_ID" 'index($1, id) == 1 || index($2, id) == 1' "$WORK/db" | tail -n 1) || true
  [ -n "${DB_SNAP:-}" ] || die "no complete database snapshot $SNAPSHOT_ID"
else
  limit=$(date -u -d "${AT:-9999-12-31 23:59:59}" +%s 2>/dev/null) || die "cannot read the time '$AT'"
  DB_SNAP="" DB_TIME=""
  while read -r short _ time; do [ "$(epoch "$time")" -le "$limit" ] && DB_SNAP="$short" DB_TIME="$time"; done < "$WORK/db"
  [ -n "$DB_SNAP" ] || die "no database snapshot at or before $AT"
fi
db_epoch=$(epoch "$DB_TIME")
ROLES_SNAP=""
while read -r short _ time; do [ "$(epoch "$time")" -le "$db_epoch" ] && ROLES_SNAP="$short"; done < <(snapshots_of roles)
FILES_SNAP=""
while read -r short _ time; do
  t=$(epoch "$time")
  if [ "$t" -le "$db_epoch" ]; then FILES_SNAP="$short"; elif [ "$t" -le $((db_epoch + 6 * 3600)) ]; then FILES_SNAP="$short"; break; fi
done < <(snapshots_of files)
say "database snapshot $DB_SNAP (taken $DB_TIME)${ROLES_SNAP:+, roles $ROLES_SNAP}${FILES_SNAP:+, files $FILES_SNAP}"

# Roles and settings. In a whole restore every role takes its backed-up attributes,
# memberships and settings; otherwise only missing roles are created, so that a
# restore beside the live database never touches the roles the project runs with.
apply_globals() {
  local mode="$1"
  if [ -z "$ROLES_SNAP" ]; then
    [ "$mode" = missing ] && return 0
    die "no roles snapshot at or before the database snapshot"
  fi
  r dump "$ROLES_SNAP" /roles.sql > "$WORK/roles.sql" || die "cannot read roles snapshot $ROLES_SNAP"
  [ "$ALLOW_UNMARKED" = 1 ] || grep -qxF -- "$DUMP_COMPLETE" "$WORK/roles.sql" || die "roles snapshot $ROLES_SNAP is incomplete"
  psql_in_db postgres -c "select rolname from pg_roles" > "$WORK/existing"
  awk -v mode="$mode" -v target="$TARGET" -v existing="$WORK/existing" '
    BEGIN { while ((getline n < existing) > 0) have[n] = 1 }
    function role(line,   m) { if (match(line, /^(CREATE|ALTER) ROLE "[^"]+"/)) { m = substr(line, RSTART, RLENGTH); sub(/^(CREATE|ALTER) ROLE "/, "", m); sub(/"$/, "", m); return m } return "" }
    /^CREATE ROLE "/ { if (role($0) in have) next; print; created[role($0)] = 1; next }
    /^ALTER ROLE "[^"]+" IN DATABASE "[^"]+" SET / { sub(/IN DATABASE "[^"]+"/, "IN DATABASE \"" target "\""); print; next }
    /^ALTER ROLE "/ { if (mode == "missing" && !(role($0) in created)) next; print; next }
    /^ALTER DATABASE "[^"]+" SET / { sub(/^ALTER DATABASE "[^"]+"/, "ALTER DATABASE \"" target "\""); print; next }
    /^GRANT / { print; next }
  ' "$WORK/roles.sql" > "$WORK/roles.apply.sql"
  psql_in_db postgres < "$WORK/roles.apply.sql" > /dev/null 2> "$WORK/roles.err" || die "applying roles failed: $(grep -v "^NOTICE" "$WORK/roles.err" | tail -n 3)"
  say "roles and settings applied ($(grep -c '^CREATE ROLE' "$WORK/roles.apply.sql" || true) created)"
}

# The target database, there before the roles' per-database settings name it.
prepare_target() {
  local exists
  exists=$(psql_in_db postgres -c "select 1 from pg_database where datname = '$TARGET'")
  if [ "$TARGET" = "$DB_NAME" ] && [ -n "$exists" ]; then
    local spool="${SUPAFLEET_SPOOL:-/var/backups/supafleet}/$PROJECT" safety
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
}

restore_database() {
  local started
  started=$(date +%s)
  # One transaction: a dump cut short (no completion mark), or a restore killed part-way, leaves the database as it was.
  if ! r dump "$DB_SNAP" /database.sql | guard_complete "$WORK/expected" "$ALLOW_UNMARKED" | psql_in_db "$TARGET" > /dev/null 2> "$WORK/restore.err"; then
    die "restoring snapshot $DB_SNAP into $TARGET failed, and nothing of it was kept: $(grep -v '^$' "$WORK/restore.err" | tail -n 2 | tr '\n' ' ')"
  fi
  RTO=$(( $(date +%s) - started ))
  say "database restored into $TARGET in ${RTO}s"
}

# The restored tables against the figures recorded when the dump was taken.
verify_figures() {
  [ -s "$WORK/expected" ] || { [ "$ALLOW_UNMARKED" = 1 ] && return 0; die "snapshot $DB_SNAP carries no recorded figures"; }
  printf '%s\n' "$STATS_SQL" | psql_in_db "$TARGET" | jq -S . > "$WORK/actual.json"
  jq -S . "$WORK/expected" > "$WORK/expected.json"
  if ! diff "$WORK/expected.json" "$WORK/actual.json" > /dev/null; then
    jq -r --slurpfile a "$WORK/actual.json" 'to_entries[] | select(.value != $a[0][.key]) | "  \(.key): recorded \(.value) restored \($a[0][.key])"' "$WORK/expected.json" >&2
    die "the restored database does not match what was recorded when snapshot $DB_SNAP was taken"
  fi
  TABLES=$(jq 'length' "$WORK/expected.json")
}

# Supabase Vault: every secret must decrypt with the key now in place.
verify_vault() {
  VAULT="no Vault"
  [ -n "$(psql_in_db "$TARGET" -c "select 1 from pg_namespace where nspname = 'vault'")" ] || return 0
  local n
  if [ "$VAULT_KEY" = 0 ]; then
    # Another environment's copy: its key stays behind, so its secrets could not be read; they go.
    psql_in_db "$TARGET" -c "delete from vault.secrets" > /dev/null || die "emptying vault.secrets failed"
    VAULT="Vault secrets removed (their key stays with the source)"
    return 0
  fi
  n=$(psql_in_db "$TARGET" -c "select count(*) from vault.decrypted_secrets where decrypted_secret is not null" 2> "$WORK/vault.err") \
    || die "Vault secrets do not decrypt: the Vault key in place is not the one they were written with ($(tail -n 1 "$WORK/vault.err"))"
  total=$(psql_in_db "$TARGET" -c "select count(*) from vault.secrets")
  [ "$n" = "$total" ] || die "only $n of $total Vault secrets decrypt"
  VAULT="$n Vault secrets decrypt"
}

if [ "$WHOLE" = 1 ]; then
  # The project's services stop, so nothing writes while its state comes back; the
  # database restarts with the Vault key in place (it reads the key when it starts).
  docker compose -p "$PROJECT" stop > /dev/null || die "cannot stop project $PROJECT's services"
  restore_files
  docker compose -p "$PROJECT" start db > /dev/null || die "cannot start $PROJECT's database"
  ready=0
  for _ in $(seq 1 120); do
    if docker exec "$DB_CONTAINER" pg_isready -U supabase_admin -h localhost -q; then ready=1; break; fi
    sleep 1
  done
  [ "$ready" = 1 ] || die "$PROJECT's database did not take connections within 120s of starting"
  prepare_target
  apply_globals all
  reset_passwords
  restore_database
  verify_figures
  verify_vault
  [ -z "$ANONYMISE" ] || { in_transaction < "$ANONYMISE" | psql_in_db "$TARGET" > /dev/null || die "the anonymisation failed"; say "anonymised with $(basename "$ANONYMISE")"; }
  start_services
  echo "restored $PROJECT from snapshot $DB_SNAP (taken $DB_TIME): ${TABLES:-?} tables match the recorded figures; $VAULT; $FILES files; RTO ${RTO}s"
  exit 0
fi

prepare_target
apply_globals missing
restore_database
verify_figures
echo "restored snapshot $DB_SNAP (taken $DB_TIME) into $TARGET: ${TABLES:-?} tables match the recorded figures; RTO ${RTO}s"
if [ -n "$STORAGE_DIR" ]; then
  [ -n "$FILES_SNAP" ] || die "no files snapshot to restore storage from"
  install -d -m 0700 "$STORAGE_DIR"
  r restore "$FILES_SNAP" --target "$STORAGE_DIR" > /dev/null || die "restoring files failed"
  say "files of snapshot $FILES_SNAP restored under $STORAGE_DIR"
fi

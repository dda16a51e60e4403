# supafleet: shared by restore.sh and restore-pitr.sh. Sourced, not run, after
# backup-lib.sh; uses their WORK folder, FILES_SNAP and VAULT_KEY.

# SQL on stdin as supabase_admin in the postgres database of DB_CONTAINER. restore-pitr.sh
# replaces it: a cluster restored from another project's backup has that project's passwords.
# shellcheck disable=SC2120 # restore-pitr.sh's own db_admin takes psql's options
db_admin() { psql_in_db postgres "$@"; }

# The service roles log in with the project's own generated password, as in its .env.
reset_passwords() {
  local env="${PROJECT_ENV:-/opt/supafleet/projects/$PROJECT/secrets/.env}" password
  [ -r "$env" ] || die "cannot read the project's secrets at $env: deploy the project first (pulumi up)"
  password=$(sed -n 's/^POSTGRES_PASSWORD="\{0,1\}\([A-Za-z0-9]*\)"\{0,1\}$/\1/p' "$env")
  [ -n "$password" ] || die "$env holds no POSTGRES_PASSWORD"
  {
    echo "do \$supafleet\$ declare r text; begin"
    echo "  foreach r in array string_to_array('${PASSWORD_ROLES:-postgres supabase_admin authenticator}', ' ') loop"
    echo "    if exists (select 1 from pg_roles where rolname = r) then execute format('alter role %I with password %L', r, '$password'); end if;"
    echo "  end loop; end \$supafleet\$;"
  } | db_admin -q > /dev/null || die "setting the service roles' passwords failed"
  say "service roles' passwords set from the project's secrets"
}

# The files of the run: storage objects, the Vault key (db-config) and the edge
# functions, each back where this project keeps it. SOURCE_PATHS names where they
# were backed up from, when that differs (another project's backup). Only the paths
# the settings name: storage files in a snapshot taken before the project left Storage
# out have no volume to go to and stay in the snapshot; a path the snapshot lacks is said.
restore_files() {
  [ -n "$FILES_SNAP" ] || die "no files snapshot to restore storage, functions and the Vault key from"
  r restore "$FILES_SNAP" --target "$WORK/files" > /dev/null 2>> "$WORK/files.err" || die "restoring files failed: $(tail -n 2 "$WORK/files.err")"
  local -a from to
  read -r -a to <<<"${BACKUP_PATHS:-}"
  read -r -a from <<<"${SOURCE_PATHS:-${BACKUP_PATHS:-}}"
  [ "${#from[@]}" = "${#to[@]}" ] || die "SOURCE_PATHS and BACKUP_PATHS do not pair up"
  FILES=0
  local i
  for i in "${!to[@]}"; do
    # A Compose release is the project's own, rendered for its own names: the deploy writes it, never a restore.
    case "${to[$i]}" in */releases/*) continue ;; esac
    if [ "$VAULT_KEY" = 0 ] && [ "${to[$i]}" = "${VAULT_KEY_PATH:-}" ]; then say "leaving ${to[$i]} (the Vault key) as it is"; continue; fi
    [ -d "$WORK/files${from[$i]}" ] || { say "the snapshot has nothing under ${from[$i]}"; continue; }
    install -d "${to[$i]}"
    find "${to[$i]}" -mindepth 1 -delete
    cp -a "$WORK/files${from[$i]}/." "${to[$i]}/"
    FILES=$(( FILES + $(find "${to[$i]}" -type f | wc -l) ))
  done
  say "files of snapshot $FILES_SNAP in place: $FILES files"
}

# Compose gives up on a service whose dependency is not healthy yet (a slow start);
# another start only starts what is not running.
start_services() {
  local attempt
  for attempt in 1 2 3 4 5 6; do
    docker compose -p "$PROJECT" start > /dev/null 2> "$WORK/start.err" && return 0
    [ "$attempt" = 6 ] || sleep 5
  done
  die "cannot start project $PROJECT's services: $(tail -n 2 "$WORK/start.err" | tr '\n' ' ')"
}

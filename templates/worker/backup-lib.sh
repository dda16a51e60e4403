# supafleet: shared by backup.sh, restore.sh and drill.sh. Sourced, not run.
# Reads one project's settings from the env file given as $1 (root-only):
#   PROJECT, RESTIC_REPOSITORY, RESTIC_PASSWORD, [SFTP_PASSWORD], [READ_ONLY], [DB_CONTAINER, DB_NAME],
#   BACKUP_PATHS, KEEP_DAILY/WEEKLY/MONTHLY, [CHECK_WEEKDAY], [KUMA_PUSH_URL], [HC_URL, DRILL_HC_URL, COPY_HC_URL, HC_QUERY],
#   [NTFY_URL, NTFY_TOKEN], [TELEGRAM_API, TELEGRAM_TOKEN, TELEGRAM_CHAT],
#   [COPY_REPOSITORY, COPY_PASSWORD, COPY_KEEP_DAILY/WEEKLY/MONTHLY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
# Written for restic 0.14.0, Debian 12's (what the nodes install), and newer.

# die, say and need: the prelude every supafleet script shares (templates/lib/prelude.sh),
# installed beside these tools; run from a checkout (as the tests do), it is in ../lib.
prelude_dir=$(dirname "${BASH_SOURCE[0]}")
[ -r "$prelude_dir/prelude.sh" ] || prelude_dir="$prelude_dir/../lib"
# shellcheck source=prelude.sh
. "$prelude_dir/prelude.sh"

# Settings only: a missing tool is reported by require_tools, once the alert channels are known.
load_config() {
  local file="$1"
  PROJECT="${PROJECT:-?}"
  [ -n "$file" ] || { echo "$SCRIPT: usage: $SCRIPT <config file> …" >&2; exit 2; }
  [ -r "$file" ] || { echo "$SCRIPT: cannot read $file" >&2; exit 2; }
  set -a
  # shellcheck disable=SC1090 # the settings file the caller names (root-only, written by backup-enable)
  . "$file"
  set +a
  PROJECT="${PROJECT:?$file sets no PROJECT}"
  : "${RESTIC_REPOSITORY:?$file sets no RESTIC_REPOSITORY}" "${RESTIC_PASSWORD:?$file sets no RESTIC_PASSWORD}"
  DB_NAME="${DB_NAME:-postgres}"
  KEEP_DAILY="${KEEP_DAILY:-7}" KEEP_WEEKLY="${KEEP_WEEKLY:-4}" KEEP_MONTHLY="${KEEP_MONTHLY:-6}"
  # systemd gives a service no HOME, and without one restic runs with no cache at all.
  export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-${SUPAFLEET_CACHE_DIR:-/var/cache/supafleet}/restic}"
  install -d -m 0700 "$RESTIC_CACHE_DIR" 2>/dev/null || true
  RESTIC_OPTS=()
  # A read-only credential cannot write lock files; reads then go without a lock.
  [ "${READ_ONLY:-0}" = 1 ] && RESTIC_OPTS+=(--no-lock)
  export RESTIC_REPOSITORY RESTIC_PASSWORD
}

# Prints what is missing, if anything: restic, curl, jq, flock, docker for a database, sshpass for SFTP.
missing_tools() {
  local bin absent=()
  for bin in restic curl jq flock; do command -v "$bin" >/dev/null || absent+=("$bin"); done
  if [ -n "${DB_CONTAINER:-}" ]; then command -v docker >/dev/null || absent+=(docker); fi
  if [[ "$RESTIC_REPOSITORY" == sftp://* && -n "${SFTP_PASSWORD:-}" ]]; then command -v sshpass >/dev/null || absent+=(sshpass); fi
  echo "${absent[*]}"
}

# Storage Box sub-accounts log in with their password over SFTP on port 23; sshpass reads it from the environment.
sftp_options() {
  [[ "$RESTIC_REPOSITORY" == sftp://* && -n "${SFTP_PASSWORD:-}" ]] || return 0
  local userhost="${RESTIC_REPOSITORY#sftp://}"; userhost="${userhost%%/*}"; userhost="${userhost%:*}"
  export SSHPASS="$SFTP_PASSWORD"
  RESTIC_OPTS+=(-o "sftp.command=sshpass -e ssh -p 23 -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/etc/supafleet/backup/known_hosts $userhost -s sftp")
}

r() { restic "${RESTIC_OPTS[@]}" "$@"; }

# A command that needs the repository to itself (forget, tag, check, prune). restic
# 0.14 has no --retry-lock, so while another restic holds a lock this waits and
# tries again, for up to SUPAFLEET_LOCK_WAIT seconds (default 300). Output goes to stdout.
r_exclusive() {
  local waited=0 out rc
  out=$(mktemp)
  while :; do
    rc=0
    r "$@" > "$out" 2>&1 || rc=$?
    cat "$out"
    if [ "$rc" -ne 0 ] && grep -q "already locked" "$out" && [ "$waited" -lt "${SUPAFLEET_LOCK_WAIT:-300}" ]; then
      sleep 15
      waited=$((waited + 15))
      continue
    fi
    rm -f "$out"
    return "$rc"
  done
}

# What a restic failure means. restic 0.14 exits 1 for every fatal error, so its
# message says which; 0.17 and newer also have codes of their own (10, 11, 12).
restic_meaning() {
  local rc="$1" log="${2:-}" text=""
  [ -n "$log" ] && [ -f "$log" ] && text=$(tail -n 20 "$log")
  case "$rc" in
    0) echo "ok"; return ;;
    3) echo "some source data could not be read; the snapshot is incomplete"; return ;;
    10) echo "the repository does not exist"; return ;;
    11) echo "the repository is locked"; return ;;
    12) echo "wrong password (or no key found) for the repository"; return ;;
    130) echo "interrupted"; return ;;
  esac
  case "$text" in
    *"wrong password"*) echo "wrong password (or no key found) for the repository" ;;
    *"already locked"*) echo "the repository is locked by another restic ($(grep -o 'locked [^,]*by PID [0-9]* on [^ ]*' <<<"$text" | tail -n 1 || true))" ;;
    *"Is there a repository at the following location"*|*"unable to open config file"*) echo "the repository does not exist" ;;
    *"no space left on device"*) echo "no space left on device" ;;
    *) echo "exit code $rc: $(tail -n 1 <<<"$text")" ;;
  esac
}

# A restic killed by a signal, or the OOM killer, or a full disk leaves its lock
# behind, and every later forget and check then fails. `unlock` without
# --remove-all removes only stale locks: older than 30 minutes, or from a process
# on this host that no longer runs.
# It also opens the repository, so a wrong password or a missing repository shows here;
# the caller decides what that means (restic's message is in $1, if given).
clear_stale_locks() {
  [ "${READ_ONLY:-0}" = 1 ] && return 0
  r unlock > /dev/null 2>> "${1:-/dev/null}"
}

# jq: a restic snapshot's time (RFC 3339, any offset, with or without fractions) as epoch seconds.
# shellcheck disable=SC2034 # used by wal.sh and restore-pitr.sh, which source this file
JQ_EPOCH='def epoch: capture("^(?<d>[0-9-]+T[0-9:]+)(\\.[0-9]+)?(?<z>Z|[+-][0-9]{2}:[0-9]{2})$")
  | (.d + "Z" | fromdateiso8601) - (if .z == "Z" then 0 else ((.z[1:3] | tonumber) * 3600 + (.z[4:6] | tonumber) * 60) * (if .z[0:1] == "+" then 1 else -1 end) end);'

# A value for a curl config file: double-quoted, with \ and " escaped.
cfg_quote() { local v="${1//\\/\\\\}"; printf '"%s"' "${v//\"/\\\"}"; }

# Every URL or header that holds a secret goes to curl as a config on stdin (-K -),
# never in argv, where any local user could read it with ps.
curl_secret() { # <url> [header] -- <curl options…>
  local url="$1" header="$2"; shift 2
  [ "$1" = -- ] && shift
  { printf 'url = %s\n' "$(cfg_quote "$url")"; if [ -n "$header" ]; then printf 'header = %s\n' "$(cfg_quote "$header")"; fi; } |
    curl -fsS -m 10 --retry 3 -o /dev/null "$@" -K -
}

# Healthchecks-style pings: /start, success, /fail with the log as body. Never fatal.
ping_hc() {
  local url="$1" what="$2" body="${3:-}"
  [ -n "$url" ] || return 0
  local suffix=""
  [ "$what" = start ] && suffix="/start"
  [ "$what" = fail ] && suffix="/fail"
  if [ -n "$body" ] && [ -f "$body" ]; then
    curl_secret "$url$suffix${HC_QUERY:-}" "" -- --data-binary "@$body" || say "health ping '$what' failed"
  else
    curl_secret "$url$suffix${HC_QUERY:-}" "" -- || say "health ping '$what' failed"
  fi
}

# The job's Uptime Kuma push monitor: up or down with a short message. Never fatal.
push_kuma() {
  local status="$1" message="$2"
  [ -n "${KUMA_PUSH_URL:-}" ] || return 0
  curl_secret "$KUMA_PUSH_URL" "" -- -G --data-urlencode "status=$status" --data-urlencode "msg=${message:0:250}" --data-urlencode "ping=" \
    || say "Uptime Kuma push '$status' failed"
}

# An alert on every configured channel. Never fatal: the exit code carries the failure.
alert() {
  local message="$1"
  if [ -n "${NTFY_URL:-}" ]; then
    curl_secret "$NTFY_URL" "${NTFY_TOKEN:+Authorization: Bearer $NTFY_TOKEN}" -- -H "Title: supafleet: $PROJECT" -H "Priority: high" -H "Tags: warning" --data-binary "$message" \
      || say "ntfy alert failed"
  fi
  if [ -n "${TELEGRAM_TOKEN:-}" ] && [ -n "${TELEGRAM_CHAT:-}" ]; then
    curl_secret "${TELEGRAM_API:-https://api.telegram.org}/bot$TELEGRAM_TOKEN/sendMessage" "" -- \
      --data-urlencode "chat_id=$TELEGRAM_CHAT" --data-urlencode "text=supafleet: $PROJECT: $message" || say "telegram alert failed"
  fi
}

# The last line of every complete dump; a dump without it was cut off.
DUMP_COMPLETE="-- supafleet-dump-complete"

# pg_dump writes each object's privileges as grants on top of the built-in
# defaults (the owner's alone), and the database's own default privileges last.
# A Supabase database has default privileges from its image (everything new in
# public granted to anon, authenticated and service_role), so restoring into it
# as it is would give those roles every privilege the project had revoked. In
# the restore's transaction, before the dump, every default privilege of the
# target database goes back to the built-in one; the dump then puts back the
# source's own.
FRESH_DEFAULT_PRIVILEGES_SQL=$(cat <<'SQL'
DO $supafleet$
DECLARE d record;
BEGIN
  FOR d IN
    SELECT DISTINCT a.defaclrole::regrole::text AS owner,
      CASE WHEN a.defaclnamespace = 0 THEN '' ELSE ' IN SCHEMA ' || a.defaclnamespace::regnamespace::text END AS scope,
      CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END AS kind,
      CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END AS grantee
    FROM pg_catalog.pg_default_acl a, LATERAL pg_catalog.aclexplode(a.defaclacl) x
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s%s REVOKE ALL ON %s FROM %s', d.owner, d.scope, d.kind, d.grantee);
  END LOOP;
  -- An emptied global entry is no default at all: the owner's (and PUBLIC's on functions and types) comes back, and the entry goes.
  FOR d IN
    SELECT a.defaclrole::regrole::text AS owner, a.defaclobjtype AS t,
      CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END AS kind
    FROM pg_catalog.pg_default_acl a WHERE a.defaclnamespace = 0
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s GRANT ALL ON %s TO %s', d.owner, d.kind, d.owner);
    IF d.t IN ('f', 'T') THEN EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s GRANT ALL ON %s TO PUBLIC', d.owner, d.kind); END IF;
  END LOOP;
END $supafleet$;
SQL
)

# Passes a dump through to psql inside one transaction that only a complete dump
# commits: BEGIN first, and COMMIT last only after the completion mark; without
# the mark, a statement that fails instead. Not psql's --single-transaction,
# which commits at the end of its input: psql runs in the database container, so
# when a restore is killed (its docker exec client dies), psql there reads an
# early end of input and would commit whatever part of the dump it had. Without
# a COMMIT it disconnects and the server rolls it all back. The transaction
# starts with FRESH_DEFAULT_PRIVILEGES_SQL. Writes the recorded figures, if any, to $1.
guard_complete() {
  local stats_out="$1" allow="${2:-0}"
  FRESH="$FRESH_DEFAULT_PRIVILEGES_SQL" awk -v mark="$DUMP_COMPLETE" -v allow="$allow" -v out="$stats_out" '
    BEGIN { print "BEGIN;"; print ENVIRON["FRESH"] }
    /^-- supafleet-stats: / { s = $0; sub(/^-- supafleet-stats: /, "", s); print s > out }
    { print; if ($0 != "") last = $0 }
    END {
      if (last != mark && allow != 1)
        print "DO $supafleet$ BEGIN RAISE EXCEPTION '"'"'supafleet: this dump has no completion mark, so it was cut off; nothing of it is kept'"'"'; END $supafleet$;"
      else
        print "COMMIT;"
    }'
}

# SQL from stdin in one transaction that commits only once all of it arrived (see guard_complete).
in_transaction() {
  echo "BEGIN;"
  cat
  printf '\n;\nCOMMIT;\n'
}

psql_in_db() {
  local db="$1"; shift
  docker exec -i "$DB_CONTAINER" psql -X -q -A -t -v ON_ERROR_STOP=1 -U supabase_admin -d "$db" "$@"
}

# Row counts, newest timestamps and checksums of the tables that hold the
# project's data, as one JSON object: recorded at dump time, compared by the drill.
# shellcheck disable=SC2034 # used by backup.sh and restore.sh, which source this file
STATS_SQL=$(cat <<'SQL'
create or replace function pg_temp.supafleet_stats() returns jsonb language plpgsql as $fn$
declare
  r record; result jsonb := '{}'; n bigint; newest text; digest text; ts text;
begin
  for r in
    select ns.nspname as s, c.relname as t from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
    where c.relkind = 'r' and (ns.nspname = 'public' or (ns.nspname, c.relname) in (('auth', 'users'), ('storage', 'objects')))
    order by 1, 2
  loop
    select a.attname into ts from pg_attribute a
      where a.attrelid = format('%I.%I', r.s, r.t)::regclass and a.atttypid = 'timestamptz'::regtype and not a.attisdropped
      order by a.attnum limit 1;
    -- An order-free checksum: the sum of each row's hash, in constant memory, so
    -- a table of any size can be summed without sorting it or building one string.
    execute format('select count(*), coalesce(sum((''x'' || substr(md5(x::text), 1, 15))::bit(60)::bigint), 0)::text from %I.%I x', r.s, r.t) into n, digest;
    newest := null;
    if ts is not null then
      execute format('select max(%I)::text from %I.%I', ts, r.s, r.t) into newest;
    end if;
    result := result || jsonb_build_object(r.s || '.' || r.t, jsonb_build_object('rows', n, 'newest', newest, 'checksum', digest));
  end loop;
  return result;
end
$fn$;
select pg_temp.supafleet_stats()::text;
SQL
)

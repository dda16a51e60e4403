# supafleet: shared by backup.sh, restore.sh and drill.sh. Sourced, not run.
# Reads one project's settings from the env file given as $1 (root-only):
#   PROJECT, RESTIC_REPOSITORY, RESTIC_PASSWORD, [SFTP_PASSWORD], [DB_CONTAINER, DB_NAME],
#   BACKUP_PATHS, KEEP_DAILY/WEEKLY/MONTHLY, [CHECK_WEEKDAY], [KUMA_PUSH_URL], [HC_URL, DRILL_HC_URL, HC_QUERY],
#   [NTFY_URL, NTFY_TOKEN], [TELEGRAM_API, TELEGRAM_TOKEN, TELEGRAM_CHAT]

die() { echo "$SCRIPT($PROJECT): $*" >&2; exit 1; }
say() { echo "$SCRIPT($PROJECT): $*" >&2; }

load_config() {
  local file="$1"
  [ -n "$file" ] || { echo "$SCRIPT: usage: $SCRIPT <config file> …" >&2; exit 2; }
  [ -r "$file" ] || { echo "$SCRIPT: cannot read $file" >&2; exit 2; }
  set -a
  # shellcheck disable=SC1090
  . "$file"
  set +a
  PROJECT="${PROJECT:?$file sets no PROJECT}"
  : "${RESTIC_REPOSITORY:?$file sets no RESTIC_REPOSITORY}" "${RESTIC_PASSWORD:?$file sets no RESTIC_PASSWORD}"
  DB_NAME="${DB_NAME:-postgres}"
  KEEP_DAILY="${KEEP_DAILY:-7}" KEEP_WEEKLY="${KEEP_WEEKLY:-4}" KEEP_MONTHLY="${KEEP_MONTHLY:-6}"
  for bin in restic curl jq flock; do command -v "$bin" >/dev/null || die "missing $bin"; done
  if [ -n "${DB_CONTAINER:-}" ]; then command -v docker >/dev/null || die "missing docker"; fi
  RESTIC_OPTS=()
  # Storage Box sub-accounts log in with their password over SFTP on port 23.
  if [[ "$RESTIC_REPOSITORY" == sftp://* && -n "${SFTP_PASSWORD:-}" ]]; then
    command -v sshpass >/dev/null || die "missing sshpass"
    local userhost="${RESTIC_REPOSITORY#sftp://}"; userhost="${userhost%%/*}"; userhost="${userhost%:*}"
    export SSHPASS="$SFTP_PASSWORD"
    RESTIC_OPTS=(-o "sftp.command=sshpass -e ssh -p 23 -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/etc/supafleet/backup/known_hosts $userhost -s sftp")
  fi
  export RESTIC_REPOSITORY RESTIC_PASSWORD
}

r() { restic "${RESTIC_OPTS[@]}" "$@"; }

# restic's documented exit codes; anything else is a failure too.
restic_meaning() {
  case "$1" in
    0) echo "ok" ;;
    1) echo "the command failed" ;;
    3) echo "some source data could not be read; the snapshot is incomplete" ;;
    10) echo "the repository does not exist" ;;
    11) echo "the repository is locked" ;;
    12) echo "wrong repository password" ;;
    130) echo "interrupted" ;;
    *) echo "unexpected exit code $1" ;;
  esac
}

# Healthchecks-style pings: /start, success, /fail with the log as body. Never fatal.
ping_hc() {
  local url="$1" what="$2" body="${3:-}"
  [ -n "$url" ] || return 0
  local suffix=""
  [ "$what" = start ] && suffix="/start"
  [ "$what" = fail ] && suffix="/fail"
  if [ -n "$body" ] && [ -f "$body" ]; then
    curl -fsS -m 10 --retry 3 --data-binary "@$body" "$url$suffix${HC_QUERY:-}" >/dev/null || say "health ping '$what' failed"
  else
    curl -fsS -m 10 --retry 3 "$url$suffix${HC_QUERY:-}" >/dev/null || say "health ping '$what' failed"
  fi
}

# The job's Uptime Kuma push monitor: up or down with a short message. The URL
# holds the monitor's token, so curl reads it from a config on stdin, not argv. Never fatal.
push_kuma() {
  local status="$1" message="$2"
  [ -n "${KUMA_PUSH_URL:-}" ] || return 0
  printf 'url = "%s"\n' "$KUMA_PUSH_URL" | curl -fsS -m 10 --retry 3 -o /dev/null -G \
    --data-urlencode "status=$status" --data-urlencode "msg=${message:0:250}" --data-urlencode "ping=" -K - \
    || say "Uptime Kuma push '$status' failed"
}

# An alert on every configured channel. Never fatal: the exit code carries the failure.
alert() {
  local message="$1"
  if [ -n "${NTFY_URL:-}" ]; then
    local auth=()
    [ -n "${NTFY_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $NTFY_TOKEN")
    curl -fsS -m 10 --retry 3 "${auth[@]}" -H "Title: supafleet: $PROJECT" -H "Priority: high" -H "Tags: warning" --data-binary "$message" "$NTFY_URL" >/dev/null || say "ntfy alert failed"
  fi
  if [ -n "${TELEGRAM_TOKEN:-}" ] && [ -n "${TELEGRAM_CHAT:-}" ]; then
    curl -fsS -m 10 --retry 3 --data-urlencode "chat_id=$TELEGRAM_CHAT" --data-urlencode "text=supafleet: $PROJECT: $message" \
      "${TELEGRAM_API:-https://api.telegram.org}/bot$TELEGRAM_TOKEN/sendMessage" >/dev/null || say "telegram alert failed"
  fi
}

psql_in_db() {
  local db="$1"; shift
  docker exec -i "$DB_CONTAINER" psql -X -q -A -t -v ON_ERROR_STOP=1 -U supabase_admin -d "$db" "$@"
}

# Row counts, newest timestamps and checksums of the tables that hold the
# project's data, as one JSON object: recorded at dump time, compared by the drill.
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

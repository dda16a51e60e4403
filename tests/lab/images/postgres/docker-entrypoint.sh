#!/usr/bin/env bash
# A stand-in for supabase/postgres's entrypoint, on Debian's PostgreSQL 15:
# on an empty data volume, initdb with supabase_admin as the bootstrap
# superuser, give the database Supabase's shape (supabase-shape.sql), run the
# mounted init-scripts/ then migrations/ as upstream's migrate.sh does, then
# run the server as postgres with the arguments given (CMD: postgres).
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
die() { echo "supabase/postgres stand-in: $*" >&2; exit 1; }

if [ "${1:-}" != postgres ]; then exec "$@"; fi
shift
[ "$(id -u)" = 0 ] || die "must start as root, as upstream's does, to own the data volume"
install -d -o postgres -g postgres -m 0700 "$PGDATA"
install -d -o postgres -g postgres -m 2775 /var/run/postgresql
chown postgres:postgres /etc/postgresql-custom 2>/dev/null || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || die "POSTGRES_PASSWORD is empty: an empty database needs one"
  pw=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" > "$pw"; chown postgres "$pw"
  gosu postgres "$PGBIN/initdb" -D "$PGDATA" -U supabase_admin --pwfile="$pw" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 > /dev/null
  rm -f "$pw"
  # As upstream's pg_hba.conf: loopback inside the container is trusted, everything else gives a password.
  { printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'; cat "$PGDATA/pg_hba.conf"
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n'; } > "$PGDATA/pg_hba.conf.new"
  mv "$PGDATA/pg_hba.conf.new" "$PGDATA/pg_hba.conf"; chown postgres:postgres "$PGDATA/pg_hba.conf"
  gosu postgres "$PGBIN/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses= -k /var/run/postgresql" start > /dev/null
  run_sql() { gosu postgres psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U supabase_admin -d postgres -f "$1" > /dev/null; }
  run_sql /usr/local/share/supabase/supabase-shape.sql
  for dir in init-scripts migrations; do
    for f in /docker-entrypoint-initdb.d/"$dir"/*.sql; do
      [ -e "$f" ] || continue
      echo "supabase/postgres stand-in: running $dir/$(basename "$f")"
      run_sql "$f"
    done
  done
  gosu postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop > /dev/null
  echo "supabase/postgres stand-in: database initialised"
fi

exec gosu postgres "$PGBIN/postgres" -D "$PGDATA" "$@"

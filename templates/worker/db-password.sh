# supafleet: apply a new Postgres password to a running project with ALTER
# ROLE, before the services restart with it. The SQL arrives on stdin. On the
# first deploy there is no database yet: its init sets the password.
#   PROJECT     the project
#   CONTAINER   its database container

need docker
sql=$(cat)
[ -n "$sql" ] || die "empty SQL on stdin"

if [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" != "true" ]; then
  echo "db-password($PROJECT): $CONTAINER is not running; the database init will set the password"
  exit 0
fi
# Connects with the password the running container still has (its PGPASSWORD).
docker exec -i "$CONTAINER" psql -X -q -U supabase_admin -d postgres -v ON_ERROR_STOP=1 <<<"$sql" || die "ALTER ROLE failed"
echo "db-password($PROJECT): passwords updated"

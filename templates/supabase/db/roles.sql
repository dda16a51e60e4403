-- supafleet: give the service roles the project's Postgres password.
-- Runs once, on the first boot of an empty database (docker-entrypoint-initdb.d).
-- Later password changes are applied by db-password.sh with ALTER ROLE.
\set pgpass `echo "$POSTGRES_PASSWORD"`

ALTER USER authenticator WITH PASSWORD :'pgpass';
ALTER USER pgbouncer WITH PASSWORD :'pgpass';
ALTER USER supabase_auth_admin WITH PASSWORD :'pgpass';
ALTER USER supabase_functions_admin WITH PASSWORD :'pgpass';
ALTER USER supabase_storage_admin WITH PASSWORD :'pgpass';

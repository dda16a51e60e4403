-- supafleet: Realtime keeps its own tables in _realtime, as supabase_admin (its DB_USER).
create schema if not exists _realtime;
alter schema _realtime owner to supabase_admin;

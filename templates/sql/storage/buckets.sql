-- supafleet: this project's declared Storage buckets (docs/configuration.md, "Storage buckets").
-- Run with: psql -X -v ON_ERROR_STOP=1 -f <this file>. Idempotent: a second run changes no row.
-- It only touches buckets it manages (supafleet.buckets), and never deletes an object.
\set ON_ERROR_STOP on
set client_min_messages = warning;
set standard_conforming_strings = on;
begin;

-- Storage makes its tables and columns when it first starts; without them there is nothing to do yet.
do $$
begin
  if (select count(*) from information_schema.columns
      where table_schema = 'storage' and table_name = 'buckets'
        and column_name in ('id', 'public', 'file_size_limit', 'allowed_mime_types')) < 4 then
    raise exception 'storage.buckets is missing, or has no public, file_size_limit or allowed_mime_types column: Storage has not run its migrations on this database yet';
  end if;
end $$;

-- The buckets supafleet manages; a bucket made by hand (Studio, the API) is never in it unless declared.
create schema if not exists supafleet;
create table if not exists supafleet.buckets (
  id text primary key,
  declared boolean not null default true,
  managed_since timestamptz not null default now(),
  -- Set while a bucket taken out of the stack file is kept because it holds objects.
  undeclared_since timestamptz
);
revoke all on supafleet.buckets from public;

-- The stack file's buckets, as one JSON literal.
create temp table supafleet_declared on commit drop as
  select d.id, d.public, d.file_size_limit, d.allowed_mime_types
  from jsonb_to_recordset({{declared}}::jsonb)
    as d(id text, public boolean, file_size_limit bigint, allowed_mime_types text[]);

-- Declared buckets are managed from now on, a same-named one made by hand included.
insert into supafleet.buckets (id)
  select id from supafleet_declared
on conflict (id) do update set declared = true, undeclared_since = null
  where supafleet.buckets.declared is distinct from true;

-- Made or brought to what the stack file says; a bucket already so is not written at all.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
  select id, id, public, file_size_limit, allowed_mime_types from supafleet_declared
on conflict (id) do update
  set public = excluded.public, file_size_limit = excluded.file_size_limit,
      allowed_mime_types = excluded.allowed_mime_types, updated_at = now()
  where (storage.buckets.public, storage.buckets.file_size_limit, storage.buckets.allowed_mime_types)
    is distinct from (excluded.public, excluded.file_size_limit, excluded.allowed_mime_types);

-- Managed buckets no longer declared: deleted when empty, otherwise kept as they are and marked.
do $$
declare
  gone record;
  held bigint;
  why text;
begin
  for gone in
    select m.id from supafleet.buckets m
    where not exists (select 1 from supafleet_declared d where d.id = m.id)
    order by m.id
  loop
    -- Locked first: an upload into it waits, then finds it gone.
    perform 1 from storage.buckets where id = gone.id for update;
    if not found then
      delete from supafleet.buckets where id = gone.id;
      continue;
    end if;
    select count(*) into held from storage.objects where bucket_id = gone.id;
    why := format('it holds %s objects', held);
    if held = 0 then
      begin
        -- Storage refuses direct deletes unless told this one is meant (its protect_delete trigger).
        perform set_config('storage.can_delete', 'true', true);
        delete from storage.buckets where id = gone.id;
        perform set_config('storage.can_delete', 'false', true);
        delete from supafleet.buckets where id = gone.id;
        raise info 'supafleet: deleted bucket %: empty and no longer declared', quote_literal(gone.id);
        continue;
      exception when foreign_key_violation then
        why := 'another Storage table still refers to it (an unfinished upload)';
      end;
    end if;
    update supafleet.buckets set declared = false, undeclared_since = coalesce(undeclared_since, now())
      where id = gone.id and declared;
    raise warning 'supafleet: bucket % is no longer declared but was kept as it is, because %; it is deleted on a later run once it is empty', quote_literal(gone.id), why;
  end loop;
end $$;

commit;

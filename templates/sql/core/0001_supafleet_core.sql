-- supafleet core: the private schema, the tenant helper, the auditor role and
-- the access token hook that carries the tenant id into every JWT.
-- Idempotent: safe to run on a database that already has it.

create schema if not exists supafleet;
comment on schema supafleet is 'supafleet internals; not exposed by PostgREST';

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'auditor') then
    create role auditor nologin noinherit;
  end if;
end
$$;
grant auditor to authenticator;
alter role auditor set statement_timeout = '8s';

-- The tenant of the current request, from the JWT's top-level claim that the
-- hook below copies out of app_metadata. Null when there is none. It reads the
-- claims PostgREST sets for the transaction (what auth.jwt() returns), once per
-- statement: policies call it as (select supafleet.tenant_id()). No SET clause:
-- it is not security definer and uses only pg_catalog, and without one Postgres
-- can inline it, which keeps each policy's init plan nearly free.
create or replace function supafleet.tenant_id() returns uuid
language sql stable parallel safe
as $$
  select nullif(nullif(current_setting('request.jwt.claims', true), '')::json ->> 'tenant_id', '')::uuid
$$;

grant usage on schema supafleet to anon, authenticated, auditor, service_role;
grant execute on function supafleet.tenant_id() to anon, authenticated, auditor, service_role;

-- Runs inside GoTrue before a token is issued. Only app_metadata counts: a
-- user can edit user_metadata, never app_metadata.
create or replace function public.custom_access_token_hook(event jsonb) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  claims jsonb := event -> 'claims';
  app jsonb := coalesce(event -> 'claims' -> 'app_metadata', '{}'::jsonb);
begin
  if app ? 'tenant_id' and (app ->> 'tenant_id') ~ '^[0-9a-fA-F-]{36}$' then
    claims := jsonb_set(claims, '{tenant_id}', to_jsonb(app ->> 'tenant_id'));
  else
    claims := claims - 'tenant_id';
  end if;
  if app ->> 'supafleet_role' = 'auditor' then
    claims := jsonb_set(claims, '{role}', '"auditor"');
  end if;
  return jsonb_build_object('claims', claims);
end
$$;

grant usage on schema public to supabase_auth_admin;
grant execute on function public.custom_access_token_hook(jsonb) to supabase_auth_admin;
revoke execute on function public.custom_access_token_hook(jsonb) from authenticated, anon, public;

-- The tenants whose rows live in this project, with the id their users'
-- app_metadata.tenant_id must carry. Private: automations read it as service_role.
create table if not exists supafleet.tenants (
  id uuid primary key,
  slug text not null unique,
  name text not null,
  isolation text not null check (isolation in ('pooled', 'shared', 'dedicated')),
  updated_at timestamptz not null default now()
);
revoke all on supafleet.tenants from public, anon, authenticated, auditor;
grant select on supafleet.tenants to service_role;

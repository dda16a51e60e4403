-- supafleet core: the private schema, the tenant helper, the auditor role, the
-- project's tenants and the access token hook that carries the tenant id and its
-- plan into every JWT.
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

-- The tenants whose rows live in this project, with the id their users'
-- app_metadata.tenant_id must carry. Private: automations read it as service_role.
create table if not exists supafleet.tenants (
  id uuid primary key,
  slug text not null unique,
  name text not null,
  isolation text not null check (isolation in ('pooled', 'shared', 'dedicated')),
  updated_at timestamptz not null default now()
);
-- Added after the table first shipped: projects made before have it without.
alter table supafleet.tenants add column if not exists plan text;
revoke all on supafleet.tenants from public, anon, authenticated, auditor;
grant select on supafleet.tenants to service_role;

-- The plan of a tenant of this project, for the token hook: the gateway limits each
-- tenant's requests by it. Security definer so the hook's role reads this one
-- column of one row, not the table.
create or replace function supafleet.tenant_plan(p_tenant uuid) returns text
language sql stable security definer
set search_path = ''
as $$
  select t.plan from supafleet.tenants t where t.id = p_tenant
$$;

grant usage on schema supafleet to supabase_auth_admin;
revoke execute on function supafleet.tenant_plan(uuid) from public, anon, authenticated, auditor, service_role;
grant execute on function supafleet.tenant_plan(uuid) to supabase_auth_admin;

-- Runs inside GoTrue before a token is issued. Only app_metadata counts: a
-- user can edit user_metadata, never app_metadata. tenant_plan is the plan
-- supafleet.tenants records for that tenant, and none for a tenant it does not
-- list (a registry's own sign-ups); any such claim GoTrue was handed is dropped.
create or replace function public.custom_access_token_hook(event jsonb) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  claims jsonb := event -> 'claims';
  app jsonb := coalesce(event -> 'claims' -> 'app_metadata', '{}'::jsonb);
  plan text;
begin
  claims := claims - 'tenant_id' - 'tenant_plan';
  -- A well-formed UUID only: one that is not would fail its cast in every policy (and here).
  if (app ->> 'tenant_id') ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    claims := jsonb_set(claims, '{tenant_id}', to_jsonb(app ->> 'tenant_id'));
    plan := supafleet.tenant_plan((app ->> 'tenant_id')::uuid);
    if plan is not null then
      claims := jsonb_set(claims, '{tenant_plan}', to_jsonb(plan));
    end if;
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

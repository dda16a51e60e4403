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
-- hook below copies out of app_metadata. Null when there is none.
create or replace function supafleet.tenant_id() returns uuid
language sql stable
set search_path = ''
as $$
  select nullif((select auth.jwt()) ->> 'tenant_id', '')::uuid
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

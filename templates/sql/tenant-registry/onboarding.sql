-- tenant-registry onboarding (seed 002: Supabase Auth sign-up -> n8n -> tenant
-- with its plan's products -> welcome message). A new auth.users row writes a
-- tenant.signup entry to the outbox in the sign-up's own transaction; n8n
-- claims it over PostgREST as service_role and calls registry_onboard, which
-- makes the tenant once per user. An outbox rather than a post from the
-- database: no pg_net, no signing secret in the database, and a sign-up made
-- while n8n is down waits for it instead of being lost.
-- Idempotent: create or replace, if not exists, on conflict do nothing.

-- What registry_onboard and the self-service insert look a user's tenant up by.
create index if not exists tenants_owner_id_idx on public.tenants (owner_id);

-- The plan a sign-up gets unless it asks for another trial plan. The stack
-- file's registry.plans replace it (the project's registry seed).
insert into public.registry_plans (id, products, trial_hours) values ('trial', '{}', 24)
on conflict (id) do nothing;

-- A slug from a name, unique by a hash of the user: the name alone could
-- collide, and a collision must not tell the user another tenant's slug.
create or replace function supafleet.registry_slug(p_name text, p_user uuid) returns text
language sql immutable set search_path = ''
as $$
  select left(case when b ~ '^[a-z]' then b else 't-' || b end, 30) || '-' || left(md5(p_user::text), 8)
  from (select trim(both '-' from regexp_replace(lower(coalesce(p_name, '')), '[^a-z0-9]+', '-', 'g')) as b) s
$$;
revoke all on function supafleet.registry_slug(text, uuid) from public, anon, authenticated, auditor, service_role;

-- The plan for a sign-up asking for p_plan: that plan if it is a trial plan
-- (it has trial hours), else `trial`. A user writes their own
-- user_metadata, so a sign-up never picks a paid plan by naming it.
create or replace function supafleet.registry_signup_plan(p_plan text, out plan text, out products text[], out trial_hours integer)
language sql stable security definer set search_path = ''
as $$
  select coalesce(chosen.id, 'trial'), coalesce(chosen.products, fallback.products, '{}'), coalesce(chosen.trial_hours, fallback.trial_hours)
  from (select 1) one
  left join public.registry_plans chosen on chosen.id = p_plan and chosen.trial_hours is not null
  left join public.registry_plans fallback on fallback.id = 'trial'
$$;
revoke all on function supafleet.registry_signup_plan(text) from public, anon, authenticated, auditor, service_role;

-- A new tenant's plan products, and the tenant claim in its owner's
-- app_metadata (their next token carries it) unless they already belong to one.
create or replace function supafleet.registry_provision(p_tenant uuid, p_user uuid, p_products text[]) returns void
language plpgsql volatile security definer set search_path = ''
as $$
begin
  insert into public.tenant_products (tenant_id, product)
  select p_tenant, p.product from unnest(p_products) as p(product)
  on conflict (tenant_id, product) do nothing;
  update auth.users u set raw_app_meta_data = coalesce(u.raw_app_meta_data, '{}'::jsonb) || jsonb_build_object('tenant_id', p_tenant)
  where u.id = p_user and not coalesce(u.raw_app_meta_data, '{}'::jsonb) ? 'tenant_id';
end
$$;
revoke all on function supafleet.registry_provision(uuid, uuid, text[]) from public, anon, authenticated, auditor, service_role;

-- Whether a user owns a tenant already (the self-service insert cannot see past its own rows).
create or replace function supafleet.registry_owns_tenant(p_user uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from public.tenants t where t.owner_id = p_user)
$$;
revoke all on function supafleet.registry_owns_tenant(uuid) from public, anon, authenticated, auditor, service_role;

-- Seed 001's "Users can create tenants": the user names the tenant, its
-- contact and themselves as owner; the rest is decided here, so a user can
-- neither activate a plan nor probe another tenant's slug or domain. One
-- tenant per user. Only for a signed-in user's insert (service_role and
-- migrations write what they mean).
create or replace function supafleet.registry_self_service_tenant() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_plan record;
begin
  -- Checked before ownership, so that no one learns whether another user has a tenant.
  if new.owner_id is distinct from auth.uid() then
    raise exception using errcode = '42501', message = 'registry: a user creates a tenant for themselves only';
  end if;
  if supafleet.registry_owns_tenant(new.owner_id) then
    raise exception using errcode = '42501', message = 'registry: this user has a tenant already';
  end if;
  select * into v_plan from supafleet.registry_signup_plan('trial');
  new.slug := supafleet.registry_slug(new.name, new.owner_id);
  new.type := 'customer';
  new.status := 'trial';
  new.plan := v_plan.plan;
  new.trial_expires_at := case when v_plan.trial_hours is not null then now() + make_interval(hours => v_plan.trial_hours) end;
  return new;
end
$$;
revoke all on function supafleet.registry_self_service_tenant() from public, anon, authenticated, auditor, service_role;

create or replace function supafleet.registry_self_service_provision() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform supafleet.registry_provision(new.id, new.owner_id, (supafleet.registry_signup_plan(new.plan)).products);
  return null;
end
$$;
revoke all on function supafleet.registry_self_service_provision() from public, anon, authenticated, auditor, service_role;

-- current_user is the request's role here: the trigger's WHEN runs before the definer function.
drop trigger if exists tenants_self_service on public.tenants;
create trigger tenants_self_service before insert on public.tenants
  for each row when (current_user = 'authenticated') execute function supafleet.registry_self_service_tenant();
drop trigger if exists tenants_self_service_provision on public.tenants;
create trigger tenants_self_service_provision after insert on public.tenants
  for each row when (current_user = 'authenticated') execute function supafleet.registry_self_service_provision();

-- Topic tenant.signup: one entry per new user who belongs to no tenant yet
-- (an invited member arrives with app_metadata.tenant_id and needs none).
create or replace function supafleet.registry_outbox_signup() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if coalesce(new.raw_app_meta_data, '{}'::jsonb) ? 'tenant_id' then
    return null;
  end if;
  insert into public.outbox (topic, tenant_id, clave, payload)
  values ('tenant.signup', null, format('signup:%s', new.id), jsonb_build_object(
    'user_id', new.id,
    'email', new.email,
    'name', nullif(btrim(new.raw_user_meta_data ->> 'name'), ''),
    'plan', coalesce(nullif(btrim(new.raw_user_meta_data ->> 'plan'), ''), 'trial'),
    'signed_up_at', coalesce((to_jsonb(new) ->> 'created_at')::timestamptz, now())))
  on conflict (clave) do nothing;
  return null;
end
$$;
revoke all on function supafleet.registry_outbox_signup() from public, anon, authenticated, auditor, service_role;

drop trigger if exists supafleet_registry_signup on auth.users;
create trigger supafleet_registry_signup after insert on auth.users
  for each row execute function supafleet.registry_outbox_signup();

-- Makes the tenant for a sign-up (the tenant.signup payload): owned by the
-- user, contact_email theirs, a trial of the plan asked for (see
-- registry_signup_plan) expiring after the plan's trial hours, with the
-- plan's products active and the tenant claim in the user's app_metadata.
-- Once per user: a second call returns the same tenant with created false
-- and changes nothing. Returns { tenant_id, slug, created, products }.
create or replace function public.registry_onboard(p_signup jsonb) returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user uuid;
  v_email text;
  v_meta jsonb;
  v_name text;
  v_plan record;
  v_tenant public.tenants;
  v_created boolean := false;
begin
  if p_signup is null or jsonb_typeof(p_signup) <> 'object' then
    raise exception using errcode = '22023', message = 'registry_onboard: p_signup must be a JSON object';
  end if;
  if coalesce(p_signup ->> 'user_id', '') !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    raise exception using errcode = '22023', message = 'registry_onboard: user_id must be a user''s uuid';
  end if;
  v_user := (p_signup ->> 'user_id')::uuid;
  select u.email, coalesce(u.raw_user_meta_data, '{}'::jsonb) into v_email, v_meta from auth.users u where u.id = v_user;
  if not found then
    raise exception using errcode = '22023', message = format('registry_onboard: no user %s', v_user);
  end if;
  -- Two deliveries of one sign-up at once: the second waits, then finds the first's tenant.
  perform pg_advisory_xact_lock(hashtextextended('supafleet.registry_onboard:' || v_user::text, 0));
  select t.* into v_tenant from public.tenants t where t.owner_id = v_user order by t.created_at, t.id limit 1;
  if not found then
    select * into v_plan from supafleet.registry_signup_plan(coalesce(nullif(btrim(p_signup ->> 'plan'), ''), v_meta ->> 'plan'));
    v_name := coalesce(nullif(btrim(p_signup ->> 'name'), ''), nullif(btrim(v_meta ->> 'name'), ''), split_part(coalesce(v_email, ''), '@', 1), 'tenant');
    insert into public.tenants (slug, name, type, status, plan, trial_expires_at, contact_email, owner_id)
    values (supafleet.registry_slug(v_name, v_user), left(v_name, 200), 'customer', 'trial', v_plan.plan,
      case when v_plan.trial_hours is not null then now() + make_interval(hours => v_plan.trial_hours) end,
      case when v_email ~ '^[^@[:space:]]+@[^@[:space:]]+$' then v_email end, v_user)
    returning * into v_tenant;
    perform supafleet.registry_provision(v_tenant.id, v_user, v_plan.products);
    v_created := true;
  end if;
  return jsonb_build_object('tenant_id', v_tenant.id, 'slug', v_tenant.slug, 'created', v_created,
    'products', coalesce((select jsonb_agg(p.product order by p.product) from public.tenant_products p where p.tenant_id = v_tenant.id and p.enabled), '[]'::jsonb));
end
$$;
revoke all on function public.registry_onboard(jsonb) from public, anon, authenticated, auditor;
grant execute on function public.registry_onboard(jsonb) to service_role;

-- supafleet: this project's registry plans and base tenants (docs/configuration.md, "registry").
-- Run with: psql -X -v ON_ERROR_STOP=1 -f <this file>, after the tenant-registry migrations.
-- Plans are as the stack file declares them. Base tenants are found by slug: a new one is made;
-- for one that exists, only what the stack file's declaration changed since the last seed is
-- written, so what the tenant or the application changed since (a suspended trial, a new contact)
-- stays unless the stack file changes that same field. Idempotent: a second run writes no row.
\set ON_ERROR_STOP on
set client_min_messages = warning;
set standard_conforming_strings = on;
begin;

do $$ begin
  if to_regclass('public.registry_plans') is null or to_regclass('public.tenants') is null then
    raise exception 'the tenant-registry migrations have not run on this database yet (public.registry_plans is missing)';
  end if;
end $$;

-- What each base tenant's last seed declared: the yardstick for what the stack file changed.
create schema if not exists supafleet;
create table if not exists supafleet.registry_seeded (
  slug text primary key,
  declared jsonb not null,
  seeded_at timestamptz not null default now()
);
revoke all on supafleet.registry_seeded from public;

-- The stack file's registry, as one JSON literal.
create temp table supafleet_registry on commit drop as select {{declared}}::jsonb as doc;

insert into public.registry_plans (id, products, trial_hours)
  select p.id, p.products, p.trial_hours
  from supafleet_registry r, jsonb_to_recordset(r.doc -> 'plans') as p(id text, products text[], trial_hours integer)
on conflict (id) do update set products = excluded.products, trial_hours = excluded.trial_hours, updated_at = now()
  where (registry_plans.products, registry_plans.trial_hours) is distinct from (excluded.products, excluded.trial_hours);

-- One row per base tenant: its id if it is new, and what the stack file declares of it.
create temp table supafleet_registry_tenants on commit drop as
  select t.value ->> 'slug' as slug, (t.value ->> 'id')::uuid as id, t.value -> 'declared' as declared
  from supafleet_registry r, jsonb_array_elements(r.doc -> 'tenants') as t;

do $$
declare
  d record;
  changed jsonb;
  trial_ends timestamptz;
begin
  for d in
    select b.slug, b.id, b.declared, s.declared as previous
    from supafleet_registry_tenants b left join supafleet.registry_seeded s on s.slug = b.slug
    order by b.slug
  loop
    -- The declared fields whose value differs from the last seed's (every field, the first time).
    select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) into changed
    from jsonb_each(d.declared) e
    where d.previous is null or d.previous -> e.key is distinct from e.value;
    trial_ends := case when d.declared ->> 'status' = 'trial' then now() + make_interval(hours => (d.declared ->> 'trial_hours')::integer) end;
    if not exists (select 1 from public.tenants t where t.slug = d.slug) then
      insert into public.tenants (id, slug, name, type, status, plan, contact_email, primary_domain, trial_expires_at)
      values (d.id, d.slug, d.declared ->> 'name', d.declared ->> 'type', coalesce(d.declared ->> 'status', 'active'), d.declared ->> 'plan',
        d.declared ->> 'contact_email', d.declared ->> 'primary_domain', trial_ends);
    elsif changed <> '{}'::jsonb then
      update public.tenants t set
        name = case when changed ? 'name' then changed ->> 'name' else t.name end,
        type = case when changed ? 'type' then changed ->> 'type' else t.type end,
        -- A trial starts again only when the stack file changes the trial itself (its status or length).
        status = case when changed ? 'status' or (changed ? 'trial_hours' and trial_ends is not null) then d.declared ->> 'status' else t.status end,
        plan = case when changed ? 'plan' then changed ->> 'plan' else t.plan end,
        contact_email = case when changed ? 'contact_email' then changed ->> 'contact_email' else t.contact_email end,
        primary_domain = case when changed ? 'primary_domain' then changed ->> 'primary_domain' else t.primary_domain end,
        trial_expires_at = case when (changed ? 'status' or changed ? 'trial_hours') and trial_ends is not null then trial_ends else t.trial_expires_at end,
        updated_at = now()
      where t.slug = d.slug;
    end if;
    -- A plan declared anew brings its products; one the tenant turned off stays off.
    if changed ? 'plan' then
      insert into public.tenant_products (tenant_id, product)
        select t.id, p.product from public.tenants t, public.registry_plans rp, unnest(rp.products) as p(product)
        where t.slug = d.slug and rp.id = d.declared ->> 'plan'
      on conflict (tenant_id, product) do nothing;
    end if;
    insert into supafleet.registry_seeded (slug, declared) values (d.slug, d.declared)
    on conflict (slug) do update set declared = excluded.declared, seeded_at = now()
      where registry_seeded.declared is distinct from excluded.declared;
  end loop;
end $$;

commit;

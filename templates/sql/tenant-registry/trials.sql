-- Trials end (seed 002): a tenant whose trial_expires_at has passed moves from
-- trial to suspended, and a tenant.trial_expired entry goes to the outbox in
-- the same transaction, for n8n to tell the team. Run every five minutes by
-- pg_cron where the server preloads it (Supabase's image does); elsewhere
-- anything may call it (n8n's schedule, as service_role).
-- Idempotent: create or replace; cron.schedule replaces a job of the same name.

-- Returns how many tenants it suspended. Run twice, or by two callers at once,
-- it suspends each tenant once and queues one entry: the update re-checks the
-- status of a row another run has locked, and the clave is unique.
create or replace function supafleet.expire_trials() returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_count integer;
begin
  with expired as (
    update public.tenants t set status = 'suspended', updated_at = now()
    where t.status = 'trial' and t.trial_expires_at <= now()
    returning t.id, t.slug, t.name, t.contact_email, t.trial_expires_at
  ), queued as (
    insert into public.outbox (topic, tenant_id, clave, payload)
    select 'tenant.trial_expired', e.id,
      format('trial_expired:%s:%s', e.id, floor(extract(epoch from e.trial_expires_at))::bigint),
      jsonb_build_object('tenant_id', e.id, 'slug', e.slug, 'name', e.name, 'contact_email', e.contact_email, 'trial_expires_at', e.trial_expires_at)
    from expired e
    on conflict (clave) do nothing
    returning 1
  )
  select count(*) into v_count from expired;
  return v_count;
end
$$;
revoke all on function supafleet.expire_trials() from public, anon, authenticated, auditor;
grant execute on function supafleet.expire_trials() to service_role;

-- pg_cron only where the server preloads it, and only in its database (cron.database_name).
do $$ begin
  if current_setting('shared_preload_libraries', true) ~ '(^|[ ,])pg_cron([ ,]|$)'
     and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres') then
    create extension if not exists pg_cron;
    perform cron.schedule('supafleet-expire-trials', '*/5 * * * *', 'select supafleet.expire_trials()');
  end if;
end $$;

-- The outbox's index and RPCs, driven by n8n through PostgREST RPC as
-- service_role. msp-ops and tenant-registry both run this file (create or
-- replace, if not exists), so a project with both packs has one outbox.
-- The definer functions belong to the migration's superuser, which RLS does
-- not filter; every one is executable by service_role only.

-- A sign-up belongs to no tenant yet; outboxes made before sign-ups had tenant_id not null.
alter table public.outbox alter column tenant_id drop not null;
-- What outbox_claim scans: a topic's undelivered entries, oldest first.
create index if not exists outbox_pendiente_idx on public.outbox (topic, id) where entregado_at is null;
-- Supabase's default privileges give the API roles every new sequence in public.
do $$ begin
  execute format('revoke all on sequence %s from anon, authenticated', pg_get_serial_sequence('public.outbox', 'id'));
end $$;

-- Claims up to p_limit due, undelivered entries of a topic, oldest first, and
-- leases them for p_lease_seconds: skip locked keeps concurrent claimers
-- apart now, the lease keeps them apart until ack or fail (or a crashed
-- claimer's lease runs out).
create or replace function public.outbox_claim(p_topic text, p_limit integer default 10, p_lease_seconds integer default 60) returns setof jsonb
language sql volatile security definer set search_path = ''
as $$
  with due as (
    select o.id from public.outbox o
    where o.topic = p_topic and o.entregado_at is null and o.siguiente_intento <= now()
      and (o.reservado_hasta is null or o.reservado_hasta <= now())
    order by o.id
    limit greatest(coalesce(p_limit, 10), 0)
    for update skip locked
  ), claimed as (
    update public.outbox o set reservado_hasta = now() + make_interval(secs => greatest(coalesce(p_lease_seconds, 60), 1))
    from due where o.id = due.id
    returning o.id, jsonb_build_object('id', o.id, 'topic', o.topic, 'clave', o.clave, 'tenant_id', o.tenant_id, 'payload', o.payload, 'intentos', o.intentos) as entrada
  )
  select c.entrada from claimed c order by c.id
$$;
revoke all on function public.outbox_claim(text, integer, integer) from public, anon, authenticated, auditor;
grant execute on function public.outbox_claim(text, integer, integer) to service_role;

-- Delivered: never claimed again. A second ack keeps the first time.
create or replace function public.outbox_ack(p_id bigint) returns void
language sql volatile security definer set search_path = ''
as $$
  update public.outbox o set entregado_at = now(), reservado_hasta = null
  where o.id = p_id and o.entregado_at is null
$$;
revoke all on function public.outbox_ack(bigint) from public, anon, authenticated, auditor;
grant execute on function public.outbox_ack(bigint) to service_role;

-- Not delivered: release the lease and retry after p_retry_seconds (15 by
-- default) doubled per earlier failure, capped at 15 minutes.
create or replace function public.outbox_fail(p_id bigint, p_error text, p_retry_seconds integer default null) returns void
language sql volatile security definer set search_path = ''
as $$
  update public.outbox o set
    intentos = o.intentos + 1,
    ultimo_error = left(p_error, 2000),
    reservado_hasta = null,
    siguiente_intento = now() + make_interval(secs => least(900, greatest(coalesce(p_retry_seconds, 15), 0) * power(2, least(o.intentos, 16))))
  where o.id = p_id and o.entregado_at is null
$$;
revoke all on function public.outbox_fail(bigint, text, integer) from public, anon, authenticated, auditor;
grant execute on function public.outbox_fail(bigint, text, integer) to service_role;

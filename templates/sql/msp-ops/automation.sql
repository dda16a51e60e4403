-- msp-ops automations, driven by n8n through PostgREST RPC as service_role:
-- Tactical RMM alerts into tickets (rmm_ingest), billing and onboarding
-- changes written to the outbox in the same transaction as the change (the
-- outbox's RPCs are in sql/outbox/outbox.sql, run just before this file), and
-- a new customer's first ticket.
-- Idempotent: create or replace, if not exists, drop-then-create.
--
-- The definer functions belong to the migration's superuser, which RLS does
-- not filter; every one is executable by service_role only.

-- At most one open RMM ticket per (agent, check): a repeated alert updates it.
create unique index if not exists tickets_rmm_abierto_key on public.tickets (tenant_id, rmm_agente, rmm_check)
  where origen = 'rmm' and estado <> 'cerrado';
-- One welcome ticket per customer, ever.
create unique index if not exists tickets_onboarding_key on public.tickets (tenant_id, cliente_id)
  where origen = 'onboarding';
-- The global defaults (fixed ids, so a rerun adds nothing): error alerts and
-- lost agents are critical. An operator adds tenant rules to override them.
insert into public.reglas_rmm (id, tenant_id, severidad_trmm, tipo_alerta, critico) values
  ('6d0c1d4e-0000-5000-8000-000000000001', null, 'error', '*', true),
  ('6d0c1d4e-0000-5000-8000-000000000002', null, '*', 'availability', true)
on conflict (id) do nothing;

-- Hours to a ticket's SLA deadline: the strictest active contract of the
-- customer, else 24 (no contract means best effort, slower than any contract).
create or replace function supafleet.msp_sla_horas(p_tenant uuid, p_cliente uuid) returns integer
language sql stable security definer set search_path = ''
as $$
  select coalesce(
    (select min(c.sla_horas) from public.contratos c
      where c.tenant_id = p_tenant and c.cliente_id = p_cliente
        and c.inicio <= current_date and (c.fin is null or c.fin >= current_date)),
    24)
$$;
revoke all on function supafleet.msp_sla_horas(uuid, uuid) from public, anon, authenticated, auditor, service_role;

-- Whether an alert is critical, from reglas_rmm: the tenant's rules before the
-- global ones, then the most specific match; no matching rule means not critical.
create or replace function supafleet.msp_rmm_critico(p_tenant uuid, p_severidad text, p_tipo text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select coalesce(
    (select r.critico from public.reglas_rmm r
      where (r.tenant_id = p_tenant or r.tenant_id is null)
        and r.severidad_trmm in ('*', p_severidad) and r.tipo_alerta in ('*', p_tipo)
      order by r.tenant_id is null, (r.severidad_trmm <> '*')::int + (r.tipo_alerta <> '*')::int desc, r.critico desc
      limit 1),
    false)
$$;
revoke all on function supafleet.msp_rmm_critico(uuid, text, text) from public, anon, authenticated, auditor, service_role;

-- One Tactical RMM alert, as n8n normalised it (see the keys below). Stored
-- once per TRMM event id; a critical trigger opens or updates the (agent,
-- check) ticket, a resolve closes it. An alert whose client maps to no tenant
-- goes to eventos_rmm_sin_asignar; one from an unknown agent is flagged.
create or replace function public.rmm_ingest(evento jsonb) returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_event_id text := nullif(btrim(evento ->> 'event_id'), '');
  v_event text := lower(nullif(btrim(evento ->> 'event'), ''));
  v_severity text := coalesce(lower(nullif(btrim(evento ->> 'severity'), '')), 'info');
  v_tipo text := coalesce(lower(nullif(btrim(evento ->> 'alert_type'), '')), 'custom');
  v_agente text := nullif(btrim(evento ->> 'agent_id'), '');
  v_host text := nullif(btrim(evento ->> 'hostname'), '');
  v_cliente_trmm text := nullif(btrim(evento ->> 'client'), '');
  v_sitio_trmm text := coalesce(btrim(evento ->> 'site'), '');
  -- The ticket key's second half: the check, or the alert type when there is none (availability).
  v_check text := coalesce(nullif(btrim(evento ->> 'check'), ''), lower(nullif(btrim(evento ->> 'alert_type'), '')), 'custom');
  v_tenant uuid;
  v_cliente uuid;
  v_cliente_disp uuid;
  v_dispositivo uuid;
  v_id uuid;
  v_ticket uuid;
  v_nuevo boolean;
  v_critico boolean := false;
  v_accion text := 'registrado';
begin
  -- Malformed input is the caller's bug: say so (22023, a 400 through PostgREST), never a null violation.
  if evento is null or jsonb_typeof(evento) <> 'object' then
    raise exception using errcode = '22023', message = 'rmm_ingest: evento must be a JSON object';
  end if;
  if v_event_id is null then
    raise exception using errcode = '22023', message = 'rmm_ingest: event_id is required';
  end if;
  if v_event is null or v_event not in ('trigger', 'resolve') then
    raise exception using errcode = '22023', message = format('rmm_ingest: event must be trigger or resolve, not %s', coalesce(evento ->> 'event', 'missing'));
  end if;
  if v_severity not in ('info', 'warning', 'error') then
    raise exception using errcode = '22023', message = format('rmm_ingest: severity must be info, warning or error, not %s', evento ->> 'severity');
  end if;

  -- The site's own mapping before the whole client's.
  select m.tenant_id, m.cliente_id into v_tenant, v_cliente
  from public.rmm_mapeo m
  where m.cliente_trmm = v_cliente_trmm and m.sitio_trmm in (v_sitio_trmm, '')
  order by m.sitio_trmm = ''
  limit 1;

  if v_tenant is null then
    insert into public.eventos_rmm_sin_asignar (evento_rmm_id, cliente_trmm, sitio_trmm, agente_rmm, hostname, payload)
    values (v_event_id, v_cliente_trmm, nullif(v_sitio_trmm, ''), v_agente, v_host, evento)
    on conflict (evento_rmm_id) do nothing
    returning id into v_id;
    if v_id is null then
      select s.id into v_id from public.eventos_rmm_sin_asignar s where s.evento_rmm_id = v_event_id;
      v_accion := 'duplicado';
    else
      v_accion := 'sin_asignar';
    end if;
    return jsonb_build_object('accion', v_accion, 'evento_id', v_id, 'tenant_id', null, 'ticket_id', null, 'sin_asignar', true);
  end if;

  if v_agente is not null then
    select d.id, s.cliente_id into v_dispositivo, v_cliente_disp
    from public.dispositivos d
    join public.sitios s on s.tenant_id = d.tenant_id and s.id = d.sitio_id
    where d.tenant_id = v_tenant and d.agente_rmm = v_agente
    order by d.created_at desc
    limit 1;
  end if;
  -- The device knows its customer better than a client-wide mapping does.
  v_cliente := coalesce(v_cliente_disp, v_cliente);

  insert into public.eventos_rmm (tenant_id, dispositivo_id, tipo, severidad, payload, evento_rmm_id, sin_asignar)
  values (v_tenant, v_dispositivo, v_tipo,
    case v_severity when 'error' then 'critico' when 'warning' then 'aviso' else 'info' end,
    evento, v_event_id, v_dispositivo is null)
  on conflict (tenant_id, evento_rmm_id) do nothing
  returning id into v_id;
  if v_id is null then
    select e.id, e.ticket_id into v_id, v_ticket from public.eventos_rmm e where e.tenant_id = v_tenant and e.evento_rmm_id = v_event_id;
    return jsonb_build_object('accion', 'duplicado', 'evento_id', v_id, 'tenant_id', v_tenant, 'ticket_id', v_ticket);
  end if;

  v_critico := supafleet.msp_rmm_critico(v_tenant, v_severity, v_tipo);
  -- Without an agent id there is no (device, check) key to keep one ticket by.
  if v_event = 'trigger' and v_critico and v_agente is not null then
    -- Concurrent callers meet at the partial unique index: one inserts, the other updates.
    insert into public.tickets as t (tenant_id, cliente_id, dispositivo_id, titulo, descripcion, prioridad, sla_vence,
      origen, rmm_agente, rmm_check, rmm_repeticiones, rmm_ultimo_at)
    values (v_tenant, v_cliente, v_dispositivo, left(format('[RMM] %s: %s', coalesce(v_host, v_agente), v_check), 200),
      evento ->> 'message', 'critica', now() + make_interval(hours => supafleet.msp_sla_horas(v_tenant, v_cliente)),
      'rmm', v_agente, v_check, 1, now())
    on conflict (tenant_id, rmm_agente, rmm_check) where origen = 'rmm' and estado <> 'cerrado'
    do update set rmm_repeticiones = t.rmm_repeticiones + 1, rmm_ultimo_at = now()
    returning t.id, t.xmax = 0 into v_ticket, v_nuevo;
    v_accion := case when v_nuevo then 'ticket_abierto' else 'ticket_actualizado' end;
  elsif v_event = 'resolve' and v_agente is not null then
    update public.tickets t set estado = 'cerrado', cerrado_at = now(), rmm_ultimo_at = now()
    where t.tenant_id = v_tenant and t.origen = 'rmm' and t.rmm_agente = v_agente and t.rmm_check = v_check and t.estado <> 'cerrado'
    returning t.id into v_ticket;
    if v_ticket is not null then
      v_accion := 'ticket_cerrado';
    end if;
  end if;

  if v_ticket is not null then
    update public.eventos_rmm e set ticket_id = v_ticket where e.id = v_id;
  end if;
  return jsonb_build_object('accion', v_accion, 'evento_id', v_id, 'tenant_id', v_tenant, 'ticket_id', v_ticket,
    'cliente_id', v_cliente, 'dispositivo_id', v_dispositivo, 'critico', v_critico, 'sin_asignar', v_dispositivo is null);
end
$$;
revoke all on function public.rmm_ingest(jsonb) from public, anon, authenticated, auditor;
grant execute on function public.rmm_ingest(jsonb) to service_role;

-- Billing: every real change of a subscription, with the row as it now is
-- (as it was, for a delete). The clave is made once per change and stored, so
-- every retry hands the gateway the same idempotency key.
create or replace function supafleet.msp_outbox_suscripcion() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  fila public.suscripciones;
begin
  if tg_op = 'DELETE' then
    fila := old;
  else
    fila := new;
  end if;
  insert into public.outbox (topic, tenant_id, clave, payload)
  values ('facturacion', fila.tenant_id, format('suscripciones:%s:%s:%s', fila.id, lower(tg_op), gen_random_uuid()),
    jsonb_build_object('op', lower(tg_op), 'tenant_id', fila.tenant_id, 'cliente_id', fila.cliente_id, 'suscripcion', to_jsonb(fila)));
  return null;
end
$$;
revoke all on function supafleet.msp_outbox_suscripcion() from public, anon, authenticated, auditor, service_role;

drop trigger if exists suscripciones_outbox on public.suscripciones;
create trigger suscripciones_outbox after insert or delete on public.suscripciones
  for each row execute function supafleet.msp_outbox_suscripcion();
-- An update that changes nothing bills nothing.
drop trigger if exists suscripciones_outbox_update on public.suscripciones;
create trigger suscripciones_outbox_update after update on public.suscripciones
  for each row when (old.* is distinct from new.*) execute function supafleet.msp_outbox_suscripcion();

-- Onboarding: one entry per new customer, keyed by the customer.
create or replace function supafleet.msp_outbox_cliente_alta() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  insert into public.outbox (topic, tenant_id, clave, payload)
  values ('onboarding', new.tenant_id, format('clientes:%s:alta', new.id),
    jsonb_build_object('tenant_id', new.tenant_id,
      'cliente', jsonb_build_object('id', new.id, 'nombre', new.nombre, 'email', new.email, 'telefono', new.telefono)))
  on conflict (clave) do nothing;
  return null;
end
$$;
revoke all on function supafleet.msp_outbox_cliente_alta() from public, anon, authenticated, auditor, service_role;

drop trigger if exists clientes_outbox_alta on public.clientes;
create trigger clientes_outbox_alta after insert on public.clientes
  for each row execute function supafleet.msp_outbox_cliente_alta();

-- A new customer's first ticket; a second call returns the same one.
create or replace function public.onboarding_first_ticket(p_tenant_id uuid, p_cliente_id uuid) returns uuid
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_id uuid;
begin
  if not exists (select 1 from public.clientes c where c.tenant_id = p_tenant_id and c.id = p_cliente_id) then
    raise exception using errcode = '22023', message = format('onboarding_first_ticket: tenant %s has no cliente %s', p_tenant_id, p_cliente_id);
  end if;
  insert into public.tickets (tenant_id, cliente_id, titulo, descripcion, prioridad, sla_vence, origen)
  values (p_tenant_id, p_cliente_id, 'Bienvenida / alta de cliente', 'Alta del cliente: accesos, inventario de dispositivos y contrato.', 'media',
    now() + make_interval(hours => supafleet.msp_sla_horas(p_tenant_id, p_cliente_id)), 'onboarding')
  on conflict (tenant_id, cliente_id) where origen = 'onboarding' do nothing
  returning id into v_id;
  if v_id is null then
    select t.id into v_id from public.tickets t where t.tenant_id = p_tenant_id and t.cliente_id = p_cliente_id and t.origen = 'onboarding';
  end if;
  return v_id;
end
$$;
revoke all on function public.onboarding_first_ticket(uuid, uuid) from public, anon, authenticated, auditor;
grant execute on function public.onboarding_first_ticket(uuid, uuid) to service_role;

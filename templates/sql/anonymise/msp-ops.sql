-- supafleet: anonymise the msp-ops pack's data for a copy into another
-- environment (prod → staging). Row counts, keys, tenants and relations stay;
-- every name, email address, phone number, address and free text that could
-- identify a person goes. Values are derived from each row's id, so a second
-- run gives the same result. Runs in one transaction, as supabase_admin.

-- Only where this pack's tables exist: every pack's hook runs on every copy.
select to_regclass('public.clientes') is not null as supafleet_has_pack \gset
\if :supafleet_has_pack
update public.clientes set
  nombre = 'Cliente ' || left(id::text, 8),
  email = case when email is null then null else 'cliente-' || left(id::text, 8) || '@example.invalid' end,
  telefono = case when telefono is null then null else '+00 000 ' || lpad((abs(hashtext(id::text)) % 1000000)::text, 6, '0') end;

update public.sitios set
  nombre = 'Sitio ' || left(id::text, 8),
  direccion = case when direccion is null then null else 'Calle ' || left(id::text, 8) end;

update public.dispositivos set hostname = 'host-' || left(id::text, 8);

update public.tickets set
  titulo = 'Ticket ' || left(id::text, 8),
  descripcion = case when descripcion is null then null else 'anonymised' end;

-- Alert payloads from the RMM name hosts, users and paths.
update public.eventos_rmm set payload = jsonb_build_object('anonymised', true);

update public.users set
  email = 'user-' || left(id::text, 8) || '@example.invalid',
  nombre = case when nombre is null then null else 'Usuario ' || left(id::text, 8) end;

-- The automation tables and columns, in backups taken once the pack had them.
select to_regclass('public.outbox') is not null as supafleet_has_automation \gset
\if :supafleet_has_automation
-- A check's description can name hosts, users and paths; each open key stays unique.
update public.tickets set rmm_check = 'check-' || id::text where rmm_check is not null;

-- TRMM's client and site names are the customers' names.
update public.rmm_mapeo set
  cliente_trmm = 'Cliente ' || id::text,
  sitio_trmm = case when sitio_trmm = '' then '' else 'Sitio ' || id::text end;

update public.eventos_rmm_sin_asignar set
  cliente_trmm = case when cliente_trmm is null then null else 'Cliente ' || id::text end,
  sitio_trmm = case when sitio_trmm is null then null else 'Sitio ' || id::text end,
  hostname = case when hostname is null then null else 'host-' || left(id::text, 8) end,
  payload = jsonb_build_object('anonymised', true);

-- Prod's undelivered billing and onboarding must never go out from a copy, and
-- the payloads carry names, emails and phone numbers.
delete from public.outbox;
\endif
\endif

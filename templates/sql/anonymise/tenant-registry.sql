-- supafleet: anonymise the tenant-registry pack's data for a copy into another
-- environment. Tenants keep their ids and slugs (the fleet's own names); what
-- they store about their integrations goes, and no credential survives: the
-- key that decrypts api_credentials is replaced, so old ciphertext is useless,
-- and the rows themselves are removed.

-- Only where this pack's tables exist: every pack's hook runs on every copy.
select to_regclass('public.api_credentials') is not null as supafleet_has_pack \gset
\if :supafleet_has_pack
delete from public.api_credentials;
-- A new key in Vault: the restore emptied vault.secrets, whose root key stayed with the source.
delete from vault.secrets where name = 'supafleet_api_credentials';
do $$ begin
  perform vault.create_secret(encode(extensions.gen_random_bytes(32), 'hex'), 'supafleet_api_credentials');
end $$;
update public.tenants set metadata = '{}'::jsonb;
-- A tax id names a company or a person: a made-up one per row, still unique. Older backups lack the column.
select exists (select 1 from information_schema.columns where table_schema = 'public' and table_name = 'tenants' and column_name = 'rut') as supafleet_has_rut \gset
\if :supafleet_has_rut
update public.tenants set rut = 'anon-' || left(md5(id::text), 12) where rut is not null;
\endif
-- Issue 29's columns, in backups taken once the pack had them: a contact's email names a person,
-- and the outbox's sign-ups and expired trials carry emails and must never go out from a copy.
select exists (select 1 from information_schema.columns where table_schema = 'public' and table_name = 'tenants' and column_name = 'contact_email') as supafleet_has_contact \gset
\if :supafleet_has_contact
update public.tenants set contact_email = 'contact-' || left(md5(id::text), 12) || '@example.invalid' where contact_email is not null;
delete from public.outbox where topic in ('tenant.signup', 'tenant.trial_expired');
\endif
update public.tenant_integrations set config = '{}'::jsonb;
update public.tenant_services set config = '{}'::jsonb;
update public.tenant_products set config = '{}'::jsonb;
\endif

-- The key for api_credentials lives in Supabase Vault, encrypted at rest with the
-- server's root key, which is a file outside the database (the db-config volume).
do $$ begin
  if not exists (select 1 from vault.secrets where name = 'supafleet_api_credentials') then
    perform vault.create_secret(encode(extensions.gen_random_bytes(32), 'hex'), 'supafleet_api_credentials');
  end if;
end $$;

-- Only the definer functions below call it; no API role may, not even service_role.
create or replace function supafleet.api_credentials_key() returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  k text;
begin
  select s.decrypted_secret into k from vault.decrypted_secrets s where s.name = 'supafleet_api_credentials';
  -- A missing key must stop the write: encrypting with null would store null and lose the secret.
  if k is null then
    raise exception 'supafleet: the api_credentials key is missing from Vault (secret supafleet_api_credentials)';
  end if;
  return k;
end
$$;
revoke all on function supafleet.api_credentials_key() from public, anon, authenticated, auditor, service_role;

-- Encrypts a credential's secret as it is written (AES-256, seed 002); the plaintext column never keeps a value.
create or replace function supafleet.encrypt_api_credential() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.secret_plaintext is not null then
    new.secret_ciphertext := extensions.pgp_sym_encrypt(new.secret_plaintext, supafleet.api_credentials_key(), 'cipher-algo=aes256');
    new.last_four := right(new.secret_plaintext, 4);
    new.secret_plaintext := null;
    if tg_op = 'UPDATE' then
      new.rotated_at := now();
    end if;
  end if;
  return new;
end
$$;
revoke all on function supafleet.encrypt_api_credential() from public;

drop trigger if exists api_credentials_encrypt on public.api_credentials;
create trigger api_credentials_encrypt before insert or update on public.api_credentials
  for each row execute function supafleet.encrypt_api_credential();

-- The only way to read a secret back: service_role (automations), by credential id.
create or replace function supafleet.api_credential_secret(credential_id uuid) returns text
language sql stable security definer set search_path = ''
as $$
  select extensions.pgp_sym_decrypt(c.secret_ciphertext, supafleet.api_credentials_key())
  from public.api_credentials c
  where c.id = credential_id
$$;
revoke all on function supafleet.api_credential_secret(uuid) from public, anon, authenticated, auditor;
grant execute on function supafleet.api_credential_secret(uuid) to service_role;

import { appendFileSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { TestPostgres } from "./postgres";

/**
 * A stand-in for Supabase Vault, whose extension (supabase_vault on pgsodium)
 * cannot be installed here. It keeps what matters for a restore: secrets are
 * encrypted in the database with a root key that lives outside it, in a file
 * of the server's config folder (Supabase's `db-config` volume,
 * /etc/postgresql-custom/pgsodium_root.key), which the server reads. Without
 * that very file, no secret decrypts.
 */
export const VAULT_STAND_IN_SQL = `
create schema if not exists extensions;
-- Supabase's image creates its extensions as supabase_admin, so that role owns their objects.
set role supabase_admin;
create extension if not exists pgcrypto with schema extensions;
reset role;
create schema vault;
create table vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  secret text not null,
  created_at timestamptz not null default now()
);
create function vault._root_key() returns text language sql stable as $$
  select pg_read_file(current_setting('supafleet.vault_key_file'))
$$;
create function vault.create_secret(new_secret text, new_name text) returns uuid language sql as $$
  insert into vault.secrets (name, secret) values (new_name, encode(extensions.pgp_sym_encrypt(new_secret, vault._root_key()), 'base64')) returning id
$$;
create view vault.decrypted_secrets as
  select id, name, extensions.pgp_sym_decrypt(decode(secret, 'base64'), vault._root_key()) as decrypted_secret from vault.secrets;
`;

/** Writes the server's Vault root key into `configDir` and points the server at it, as the image's config does. */
export function useVaultKey(pg: TestPostgres, configDir: string, key: string): void {
  mkdirSync(configDir, { recursive: true });
  const file = join(configDir, "pgsodium_root.key");
  writeFileSync(file, key, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(configDir, uid, gid);
    chownSync(file, uid, gid);
  }
  // In the server's own config file, as the image's postgresql.conf names pgsodium's key script.
  appendFileSync(join(pg.home, "data/postgresql.conf"), `\nsupafleet.vault_key_file = '${file}'\n`);
  pg.psql("select pg_reload_conf();");
}

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { TestPostgres } from "./postgres";
import { useVaultKey, VAULT_STAND_IN_SQL } from "./vault";

/**
 * A small stand-in for what a Supabase database has before any project
 * migration: the API roles with upstream's attributes, the authenticator that
 * PostgREST logs in as, the auth schema with auth.uid() and auth.jwt() as
 * GoTrue defines them, Supabase's default grants on public, and Vault (a
 * stand-in with its root key in a file outside the database).
 */
export const STAND_IN_SQL = `
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit password 'authenticator-pw';
create role supabase_auth_admin login noinherit createrole password 'auth-admin-pw';
grant anon, authenticated, service_role to authenticator;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

create schema auth;
create table auth.users (
  id uuid primary key,
  email text,
  raw_app_meta_data jsonb not null default '{}',
  raw_user_meta_data jsonb not null default '{}'
);
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
grant usage on schema auth to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
grant create on schema public to postgres;
-- As on Supabase: new objects in public are granted to every API role; the packs must revoke.
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
`;

export class SupabaseTestDb {
  readonly pg = new TestPostgres();

  async start(): Promise<this> {
    await this.pg.start();
    this.pg.psql(`create role supabase_admin login superuser password 'admin-pw';\n${STAND_IN_SQL}\n${VAULT_STAND_IN_SQL}`);
    useVaultKey(this.pg, join(this.pg.home, "db-config"), randomBytes(32).toString("hex"));
    return this;
  }

  stop(): void {
    this.pg.stop();
  }

  /** Runs a migration bundle exactly as RlsPolicySet does: psql reading the bundle on stdin. */
  applyBundle(bundle: string): string {
    return execFileSync("psql", ["-X", "-q", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-f", "-"], {
      input: bundle,
      encoding: "utf8",
      // psql's errors belong in the thrown error, not on the test run's stderr.
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...this.pg.conn().env },
    });
  }

  superuser(): Promise<pg.Client> {
    return this.pg.client();
  }

  /** PostgREST's own login: requests then SET LOCAL ROLE to the JWT's role. */
  authenticator(): Promise<pg.Client> {
    return this.pg.client("authenticator", "authenticator-pw");
  }
}

export type Claims = Record<string, unknown>;

/**
 * One request the way PostgREST makes it: a transaction as the JWT's role with
 * its claims, always rolled back so the data stays as seeded.
 */
export async function asRequest<T>(client: pg.Client, role: string, claims: Claims | null, work: (c: pg.Client) => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    await client.query(`set local role ${role}`);
    await client.query("select set_config('request.jwt.claims', $1, true)", [claims === null ? "" : JSON.stringify(claims)]);
    return await work(client);
  } finally {
    await client.query("rollback");
  }
}

import { execFile, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantConfig } from "../../src/config/schema";
import { renderBackupEnv } from "../../src/backup/settings";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { PACKS, projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import { TestPostgres } from "../helpers/postgres";
import { seed } from "../helpers/rlsData";
import { ROOT } from "../helpers/stacks";
import { seedPayload } from "../../src/backup/seed";
import { fillTemplate } from "../../src/render/templates";
import { STAND_IN_SQL } from "../helpers/supabaseDb";
import { VAULT_STAND_IN_SQL, useVaultKey } from "../helpers/vault";
import { useFastKey } from "../helpers/resticFastKey";

/**
 * A worker dies; its project comes back on a fresh one. The source is a
 * Supabase-shaped database with both schema packs, their rows, roles with
 * passwords, grants and column grants, RLS policies, database-level settings,
 * large objects, sequences, extensions, a Vault secret, storage files and edge
 * functions. It is backed up with backup.sh, then restored with one command,
 * `restore.sh --whole`, into a new, empty cluster that has none of its roles
 * (only the bootstrap superuser, as Supabase's image starts), and compared.
 */
const SCRIPTS = join(ROOT, "templates/worker");
const FAKES = join(__dirname, "fakes");

const work = mkdtempSync(join(tmpdir(), "supafleet-roundtrip-"));
const source = new TestPostgres();
const target = new TestPostgres("supabase_admin");
/** A staging worker's fresh project, seeded from the source's backup through its read-only credential. */
const copyTarget = new TestPostgres("supabase_admin");
const readOnlyRepo = join(work, "repo-read-only");
const READER_KEY = "the reader's own restic key";
const repo = join(work, "repo");
const RESTIC_PASSWORD = "round trip restic password";
const NEW_PASSWORD = "NewGeneratedProjectPassword42";

const tenant = (slug: string, isolation: TenantConfig["isolation"]): TenantConfig =>
  ({ slug, name: slug, contact: { name: "x", email: "x@example.org" }, plan: "starter", isolation, projects: [] }) as unknown as TenantConfig;

/** Where each server keeps the project's files: storage objects, edge functions, and its config (the Vault key). */
const dirs = (side: "source" | "target", pgHome: string) => ({ storage: join(work, side, "storage"), functions: join(work, side, "functions"), config: join(pgHome, "db-config") });

function settings(side: "source" | "target", extra: Record<string, string> = {}): string {
  const d = dirs(side, side === "source" ? source.home : target.home);
  const s = dirs("source", source.home);
  const file = join(work, `${side}.env`);
  const base = renderBackupEnv({ name: "ops", repository: repo, resticPassword: RESTIC_PASSWORD, dbContainer: "ops-db", paths: [d.storage, d.functions, d.config], retention: { daily: 7, weekly: 4, monthly: 6 }, vaultKeyPath: d.config });
  const more = { PROJECT_ENV: join(work, `${side}-project.env`), ...(side === "target" ? { SOURCE_PATHS: [s.storage, s.functions, s.config].join(" ") } : {}), ...extra };
  writeFileSync(file, base + Object.entries(more).map(([k, v]) => `${k}='${v}'\n`).join(""), { mode: 0o600 });
  return file;
}

function script(name: string, args: string[], pgServer: TestPostgres): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", [join(SCRIPTS, name), ...args], {
      encoding: "utf8",
      timeout: 180_000,
      env: { ...process.env, PATH: `${FAKES}:${process.env.PATH}`, ...pgServer.socketEnv("supabase_admin"), FAKE_DOCKER_LOG: join(work, "docker.log"), FAKE_DOCKER_STATE: work, SUPAFLEET_LOCK_DIR: work, SUPAFLEET_SPOOL: join(work, "spool"), SUPAFLEET_CACHE_DIR: join(work, "cache"), TZ: "UTC" },
    }, (err, stdout, stderr) => resolve({ status: err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1, stdout, stderr }));
  });
}

const q = async (server: TestPostgres, sql: string, user = server.superuser, password = server.superuserPassword): Promise<Record<string, unknown>[]> => {
  const c = new pg.Client(server.conn(user, password));
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
};

/** Everything a user would check after a restore, in a form two servers can be compared by. */
async function fingerprint(server: TestPostgres): Promise<Record<string, unknown>> {
  // One text column per row, sorted by the query itself.
  const run = (sql: string): string => server.psql(`\\pset format unaligned\n\\pset tuples_only on\n${sql}`).trim();
  const tables = run(`select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' and n.nspname in ('public', 'auth', 'vault', 'supafleet') order by 1`).split("\n");
  const perTable: Record<string, string> = {};
  for (const t of tables) perTable[t] = run(`select count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '') from ${t} x`);
  const user = "('public', 'auth', 'vault', 'supafleet')";
  return {
    tables: perTable,
    roles: run(`select format('%s s=%s i=%s cr=%s db=%s l=%s r=%s b=%s c=%s', rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit) from pg_roles where rolname !~ '^pg_' order by 1`),
    memberships: run(`select r.rolname || ' in ' || m.rolname from pg_auth_members a join pg_roles r on r.oid = a.member join pg_roles m on m.oid = a.roleid where m.rolname !~ '^pg_' order by 1`),
    // A null ACL is the owner's default one; pg_dump writes neither, so compare them as what they mean.
    grants: run(`select format('%s.%s %s', n.nspname, c.relname, coalesce(c.relacl, acldefault('r', c.relowner))) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ${user} order by 1`),
    columnGrants: run(`select format('%s.%s %s', c.relname, a.attname, a.attacl) from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname in ${user} and a.attacl is not null order by 1`),
    schemaGrants: run(`select format('%s %s', nspname, coalesce(nspacl, acldefault('n', nspowner))) from pg_namespace where nspname in ${user} order by 1`),
    routineGrants: run(`select format('%s.%s %s', n.nspname, p.proname, coalesce(p.proacl, acldefault('f', p.proowner))) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ${user} order by 1`),
    policies: run(`select format('%s.%s %s %s %s %s %s', schemaname, tablename, policyname, permissive, roles, cmd, coalesce(qual, '') || '|' || coalesce(with_check, '')) from pg_policies order by 1`),
    rls: run(`select format('%s %s %s', oid::regclass, relrowsecurity, relforcerowsecurity) from pg_class where relrowsecurity order by 1`),
    settings: run(`select format('%s %s %s', coalesce(r.rolname, '*'), d.datname, s.setconfig) from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase order by 1`),
    sequences: run(`select format('%s.%s %s', schemaname, sequencename, last_value) from pg_sequences order by 1`),
    largeObjects: run(`select format('%s %s', oid, md5(lo_get(oid))) from pg_largeobject_metadata order by 1`),
    extensions: run(`select extname from pg_extension order by 1`),
  };
}

const sha = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");
function filesUnder(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) Object.assign(out, filesUnder(p, base));
    else out[p.slice(base.length)] = sha(p);
  }
  return out;
}

let before: Record<string, unknown>;

beforeAll(async () => {
  await source.start();
  await target.start();
  // The source: what Supabase's image and the project's migrations make, and what a tenant adds.
  source.psql(`create role supabase_admin login superuser password 'admin-pw';\n${STAND_IN_SQL}\n${VAULT_STAND_IN_SQL}`);
  useVaultKey(source, dirs("source", source.home).config, "the source server's own vault root key");
  const tenants = [tenant("techhilfe", "shared"), tenant("baeckerei-koch", "pooled")];
  const bundle = renderMigrationBundle(projectMigrations(["msp-ops", "tenant-registry"], tenants));
  const applied = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"], { input: bundle, encoding: "utf8", env: { ...process.env, ...source.socketEnv("postgres") } });
  expect(applied.status, applied.stderr).toBe(0);
  const c = await source.client();
  await seed(c, [PACKS["msp-ops"], PACKS["tenant-registry"]], tenants.map((t) => tenantUuid(t.slug)), 4);
  await c.end();
  source.psql(`
    set role supabase_admin;
    create extension if not exists "uuid-ossp";
    reset role;
    create role reporting login password 'reporting-pw';
    create role analysts nologin;
    grant analysts to reporting;
    grant usage on schema public to analysts;
    grant select (id, nombre) on public.clientes to analysts;
    create table public.facturas (id bigserial primary key, cliente text, total numeric, created_at timestamptz not null default now());
    alter table public.facturas enable row level security;
    create policy facturas_own on public.facturas for select to authenticated using (cliente = auth.uid()::text);
    insert into public.facturas (cliente, total) select 'c' || g, g * 1.5 from generate_series(1, 250) g;
    create sequence public.numero_factura start 1000;
    select nextval('public.numero_factura') from generate_series(1, 17);
    select lo_from_bytea(424242, convert_to(repeat('a large object ', 2000), 'UTF8'));
    alter database postgres set app.settings.jwt_exp = '3600';
    alter role authenticated in database postgres set statement_timeout = '9s';
    select vault.create_secret('sk_live_the_tenants_stripe_key', 'stripe');
  `);
  for (const side of ["source"] as const) {
    const d = dirs(side, source.home);
    mkdirSync(join(d.storage, "stub/avatars"), { recursive: true });
    writeFileSync(join(d.storage, "stub/avatars/a.png"), randomBytes(150_000));
    mkdirSync(join(d.functions, "hello"), { recursive: true });
    writeFileSync(join(d.functions, "hello/index.ts"), 'Deno.serve(() => new Response("hi"));\n');
  }
  writeFileSync(join(work, "target-project.env"), `# supafleet: generated\nPOSTGRES_PASSWORD="${NEW_PASSWORD}"\nJWT_SECRET="x"\n`, { mode: 0o600 });
  before = await fingerprint(source);

  spawnSync("restic", ["init", "-r", repo], { env: { ...process.env, RESTIC_PASSWORD } });
  useFastKey(repo, RESTIC_PASSWORD);
  writeFileSync(join(work, "reader-key"), READER_KEY);
  const b = await script("backup.sh", [settings("source"), "run"], source);
  expect(b.stderr).toContain("backup(ops): done");
  expect(b.status).toBe(0);

  // The fresh worker: its database knows none of the source's roles, and has a Vault key of its own.
  useVaultKey(target, dirs("target", target.home).config, "a new key the fresh image made at first boot");
}, 240_000);

afterAll(() => {
  source.stop();
  target.stop();
  copyTarget.stop();
  spawnSync("umount", [readOnlyRepo]);
  rmSync(work, { recursive: true, force: true });
});

describe("restore.sh --whole onto a fresh worker", () => {
  let restored: { status: number; stdout: string; stderr: string };

  it("restores and verifies everything with one command", async () => {
    expect((await q(target, "select count(*)::int as n from pg_roles where rolname in ('anon', 'authenticated', 'reporting', 'postgres')"))[0]!.n).toBe(0);
    restored = await script("restore.sh", [settings("target"), "--whole"], target);
    expect(restored.stderr).toMatch(/roles and settings applied \(\d+ created\)/);
    expect(restored.stderr).toContain("service roles' passwords set from the project's secrets");
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^restored ops from snapshot \w+ \(taken [^)]+\): \d+ tables match the recorded figures; 2 Vault secrets decrypt; 3 files; RTO \d+s$/m);
  });

  it("holds the same tables, roles, memberships, grants, policies, settings, sequences, large objects and extensions", async () => {
    const after = await fingerprint(target);
    for (const key of Object.keys(before)) expect(after[key], key).toEqual(before[key]);
    expect(Object.keys(before.tables as object).length).toBeGreaterThan(15);
  });

  it("decrypts the Vault secret with the key it was written with, and every API credential with the key Vault holds", async () => {
    expect(target.psql("\\pset tuples_only on\nselect decrypted_secret from vault.decrypted_secrets where name = 'stripe';").trim()).toBe("sk_live_the_tenants_stripe_key");
    const secrets = "\\pset tuples_only on\n\\pset format unaligned\nselect supafleet.api_credential_secret(id) from public.api_credentials order by id;";
    const before = source.psql(secrets).trim();
    expect(before.split("\n").length).toBeGreaterThan(3);
    expect(target.psql(secrets).trim()).toBe(before);
  });

  it("gives the service roles the project's generated password, and a tenant's own role its own", async () => {
    expect(await q(target, "select current_user as u", "authenticator", NEW_PASSWORD)).toEqual([{ u: "authenticator" }]);
    await expect(q(target, "select 1", "authenticator", "authenticator-pw")).rejects.toThrow(/password authentication failed/);
    expect(await q(target, "select current_user as u", "reporting", "reporting-pw")).toEqual([{ u: "reporting" }]);
    // Its column grant came back with it: two columns of clientes, not the table.
    expect(await q(target, "select id, nombre from public.clientes limit 1", "reporting", "reporting-pw")).toBeDefined();
    await expect(q(target, "select * from public.clientes limit 1", "reporting", "reporting-pw")).rejects.toThrow(/permission denied/);
  });

  it("puts back the storage files and edge functions byte for byte, and the Vault key", () => {
    const s = dirs("source", source.home);
    const t = dirs("target", target.home);
    expect(filesUnder(t.storage)).toEqual(filesUnder(s.storage));
    expect(filesUnder(t.functions)).toEqual(filesUnder(s.functions));
    expect(readFileSync(join(t.config, "pgsodium_root.key"), "utf8")).toBe("the source server's own vault root key");
  });
});

describe("seeding a staging project from prod's backup (restoreFrom across stacks)", () => {
  const t = { storage: join(work, "copy", "storage"), functions: join(work, "copy", "functions") };
  let seeded: { status: number; stdout: string; stderr: string };
  let repoFilesBefore: string[];

  beforeAll(async () => {
    await copyTarget.start();
    useVaultKey(copyTarget, join(copyTarget.home, "db-config"), "staging's own vault key");
    // The reader's restic key, as backup-enable adds it; and the repository, mounted read-only, as the read-only sub-account sees it.
    spawnSync("restic", ["-r", repo, "key", "add", "--new-password-file", join(work, "reader-key")], { env: { ...process.env, RESTIC_PASSWORD }, input: "" });
    useFastKey(repo, READER_KEY);
    mkdirSync(readOnlyRepo, { recursive: true });
    expect(spawnSync("mount", ["--bind", repo, readOnlyRepo]).status).toBe(0);
    expect(spawnSync("mount", ["-o", "remount,bind,ro", readOnlyRepo]).status).toBe(0);
    repoFilesBefore = filesList(repo);
    writeFileSync(join(work, "copy-project.env"), `POSTGRES_PASSWORD="StagingsOwnPassword7"\n`, { mode: 0o600 });
    const s = dirs("source", source.home);
    const payload = seedPayload({
      project: "ops-copy",
      dbContainer: "ops-copy-db",
      paths: [t.storage, t.functions, join(copyTarget.home, "db-config")],
      sourcePaths: [s.storage, s.functions, s.config],
      vaultKeyPath: join(copyTarget.home, "db-config"),
      reader: { job: "ops", repository: readOnlyRepo, resticPassword: READER_KEY, sftpPassword: "" },
      snapshot: "latest",
      anonymise: ["msp-ops", "tenant-registry"],
    });
    seeded = await new Promise((resolve) => {
      const child = execFile("bash", ["-c", fillTemplate("worker/project-seed.sh", { project: "ops-copy" })], {
        encoding: "utf8",
        timeout: 180_000,
        env: { ...process.env, PATH: `${FAKES}:${process.env.PATH}`, ...copyTarget.socketEnv("supabase_admin"), SUPAFLEET_TOOLS: SCRIPTS, PROJECT_ENV: join(work, "copy-project.env"), FAKE_DOCKER_LOG: join(work, "docker.log"), FAKE_DOCKER_STATE: work, SUPAFLEET_SPOOL: join(work, "spool"), SUPAFLEET_CACHE_DIR: join(work, "cache2"), TZ: "UTC" },
      }, (err, stdout, stderr) => resolve({ status: err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1, stdout, stderr }));
      child.stdin!.end(payload);
    });
  }, 240_000);

  it("restores through the read-only credential, verifies, then anonymises", () => {
    expect(seeded.stderr).toContain("anonymised with anonymise.sql");
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/restored ops-copy from snapshot \w+ \(taken [^)]+\): \d+ tables match the recorded figures; Vault secrets removed \(their key stays with the source\); \d+ files; RTO \d+s/);
    expect(seeded.stdout).toContain("project-seed(ops-copy): seeded");
  });

  it("wrote nothing to the source's repository (it is read-only to the reader) and left the source as it was", async () => {
    expect(filesList(repo)).toEqual(repoFilesBefore);
    expect(await fingerprint(source)).toEqual(before);
  });

  it("keeps every row and relation but no name, email or phone of prod, and no way to log in with a prod password", async () => {
    const rows = (server: TestPostgres, sql: string): string[] => server.psql(`\\pset tuples_only on\n\\pset format unaligned\n${sql}`).trim().split("\n").filter(Boolean);
    const count = (server: TestPostgres, table: string): string => rows(server, `select count(*) from ${table};`)[0]!;
    for (const table of ["public.clientes", "public.sitios", "public.tickets", "public.dispositivos", "auth.users"]) expect(count(copyTarget, table), table).toBe(count(source, table));
    const prodValues = rows(source, "select v from (select nombre as v from public.clientes union all select email from public.clientes union all select telefono from public.clientes union all select email from auth.users union all select titulo from public.tickets) x where v is not null;");
    expect(prodValues.length).toBeGreaterThan(20);
    const copyText = rows(copyTarget, "select row_to_json(c)::text from public.clientes c union all select row_to_json(u)::text from auth.users u union all select row_to_json(t)::text from public.tickets t;").join("\n");
    const leaked = prodValues.filter((v) => copyText.includes(v));
    expect(leaked).toEqual([]);
    expect(rows(copyTarget, "select count(*) from auth.users where email not like '%@example.invalid';")).toEqual(["0"]);
    // No credential of prod's integrations, and the key that encrypted them is a new one.
    expect(rows(source, "select count(*) from public.api_credentials;")[0]).not.toBe("0");
    expect(rows(copyTarget, "select count(*) from public.api_credentials;")).toEqual(["0"]);
    const credentialsKey = "select decrypted_secret from vault.decrypted_secrets where name = 'supafleet_api_credentials';";
    expect(rows(copyTarget, credentialsKey)).toHaveLength(1);
    expect(rows(copyTarget, credentialsKey)).not.toEqual(rows(source, credentialsKey));
    // Tickets still point at their clients.
    expect(rows(copyTarget, "select count(*) from public.tickets t left join public.clientes c on c.id = t.cliente_id where c.id is null;")).toEqual(["0"]);
  });

  it("holds no Vault secret of prod and keeps staging's own Vault key", () => {
    // Only the credentials key the anonymisation made anew, under staging's root key.
    expect(copyTarget.psql("\\pset tuples_only on\nselect string_agg(name, ',') from vault.decrypted_secrets where decrypted_secret is not null;").trim()).toBe("supafleet_api_credentials");
    expect(copyTarget.psql("\\pset tuples_only on\nselect count(*) from vault.secrets;").trim()).toBe("1");
    expect(readFileSync(join(copyTarget.home, "db-config", "pgsodium_root.key"), "utf8")).toBe("staging's own vault key");
  });
});

function filesList(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

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
import { volumeName } from "../../src/supabase/naming";
import { seed } from "../helpers/rlsData";
import { ROOT } from "../helpers/stacks";
import { seedPayload } from "../../src/backup/seed";
import { renderScript } from "../../src/render/script";
import { initRepository, useFastKey } from "../helpers/resticFastKey";
import { composeDb, composeDown, type LabDb, volumePath } from "../helpers/labDb";
import { docker, dockerEnv, requireEngine } from "../lab/engine";
import { LabProject } from "../lab/project";

/**
 * A worker dies; its project comes back on a fresh one. The source is a
 * project's real database container on the lab's Docker engine (the
 * supabase/postgres image with the project's init scripts, under compose), with
 * both schema packs, their rows, roles with passwords, grants and column
 * grants, RLS policies, database-level settings, large objects, sequences,
 * extensions, a Vault secret, storage files and edge functions. It is backed up
 * with backup.sh, then restored with one command, `restore.sh --whole`, into
 * another project's freshly initialised database container, which has only
 * what the image and the project's init scripts made (none of the tenant's
 * roles, tables or data), and compared. `docker exec` and
 * `docker compose -p <project> stop|start` are the real engine's.
 *
 * One engine cannot hold two projects of one name, so the source runs as
 * bk-rt-src (its container bk-rt-src-db); its backup job is bk-rt-ops, the
 * project the fresh worker brings back (bk-rt-ops, container bk-rt-ops-db).
 */
const SCRIPTS = join(ROOT, "templates/worker");
const JOB = "bk-rt-ops";

const work = mkdtempSync(join(tmpdir(), "supafleet-roundtrip-"));
const sourceProject = new LabProject("bk-rt-src", 33);
const targetProject = new LabProject(JOB, 34);
/** A staging worker's fresh project, seeded from the source's backup through its read-only credential. */
const copyProject = new LabProject("bk-rt-copy", 35);
let source: LabDb;
let target: LabDb;
let copyTarget: LabDb;
const readOnlyRepo = join(work, "repo-read-only");
const READER_KEY = "the reader's own restic key";
const repo = join(work, "repo");
const RESTIC_PASSWORD = "round trip restic password";

const tenant = (slug: string, isolation: TenantConfig["isolation"]): TenantConfig =>
  ({ slug, name: slug, contact: { name: "x", email: "x@example.org" }, plan: "starter", isolation, projects: [] }) as unknown as TenantConfig;

/**
 * Where each project keeps its files: storage objects and edge functions (folders here),
 * and its db-config volume (/etc/postgresql-custom in the container: the Vault key), as the
 * program's backup paths name it on a worker.
 */
const dirs = (p: LabProject) => ({ storage: join(work, p.name, "storage"), functions: join(work, p.name, "functions"), config: volumePath(volumeName(p.name, "db-config")) });

function settings(side: "source" | "target", extra: Record<string, string> = {}): string {
  const d = dirs(side === "source" ? sourceProject : targetProject);
  const s = dirs(sourceProject);
  const file = join(work, `${side}.env`);
  const base = renderBackupEnv({
    name: JOB,
    repository: repo,
    resticPassword: RESTIC_PASSWORD,
    dbContainer: (side === "source" ? sourceProject : targetProject).container("db"),
    paths: [d.storage, d.functions, d.config],
    retention: { daily: 7, weekly: 4, monthly: 6 },
    vaultKeyPath: d.config,
  });
  const more = { ...(side === "target" ? { PROJECT_ENV: targetProject.dir("secrets", ".env"), SOURCE_PATHS: [s.storage, s.functions, s.config].join(" ") } : {}), ...extra };
  writeFileSync(file, base + Object.entries(more).map(([k, v]) => `${k}='${v}'\n`).join(""), { mode: 0o600 });
  return file;
}

const scriptEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  dockerEnv({ ...process.env, SUPAFLEET_LOCK_DIR: work, SUPAFLEET_SPOOL: join(work, "spool"), SUPAFLEET_CACHE_DIR: join(work, "cache"), TZ: "UTC", ...extra });

function run(file: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile("bash", [file, ...args], { encoding: "utf8", timeout: 180_000, maxBuffer: 1 << 24, env }, (err, stdout, stderr) =>
      resolve({ status: err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1, stdout, stderr }),
    );
    child.stdin!.on("error", () => {});
    child.stdin!.end(stdin ?? "");
  });
}
const script = (name: string, args: string[]): ReturnType<typeof run> => run(join(SCRIPTS, name), args, scriptEnv());

/** A query over the container's published port, as an operator (or PostgREST, as authenticator) connects. */
const q = async (server: LabDb, sql: string, user = "supabase_admin", password = server.password): Promise<Record<string, unknown>[]> => {
  const c = new pg.Client(server.conn(user, password));
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
};

/** When the container last started: a whole restore stops the project and starts it again. */
const startedAt = (db: LabDb): string => docker(["inspect", "-f", "{{.State.StartedAt}}", db.name]).stdout.trim();

/** Several queries in one psql in the container (each docker exec costs), their rows as unaligned text by name. */
function queries(server: LabDb, named: Record<string, string>): Record<string, string> {
  const sql = ["\\pset format unaligned", "\\pset tuples_only on", ...Object.entries(named).flatMap(([k, q]) => [`\\echo '@@${k}'`, `${q};`])].join("\n");
  const out: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of server.psql(sql).split("\n")) {
    if (line.startsWith("@@")) out[line.slice(2)] = current = [];
    else current?.push(line);
  }
  return Object.fromEntries(Object.keys(named).map((k) => [k, (out[k] ?? []).join("\n").trim()]));
}

/** Everything a user would check after a restore, in a form two servers can be compared by. */
async function fingerprint(server: LabDb): Promise<Record<string, unknown>> {
  const { tables } = queries(server, {
    tables: `select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' and n.nspname in ('public', 'auth', 'vault', 'supafleet') order by 1`,
  });
  const perTable = queries(server, Object.fromEntries(tables!.split("\n").map((t) => [t, `select count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '') from ${t} x`])));
  const user = "('public', 'auth', 'vault', 'supafleet')";
  return {
    tables: perTable,
    ...queries(server, {
      roles: `select format('%s s=%s i=%s cr=%s db=%s l=%s r=%s b=%s c=%s', rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit) from pg_roles where rolname !~ '^pg_' order by 1`,
      memberships: `select r.rolname || ' in ' || m.rolname from pg_auth_members a join pg_roles r on r.oid = a.member join pg_roles m on m.oid = a.roleid where m.rolname !~ '^pg_' order by 1`,
      // A null ACL is the owner's default one; pg_dump writes neither, so compare them as what they mean.
      grants: `select format('%s.%s %s', n.nspname, c.relname, coalesce(c.relacl, acldefault('r', c.relowner))) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ${user} order by 1`,
      columnGrants: `select format('%s.%s %s', c.relname, a.attname, a.attacl) from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname in ${user} and a.attacl is not null order by 1`,
      schemaGrants: `select format('%s %s', nspname, coalesce(nspacl, acldefault('n', nspowner))) from pg_namespace where nspname in ${user} order by 1`,
      routineGrants: `select format('%s.%s %s', n.nspname, p.proname, coalesce(p.proacl, acldefault('f', p.proowner))) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ${user} order by 1`,
      // What objects made later get: the image's defaults, and the project's own.
      defaultPrivileges: `select format('%s %s %s %s', defaclrole::regrole, defaclnamespace::regnamespace, defaclobjtype, defaclacl) from pg_default_acl order by 1`,
      policies: `select format('%s.%s %s %s %s %s %s', schemaname, tablename, policyname, permissive, roles, cmd, coalesce(qual, '') || '|' || coalesce(with_check, '')) from pg_policies order by 1`,
      rls: `select format('%s %s %s', oid::regclass, relrowsecurity, relforcerowsecurity) from pg_class where relrowsecurity order by 1`,
      settings: `select format('%s %s %s', coalesce(r.rolname, '*'), d.datname, s.setconfig) from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase order by 1`,
      sequences: `select format('%s.%s %s', schemaname, sequencename, last_value) from pg_sequences order by 1`,
      largeObjects: `select format('%s %s', oid, md5(lo_get(oid))) from pg_largeobject_metadata order by 1`,
      extensions: `select extname from pg_extension order by 1`,
    }),
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
  requireEngine();
  // The three projects' databases start side by side, each initialising an empty volume;
  // the source is filled and backed up while the other two are still starting.
  const up = async (p: LabProject): Promise<LabDb> => composeDb(await p.start());
  const starting = [up(sourceProject), up(targetProject), up(copyProject)];
  for (const s of starting) s.catch(() => {});
  source = await starting[0]!;
  // The source: what Supabase's image and the project's migrations make, and what a tenant adds.
  source.useVaultKey(dirs(sourceProject).config, "the source server's own vault root key");
  const tenants = [tenant("techhilfe", "shared"), tenant("baeckerei-koch", "pooled")];
  const bundle = renderMigrationBundle(projectMigrations(["msp-ops", "tenant-registry"], tenants));
  // As RlsPolicySet applies it: psql in the container, as supabase_admin, the bundle on stdin.
  const applied = docker(["exec", "-i", source.name, "psql", "-X", "-q", "-U", "supabase_admin", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-f", "-"], { input: bundle, allowFail: true });
  expect(applied.status, applied.stderr).toBe(0);
  const c = await source.client();
  await seed(c, [PACKS["msp-ops"], PACKS["tenant-registry"]], tenants.map((t) => tenantUuid(t.slug)), 4);
  await c.end();
  source.psql(`
    create extension if not exists "uuid-ossp";
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
  const d = dirs(sourceProject);
  mkdirSync(join(d.storage, "stub/avatars"), { recursive: true });
  writeFileSync(join(d.storage, "stub/avatars/a.png"), randomBytes(150_000));
  mkdirSync(join(d.functions, "hello"), { recursive: true });
  writeFileSync(join(d.functions, "hello/index.ts"), 'Deno.serve(() => new Response("hi"));\n');
  before = await fingerprint(source);

  initRepository(repo, RESTIC_PASSWORD);
  writeFileSync(join(work, "reader-key"), READER_KEY);
  const b = await script("backup.sh", [settings("source"), "run"]);
  expect(b.stderr).toContain(`backup(${JOB}): done`);
  expect(b.status).toBe(0);

  [target, copyTarget] = await Promise.all([starting[1]!, starting[2]!]);
  // The fresh worker's database has a Vault key of its own, made at first boot.
  target.useVaultKey(dirs(targetProject).config, "a new key the fresh image made at first boot");
}, 300_000);

afterAll(() => {
  for (const p of [sourceProject, targetProject, copyProject]) {
    composeDown(p);
    p.stop();
  }
  spawnSync("umount", [readOnlyRepo]);
  rmSync(work, { recursive: true, force: true });
});

describe("restore.sh --whole onto a fresh worker", () => {
  let restored: { status: number; stdout: string; stderr: string };

  it("restores and verifies everything with one command", async () => {
    // The image made its service roles; the tenant's own roles and data are not there.
    expect((await q(target, "select count(*)::int as n from pg_roles where rolname in ('anon', 'authenticated', 'postgres')"))[0]!.n).toBe(3);
    expect((await q(target, "select count(*)::int as n from pg_roles where rolname in ('reporting', 'analysts')"))[0]!.n).toBe(0);
    expect((await q(target, "select to_regclass('public.clientes') as t"))[0]!.t).toBeNull();
    const started = startedAt(target);
    restored = await script("restore.sh", [settings("target"), "--whole"]);
    expect(restored.stderr).toMatch(/roles and settings applied \(\d+ created\)/);
    expect(restored.stderr).toContain("service roles' passwords set from the project's secrets");
    expect(restored.status, restored.stderr).toBe(0);
    // Four files: the storage object, the edge function, and the db-config volume's Vault key and its setting.
    expect(restored.stdout).toMatch(new RegExp(`^restored ${JOB} from snapshot \\w+ \\(taken [^)]+\\): \\d+ tables match the recorded figures; 2 Vault secrets decrypt; 4 files; RTO \\d+s$`, "m"));
    // The project was stopped and its database started again (it reads the Vault key when it starts), and it runs.
    expect(startedAt(target)).not.toBe(started);
    expect(docker(["inspect", "-f", "{{.State.Running}}", target.name]).stdout.trim()).toBe("true");
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
    expect(await q(target, "select current_user as u", "authenticator", targetProject.postgresPassword)).toEqual([{ u: "authenticator" }]);
    // The backed-up hash was the source project's password; the restore replaced it.
    await expect(q(target, "select 1", "authenticator", sourceProject.postgresPassword)).rejects.toThrow(/password authentication failed/);
    expect(await q(target, "select current_user as u", "reporting", "reporting-pw")).toEqual([{ u: "reporting" }]);
    // Its column grant came back with it: two columns of clientes, not the table.
    expect(await q(target, "select id, nombre from public.clientes limit 1", "reporting", "reporting-pw")).toBeDefined();
    await expect(q(target, "select * from public.clientes limit 1", "reporting", "reporting-pw")).rejects.toThrow(/permission denied/);
  });

  it("puts back the storage files and edge functions byte for byte, and the Vault key", () => {
    const s = dirs(sourceProject);
    const t = dirs(targetProject);
    expect(filesUnder(t.storage)).toEqual(filesUnder(s.storage));
    expect(filesUnder(t.functions)).toEqual(filesUnder(s.functions));
    expect(readFileSync(join(t.config, "pgsodium_root.key"), "utf8")).toBe("the source server's own vault root key");
  });
});

describe("seeding a staging project from prod's backup (restoreFrom across stacks)", () => {
  const t = { storage: join(work, "copy", "storage"), functions: join(work, "copy", "functions") };
  let copyConfig: string;
  let seeded: { status: number; stdout: string; stderr: string };
  let repoFilesBefore: string[];

  beforeAll(async () => {
    copyConfig = dirs(copyProject).config;
    copyTarget.useVaultKey(copyConfig, "staging's own vault key");
    // The reader's restic key, as backup-enable adds it; and the repository, mounted read-only, as the read-only sub-account sees it.
    spawnSync("restic", ["-r", repo, "key", "add", "--new-password-file", join(work, "reader-key")], { env: { ...process.env, RESTIC_PASSWORD }, input: "" });
    useFastKey(repo, READER_KEY);
    mkdirSync(readOnlyRepo, { recursive: true });
    expect(spawnSync("mount", ["--bind", repo, readOnlyRepo]).status).toBe(0);
    expect(spawnSync("mount", ["-o", "remount,bind,ro", readOnlyRepo]).status).toBe(0);
    repoFilesBefore = filesList(repo);
    const s = dirs(sourceProject);
    const payload = seedPayload({
      project: copyProject.name,
      dbContainer: copyProject.container("db"),
      paths: [t.storage, t.functions, copyConfig],
      sourcePaths: [s.storage, s.functions, s.config],
      vaultKeyPath: copyConfig,
      reader: { job: JOB, repository: readOnlyRepo, resticPassword: READER_KEY, sftpPassword: "" },
      snapshot: "latest",
      anonymise: ["msp-ops", "tenant-registry"],
    });
    const seedScript = join(work, "project-seed.sh");
    writeFileSync(seedScript, renderScript("worker/project-seed.sh", { PROJECT: copyProject.name }));
    seeded = await run(seedScript, [], scriptEnv({ SUPAFLEET_TOOLS: SCRIPTS, PROJECT_ENV: copyProject.dir("secrets", ".env"), SUPAFLEET_CACHE_DIR: join(work, "cache2") }), payload);
  }, 240_000);

  it("restores through the read-only credential, verifies, then anonymises", () => {
    expect(seeded.stderr).toContain("anonymised with anonymise.sql");
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/restored bk-rt-copy from snapshot \w+ \(taken [^)]+\): \d+ tables match the recorded figures; Vault secrets removed \(their key stays with the source\); \d+ files; RTO \d+s/);
    expect(seeded.stdout).toContain("project-seed(bk-rt-copy): seeded");
  });

  it("wrote nothing to the source's repository (it is read-only to the reader) and left the source as it was", async () => {
    expect(filesList(repo)).toEqual(repoFilesBefore);
    expect(await fingerprint(source)).toEqual(before);
  });

  it("keeps every row and relation but no name, email or phone of prod, and no way to log in with a prod password", async () => {
    const tables = ["public.clientes", "public.sitios", "public.tickets", "public.dispositivos", "auth.users"];
    const credentialsKey = "select decrypted_secret from vault.decrypted_secrets where name = 'supafleet_api_credentials'";
    // Each side's answers from one psql each.
    const ask = (server: LabDb, more: Record<string, string>): Record<string, string> =>
      queries(server, { ...Object.fromEntries(tables.map((t) => [t, `select count(*) from ${t}`])), credentials: "select count(*) from public.api_credentials", credentialsKey, ...more });
    const prod = ask(source, {
      values: "select v from (select nombre as v from public.clientes union all select email from public.clientes union all select telefono from public.clientes union all select email from auth.users union all select titulo from public.tickets) x where v is not null",
    });
    const copy = ask(copyTarget, {
      text: "select row_to_json(c)::text from public.clientes c union all select row_to_json(u)::text from auth.users u union all select row_to_json(t)::text from public.tickets t",
      realEmails: "select count(*) from auth.users where email not like '%@example.invalid'",
      orphans: "select count(*) from public.tickets t left join public.clientes c on c.id = t.cliente_id where c.id is null",
    });
    for (const table of tables) expect(copy[table], table).toBe(prod[table]);
    const prodValues = prod.values!.split("\n").filter(Boolean);
    expect(prodValues.length).toBeGreaterThan(20);
    const leaked = prodValues.filter((v) => copy.text!.includes(v));
    expect(leaked).toEqual([]);
    expect(copy.realEmails).toBe("0");
    // No credential of prod's integrations, and the key that encrypted them is a new one.
    expect(prod.credentials).not.toBe("0");
    expect(copy.credentials).toBe("0");
    expect(copy.credentialsKey!.split("\n")).toHaveLength(1);
    expect(copy.credentialsKey).not.toBe("");
    expect(copy.credentialsKey).not.toEqual(prod.credentialsKey);
    // Tickets still point at their clients.
    expect(copy.orphans).toBe("0");
  });

  it("holds no Vault secret of prod and keeps staging's own Vault key", () => {
    // Only the credentials key the anonymisation made anew, under staging's root key.
    expect(copyTarget.psql("\\pset tuples_only on\nselect string_agg(name, ',') from vault.decrypted_secrets where decrypted_secret is not null;").trim()).toBe("supafleet_api_credentials");
    expect(copyTarget.psql("\\pset tuples_only on\nselect count(*) from vault.secrets;").trim()).toBe("1");
    expect(readFileSync(join(copyConfig, "pgsodium_root.key"), "utf8")).toBe("staging's own vault key");
  });
});

function filesList(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

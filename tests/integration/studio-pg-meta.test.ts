import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import CryptoJS from "crypto-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { API_ONLY_SERVICES } from "../../src/model/projectServices";
import { projectBackupPaths, vaultKeyPath } from "../../src/plan/backups";
import { checkAbsent } from "../../src/probe/checks/absent";
import { networkName } from "../../src/supabase/naming";
import { initRepository } from "../helpers/resticFastKey";
import { ROOT } from "../helpers/stacks";
import { docker, requireEngine } from "../lab/engine";
import { LabProject, release, type ScriptRun } from "../lab/project";

/**
 * Studio on the master (issue 25) reaches a project's pg-meta only through the project's gateway route
 * `/pg/` (key-auth, acl admin), over WireGuard. One project deployed by the real config, assets and
 * deploy scripts on the lab's engine (the real postgres-meta and PostgreSQL, the gateway stand-in
 * enforcing the rendered kong.yml); this process stands where the master would, outside the project's
 * network, and calls the gateway exactly as upstream Studio's server side does:
 * - apps/studio/lib/api/self-hosted/constants.ts: POSTGRES_HOST (default `db`), POSTGRES_PORT, POSTGRES_DB,
 *   POSTGRES_USER_READ_WRITE (supafleet sets `postgres`), PG_META_CRYPTO_KEY;
 * - util.ts: the connection string `postgresql://user:pass@host:port/db`, `crypto.AES.encrypt(s, key).toString()`;
 * - query.ts: `POST ${pgMetaUrl}/query` with `{ query }` and header `x-connection-encrypted`;
 * - apiHelpers.ts constructHeaders(): in self-hosted mode, adds header `apiKey: SUPABASE_SERVICE_KEY`.
 */
/** API-only (no Realtime, Storage, imgproxy or functions): what pg-meta needs, and the shape the second part checks. */
const p = new LabProject("spm", 40, 1, { services: API_ONLY_SERVICES, studio: "master" });
/** The project's PG_META_CRYPTO_KEY, which the master's Studio for it holds too. */
const CRYPTO_KEY = randomBytes(16).toString("hex");
let deployed: ScriptRun;
const work = mkdtempSync(join(tmpdir(), "supafleet-api-only-"));

/** Studio's connection string for the project, as its env on the master builds it: host `db`, as upstream. */
const connectionString = (password = p.postgresPassword): string => `postgresql://postgres:${encodeURIComponent(password)}@db:5432/postgres`;
const encrypt = (s: string, key = CRYPTO_KEY): string => CryptoJS.AES.encrypt(s, key).toString();
/** STUDIO_PG_META_URL on the master: the project's gateway on the worker's WireGuard address, route /pg. */
const pgMetaUrl = (): string => `http://${p.gateway}/pg`;

/** constructHeaders() of Studio's server side, self-hosted: only these headers, and the service key as `apiKey` (null: none). */
function studioHeaders(apiKey: string | null = p.serviceRoleKey, encrypted = encrypt(connectionString())): Record<string, string> {
  return { "Content-Type": "application/json", "x-connection-encrypted": encrypted, ...(apiKey === null ? {} : { apiKey }) };
}

/** executeQuery() of Studio's self-hosted query.ts. */
async function studioQuery(query: string, headers = studioHeaders()): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${pgMetaUrl()}/query`, { method: "POST", headers, body: JSON.stringify({ query }) });
  return { status: r.status, body: (await r.json()) as unknown };
}

/** A raw request with the header names cased exactly as given (fetch sends them lower-cased). */
function rawPost(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: p.address, port: p.ports.gateway, path, method: "POST", headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Whether a TCP connection to host:port opens, and the error if not. */
function tcp(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.once("connect", () => {
      s.destroy();
      resolve("open");
    });
    s.once("timeout", () => {
      s.destroy();
      resolve("timeout");
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

beforeAll(async () => {
  requireEngine();
  await p.start();
  p.configure({ env: p.envText({ PG_META_CRYPTO_KEY: CRYPTO_KEY }) });
  deployed = await p.deployAsync(release("2026.02"), { SUPAFLEET_WAIT_TIMEOUT: "240" });
}, 300_000);

afterAll(() => {
  p.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("Studio on the master reaches pg-meta through the project's gateway, as upstream Studio calls it", () => {
  it("runs SQL in the project's database with the service key and the encrypted connection string, and lists the table", async () => {
    expect(deployed.status, deployed.stderr).toBe(0);
    const marker = `made through the gateway ${randomBytes(4).toString("hex")}`;

    const created = await studioQuery(`create table public.studio_notes (id bigint generated always as identity primary key, note text not null); insert into public.studio_notes (note) values ('${marker}');`);
    expect(created).toEqual({ status: 200, body: [] });
    expect(await studioQuery("select note from public.studio_notes")).toEqual({ status: 200, body: [{ note: marker }] });

    // The real database has it, read with pg on the project's own port (an operator's way in, not Studio's),
    // made by the connection string's user, not pg-meta's own (supabase_admin).
    const c = await p.client();
    try {
      expect((await c.query("select note from public.studio_notes")).rows).toEqual([{ note: marker }]);
      expect((await c.query("select tableowner from pg_tables where schemaname = 'public' and tablename = 'studio_notes'")).rows).toEqual([{ tableowner: "postgres" }]);
    } finally {
      await c.end();
    }

    // The Table Editor's list: GET /tables, with the headers Studio passes on (constructHeaders keeps x-connection-encrypted).
    const tables = await fetch(`${pgMetaUrl()}/tables?included_schemas=public`, { headers: studioHeaders() });
    expect(tables.status).toBe(200);
    const list = (await tables.json()) as { schema: string; name: string; columns?: { name: string }[] }[];
    const notes = list.find((t) => t.schema === "public" && t.name === "studio_notes");
    expect(notes, JSON.stringify(list.map((t) => `${t.schema}.${t.name}`))).toBeDefined();
    expect(notes!.columns?.map((col) => col.name).sort()).toEqual(["id", "note"]);
  });

  it("accepts Studio's `apiKey` header whatever its case, as Kong's key-auth does", async () => {
    const body = JSON.stringify({ query: "select 1 as one" });
    for (const name of ["apiKey", "apikey", "APIKEY"]) {
      const r = await rawPost("/pg/query", { "Content-Type": "application/json", "x-connection-encrypted": encrypt(connectionString()), [name]: p.serviceRoleKey }, body);
      expect(r, name).toEqual({ status: 200, body: JSON.stringify([{ one: 1 }]) });
    }
  });

  it("refuses without a key (401), with the anon key (403) and with a wrong key (401), and runs nothing", async () => {
    const attempt = (apiKey: string | null): Promise<{ status: number; body: unknown }> =>
      studioQuery("create table public.studio_refused (id int)", studioHeaders(apiKey));
    expect((await attempt(null)).status).toBe(401);
    expect((await attempt(p.anonKey)).status).toBe(403);
    expect((await attempt(`${p.serviceRoleKey.slice(0, -4)}AAAA`)).status).toBe(401);
    expect((await attempt("not-a-key")).status).toBe(401);
    // The list too.
    expect((await fetch(`${pgMetaUrl()}/tables`, { headers: studioHeaders(null) })).status).toBe(401);
    expect((await fetch(`${pgMetaUrl()}/tables`, { headers: studioHeaders(p.anonKey) })).status).toBe(403);

    // A Studio holding another PG_META_CRYPTO_KEY gets past the gateway but pg-meta cannot read its connection string.
    const otherKey = await studioQuery("create table public.studio_refused (id int)", studioHeaders(p.serviceRoleKey, encrypt(connectionString(), "another-crypto-key")));
    // (Decrypting with the wrong key gives an empty string or bytes that are not UTF-8: either way, no connection.)
    expect(otherKey.status).toBe(500);
    expect(JSON.stringify(otherKey.body)).toMatch(/failed to (get|process) upstream connection details/);

    const c = await p.client();
    try {
      expect((await c.query("select to_regclass('public.studio_refused') as t")).rows).toEqual([{ t: null }]);
    } finally {
      await c.end();
    }
  });

  it("does not publish pg-meta's own port: nothing answers on the worker's address at 8080, and Docker maps no port for meta", async () => {
    // The gateway answers on the same address, so a refusal at 8080 is about the port, not the route.
    expect(await tcp(p.address, p.ports.gateway)).toBe("open");
    expect(await tcp(p.address, 8080)).toBe("ECONNREFUSED");
    expect(docker(["port", p.container("meta")]).stdout.trim()).toBe("");
    const bindings = JSON.parse(docker(["inspect", "-f", "{{json .HostConfig.PortBindings}}", p.container("meta")]).stdout) as Record<string, unknown> | null;
    expect(bindings ?? {}).toEqual({});
    // Of the whole project, only the gateway and the database are published, both on the worker's address.
    const published = docker(["ps", "--filter", `label=com.docker.compose.project=${p.name}`, "--format", "{{.Names}} {{.Ports}}"])
      .stdout.split("\n")
      .filter((l) => l.includes("->"))
      .sort();
    expect(published).toEqual([`${p.container("db")} ${p.address}:${p.ports.db}->5432/tcp`, `${p.container("gateway")} ${p.address}:${p.ports.gateway}->8000/tcp`]);
  });

  it("resolves the connection string's host `db` on the worker: pg-meta connects over the project's network, so the master needs no database port", async () => {
    // The master cannot resolve `db` at all.
    await expect(lookup("db")).rejects.toThrow();
    const meta = JSON.parse(docker(["inspect", "-f", "{{json .NetworkSettings.Networks}}", p.container("meta")]).stdout) as Record<string, { IPAddress: string }>;
    const metaAddress = meta[networkName(p.name)]?.IPAddress;
    expect(metaAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // The session pg-meta opened for Studio: the user Studio named, on the database's in-network port (5432,
    // not the published one), from pg-meta's address on the project's network.
    const r = await studioQuery("select current_user as user, inet_server_port() as port, host(inet_client_addr()) as client");
    expect(r).toEqual({ status: 200, body: [{ user: "postgres", port: 5432, client: metaAddress }] });
    expect(p.ports.db).not.toBe(5432);
  });
});

// After the pg-meta checks, which it backs up and restores with the rest of the database.
describe("an API-only project: deployed, backed up and restored whole without a storage volume", () => {
  const LIB = join(ROOT, "templates/worker");
  const PASSWORD = "api-only restic password";
  const repo = join(work, "repo");
  /** The plan's paths on the lab: the engine's data root for /var/lib/docker, the project's root for its folder. */
  const onLab = (path: string, dockerRoot: string): string =>
    path.replace(/^\/var\/lib\/docker\//, `${dockerRoot}/`).replace(`/opt/supafleet/projects/${p.name}/`, `${p.dir()}/`);
  const script = (command: string): Promise<ScriptRun> =>
    p.runAsync(command, "", { SUPAFLEET_LOCK_DIR: work, SUPAFLEET_SPOOL: join(work, "spool"), RESTIC_CACHE_DIR: join(work, "restic-cache"), TZ: "UTC" });
  const rows = async (): Promise<string[]> => {
    const c = await p.client();
    try {
      return (await c.query("select nombre from public.clientes order by id")).rows.map((r: { nombre: string }) => r.nombre);
    } finally {
      await c.end();
    }
  };

  it("runs the API alone; the gateway has no Storage, Realtime or functions route; a backup and a whole restore bring its rows back", async () => {
    expect(deployed.status, deployed.stderr).toBe(0);
    expect(Object.keys(p.containers()).sort()).toEqual((["db", "meta", "auth", "rest", "gateway"] as const).map((s) => p.container(s)).sort());
    expect(docker(["volume", "ls", "-q", "--filter", `label=com.docker.compose.project=${p.name}`]).stdout.split("\n").filter(Boolean).sort()).toEqual(["spm-db-config", "spm-db-data"]);
    expect((await p.api("/rest/v1/")).status).toBe(200);
    // What the e2e probe checks for a service a project left out, against the real deploy.
    for (const s of ["storage", "realtime", "functions"] as const) expect(await checkAbsent(`http://${p.gateway}`, p.anonKey, s), s).toMatchObject({ ok: true });

    const c = await p.client();
    await c.query("create table public.clientes (id serial primary key, nombre text not null); insert into public.clientes (nombre) select 'cliente ' || g from generate_series(1, 50) g;");
    await c.end();
    const before = await rows();

    const dockerRoot = docker(["info", "--format", "{{.DockerRootDir}}"]).stdout.trim();
    const paths = projectBackupPaths(p.name, p.services).map((x) => onLab(x, dockerRoot));
    expect(paths.some((x) => x.includes("storage"))).toBe(false);
    initRepository(repo, PASSWORD);
    const settings = join(work, "spm.env");
    const env = renderBackupEnv({ name: p.name, repository: repo, resticPassword: PASSWORD, dbContainer: p.container("db"), paths, vaultKeyPath: onLab(vaultKeyPath(p.name), dockerRoot), retention: { daily: 7, weekly: 4, monthly: 6 } });
    writeFileSync(settings, `${env}PROJECT_ENV='${p.dir("secrets", ".env")}'\n`, { mode: 0o600 });

    const backup = await script(`bash ${LIB}/backup.sh ${settings} run`);
    expect(backup.status, backup.stderr).toBe(0);
    // Every path it names exists: nothing skipped, no storage volume looked for.
    expect(backup.stderr).not.toContain("skipping");
    expect(backup.stderr).toContain(`files: backed up ${paths.join(" ")}`);

    const c2 = await p.client();
    await c2.query("delete from public.clientes where id > 10; insert into public.clientes (nombre) values ('after the backup');");
    await c2.end();
    expect(await rows()).not.toEqual(before);

    const restored = await script(`bash ${LIB}/restore.sh ${settings} --whole`);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^restored spm from snapshot \w+ \(taken [^)]+\): \d+ tables match the recorded figures; [^;]+; \d+ files; RTO \d+s\n$/);
    expect(await rows()).toEqual(before);
    // The project runs again as deployed: the API answers, and still nothing of what it left out.
    expect(Object.values(p.containers()).map((x) => x.state)).toEqual(Array(5).fill("running"));
    // The gateway comes back after the database: until it listens, a refused connection means "not yet".
    await waitFor(async () => (await p.api("/rest/v1/").catch(() => undefined))?.status === 200, 60_000);
    expect(await checkAbsent(`http://${p.gateway}`, p.anonKey, "storage")).toMatchObject({ ok: true });
  }, 120_000);
});

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

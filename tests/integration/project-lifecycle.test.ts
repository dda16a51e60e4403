import { execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { projectBackupPaths, vaultKeyPath as planVaultKeyPath } from "../../src/plan/backups";
import { signApiKey } from "../../src/supabase/keys";
import { RELEASES } from "../../src/model/releases";
import { PingListener } from "../helpers/hcListener";
import { addFastKey, initRepository, useFastKey } from "../helpers/resticFastKey";
import { ROOT } from "../helpers/stacks";
import { docker, dockerEnv, requireEngine } from "../lab/engine";
import { UNHEALTHY_SUFFIX } from "../lab/images/catalog";
import { LabProject, release, type ScriptRun } from "../lab/project";
import { PROJECT_ASSETS } from "../../src/supabase/assets";

/**
 * One project's life (seed 000 §9) on the lab's real Docker engine, each step
 * by the real worker script: deployed by the config, assets and deploy scripts
 * (LabProject), upgraded (a failed upgrade rolled back, its pre-upgrade
 * snapshot restored, then a good one), moved to another worker, and removed
 * there. backup.sh and restore.sh dump and restore through `docker exec` into
 * the project's real database container; restic (Debian's 0.14) writes to a
 * local repository. The listener stands in for healthchecks.io, ntfy and Telegram.
 *
 * The steps run in order, each on what the one before left, so that the file
 * deploys a whole project only twice: `lcup` on its first worker at the start,
 * and `lcnw`, the project deployed on the worker it moves to, while lcup's
 * healthy upgrade runs (earlier, it would only idle). One engine cannot hold two
 * projects of one name (container and volume names carry it), so the new
 * worker's copy has its own name and reads the old one's snapshots
 * (SNAPSHOT_HOST, SOURCE_PATHS), as a seed does; the scripts are the same.
 */
const LIB = join(ROOT, "templates/worker");
const PASSWORD = "correct horse battery staple";
const OLD = "2026.02";
const NEW = "2026.08";
const listener = new PingListener();
const work = mkdtempSync(join(tmpdir(), "supafleet-lifecycle-"));
const up = new LabProject("lcup", 20);
const into = new LabProject("lcnw", 21);
const SCRATCH = "lcscratch-db";
let dockerRoot = "";

const read = (path: string): string => readFileSync(path, "utf8");

/** A worker script run as the program sends it, without blocking the event loop (the listener lives in this process). */
function sh(p: LabProject, script: string, stdin = "", extra: Record<string, string> = {}): Promise<ScriptRun> {
  return new Promise((resolve) => {
    const env = dockerEnv({
      ...process.env,
      SUPAFLEET_ROOT: p.root,
      SUPAFLEET_LIB: LIB,
      SUPAFLEET_WAIT_TIMEOUT: "120",
      SUPAFLEET_PROBE_TRIES: "10",
      SUPAFLEET_PROBE_INTERVAL: "1",
      SUPAFLEET_LOCK_DIR: work,
      SUPAFLEET_SPOOL: join(work, "spool"),
      // A test that leaves a live lock fails in seconds, not after the scripts' five minutes.
      SUPAFLEET_LOCK_WAIT: "15",
      RESTIC_CACHE_DIR: join(work, "restic-cache"),
      TZ: "UTC",
      ...extra,
    });
    const child = execFile("bash", ["-c", script], { encoding: "utf8", env, timeout: 300_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
    // A script that never reads its stdin may exit before the write lands: that EPIPE is no failure.
    child.stdin!.on("error", () => {});
    child.stdin!.end(stdin);
  });
}
const step = (p: LabProject, file: string, stdin = "", extra: Record<string, string> = {}): Promise<ScriptRun> =>
  sh(p, p.script(file, file === "project-deploy.sh" ? { GATEWAY: p.gateway } : {}), stdin, { SUPAFLEET_BACKUP_CONFIG: settingsFile(p), ...extra });
const deploy = (p: LabProject, rel: string | ReturnType<typeof release>, extra: Record<string, string> = {}): Promise<ScriptRun> =>
  step(p, "project-deploy.sh", p.composeText(typeof rel === "string" ? release(rel) : rel, typeof rel === "string" ? rel : "lab"), extra);

/** The config and assets steps, as SupabaseProject runs them (LabProject.configure, without blocking). */
async function configure(p: LabProject, env: string, kong: string): Promise<void> {
  const c = await step(p, "project-config.sh", JSON.stringify({ env, kong }));
  expect(c.status, c.stderr).toBe(0);
}
/**
 * The new worker's copy, deployed fresh at the project's next release. Started alongside lcup's healthy
 * upgrade rather than at the start, where its healthchecks ran a minute for nothing; awaited by the move.
 */
let intoDeployed: Promise<unknown> | undefined;
const deployInto = (): Promise<unknown> => (intoDeployed ??= firstDeploy(into, NEW).then(() => undefined, (e: unknown) => e));
async function intoReady(): Promise<void> {
  const failed = await deployInto();
  if (failed !== undefined) throw failed;
}
async function firstDeploy(p: LabProject, rel: string): Promise<void> {
  await p.start();
  await configure(p, p.envText(), p.kongText());
  const files = Object.fromEntries(
    PROJECT_ASSETS.map((f) => [f, read(join(ROOT, "templates/supabase", f))]),
  );
  const a = await step(p, "project-assets.sh", JSON.stringify({ files }));
  expect(a.status, a.stderr).toBe(0);
  const d = await deploy(p, rel, { SUPAFLEET_WAIT_TIMEOUT: "240" });
  expect(d.status, d.stderr).toBe(0);
}

/**
 * What a project's backup covers besides its database, as the plan lists it (projectBackupPaths), on the
 * lab: the project's root for /opt/supafleet/projects/<name>, the engine's data root for /var/lib/docker.
 */
const onLab = (p: LabProject, path: string): string => path.replace(/^\/var\/lib\/docker\//, `${dockerRoot}/`).replace(`/opt/supafleet/projects/${p.name}/`, `${p.dir()}/`);
const pathsOf = (p: LabProject): string[] => projectBackupPaths(p.name).map((path) => onLab(p, path));
const storagePath = (p: LabProject): string => pathsOf(p)[0]!;
const vaultKeyPath = (p: LabProject): string => onLab(p, planVaultKeyPath(p.name));
/** The project's own repository: the new worker's copy uses the one the project had. */
const repository = (p: LabProject): string => join(work, `repo-${p === into ? up.name : p.name}`);

/** The project's backup settings as BackupSchedule renders them, with the listener for every channel. */
function settingsFile(p: LabProject, overrides: Record<string, string> = {}): string {
  const file = join(work, `${p.name}-${randomBytes(3).toString("hex")}.env`);
  const base = renderBackupEnv({
    name: p.name,
    repository: repository(p),
    resticPassword: PASSWORD,
    dbContainer: p.container("db"),
    paths: pathsOf(p),
    vaultKeyPath: vaultKeyPath(p),
    retention: { daily: 7, weekly: 4, monthly: 6 },
    kumaPushUrl: listener.url(`/kuma/push/${p.name}`),
    hcUrl: listener.url(`/hc/${p.name}-backup`),
    ntfyUrl: listener.url("/ntfy/fleet"),
    ntfyToken: "tk_ntfysecrettoken",
    telegramChat: "-100200",
    telegramToken: "bot-token",
    // The new worker's copy reads the snapshots the old worker wrote, from where it wrote them.
    ...(p === into ? { snapshotHost: up.name, sourcePaths: pathsOf(up) } : {}),
  });
  const extra = Object.entries({ TELEGRAM_API: listener.url("/tg"), PROJECT_ENV: p.dir("secrets", ".env"), ...overrides }).map(([k, v]) => `${k}='${v}'`);
  writeFileSync(file, `${base}${extra.join("\n")}\n`, { mode: 0o600 });
  return file;
}

const restic = (p: LabProject, args: string[], password = PASSWORD): ReturnType<typeof spawnSync> =>
  spawnSync("restic", ["-r", repository(p), ...args], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: join(work, "restic-cache") } });
function initProjectRepository(p: LabProject): void {
  initRepository(repository(p), PASSWORD);
}
const snapshots = (p: LabProject, tag?: string): { id: string; time: string; tags: string[] }[] =>
  JSON.parse(String(restic(p, ["snapshots", "--json", ...(tag ? ["--tag", tag] : [])]).stdout) || "[]");

/** psql as supabase_admin inside a database container, as the scripts reach it. */
const psql = (container: string, sql: string, db = "postgres"): string =>
  docker(["exec", "-i", container, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "supabase_admin", "-d", db], { input: sql }).stdout.trim();

/** Every row of the project's own tables, as a digest per table: what "the rows are as before" compares. */
const digest = (container: string, db = "postgres"): Record<string, string> =>
  Object.fromEntries(
    psql(
      container,
      `select format('%I.%I', table_schema, table_name) || ' ' || (xpath('/row/d/text()', query_to_xml(format(
         'select count(*) || '':'' || md5(coalesce(string_agg(x::text, '','' order by x::text), '''')) as d from %I.%I x', table_schema, table_name), false, true, '')))[1]::text
       from information_schema.tables where table_schema in ('public', 'auth', 'storage') and table_type = 'BASE TABLE' order by 1;`,
      db,
    )
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ") as [string, string]),
  );

/** A small client database: customers and their tickets, RLS on, owned by the project's postgres role. */
function seed(p: LabProject): void {
  psql(
    p.container("db"),
    `set role postgres;
     create table public.clientes (id serial primary key, nombre text not null, created_at timestamptz not null default now());
     create table public.tickets (id serial primary key, cliente_id int references public.clientes (id), titulo text, datos jsonb, created_at timestamptz not null default now());
     alter table public.tickets enable row level security;
     create policy tickets_read on public.tickets for select to authenticated using (true);
     insert into public.clientes (nombre, created_at) select 'cliente ' || g, now() - make_interval(days => g) from generate_series(1, 200) g;
     insert into public.tickets (cliente_id, titulo, datos, created_at) select 1 + g % 200, 'ticket ' || g, jsonb_build_object('n', g), now() - make_interval(hours => g) from generate_series(1, 3000) g;`,
  );
}

/** Containers and volumes of a project that the engine still holds, by label and by name. */
const containersOf = (name: string): string[] =>
  docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `label=com.docker.compose.project=${name}`]).stdout.split("\n").filter(Boolean)
    .concat(docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^${name}-`]).stdout.split("\n").filter(Boolean));
const volumesOf = (name: string): string[] => docker(["volume", "ls", "-q", "--filter", `name=^${name}-`]).stdout.split("\n").filter(Boolean);
const states = (p: LabProject): Record<string, string> => Object.fromEntries(Object.entries(p.containers()).map(([n, c]) => [n, c.state]));
const imagesOf = (p: LabProject): Record<string, string> => Object.fromEntries(Object.entries(p.containers()).map(([n, c]) => [n, c.image]));
const expectedImages = (p: LabProject, rel: string): Record<string, string> =>
  Object.fromEntries(Object.entries(RELEASES[rel]!.images).filter(([service]) => (p.services as string[]).includes(service)).map(([service, image]) => [`${p.name}-${service}`, image]));
/** Every container running, and healthy where it has a healthcheck (edge-runtime's has none). */
function expectHealthy(p: LabProject): void {
  const cs = p.containers();
  expect(Object.keys(cs).length).toBe(p.services.length);
  for (const [name, c] of Object.entries(cs)) expect([name, c.state, c.health], name).toEqual([name, "running", name.endsWith("-functions") ? "none" : "healthy"]);
}

type EngineEvent = { type: string; action: string; name: string; image?: string };
/**
 * What the engine does to a project's containers and volumes from now on, in order, until
 * `done()`. Streamed as it happens: the engine keeps only its last 256 events for a later
 * `--since`, and every healthcheck of every project on it adds three.
 */
async function watchEvents(name: string): Promise<{ done(): Promise<EngineEvent[]> }> {
  const seen: EngineEvent[] = [];
  const marker = `${name}-events-${randomBytes(3).toString("hex")}`;
  let buffer = "";
  let onMarker = (): void => {};
  const child = spawn("docker", ["events", "--filter", "type=container", "--filter", "type=volume", "--format", "{{json .}}"], { env: dockerEnv(), stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const l of lines.filter(Boolean)) {
      const e = JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
      const n = e.Actor.Attributes.name ?? e.Actor.ID;
      if (n === marker) onMarker();
      else if (n.startsWith(`${name}-`)) seen.push({ type: e.Type, action: e.Action, name: n, image: e.Actor.Attributes.image });
    }
  });
  const mark = (): void => {
    docker(["volume", "create", marker]);
    docker(["volume", "rm", marker]);
  };
  // `docker events` shows nothing from before it subscribed: marked until a marker comes through.
  await new Promise<void>((resolve) => {
    const tick = setInterval(mark, 300);
    onMarker = () => {
      clearInterval(tick);
      resolve();
    };
  });
  return {
    async done() {
      // Everything before the last marker has been delivered once that marker is.
      await new Promise<void>((resolve) => {
        onMarker = resolve;
        mark();
      });
      child.kill();
      return seen;
    },
  };
}

beforeAll(async () => {
  requireEngine();
  dockerRoot = docker(["info", "--format", "{{.DockerRootDir}}"]).stdout.trim();
  await listener.start();
  initProjectRepository(up);
  await firstDeploy(up, OLD);
  seed(up);
}, 300_000);

afterAll(async () => {
  await intoDeployed; // a deploy still running would leave containers behind
  for (const p of [up, into]) p.stop();
  docker(["rm", "-f", "-v", SCRATCH], { allowFail: true });
  await listener.stop();
  rmSync(work, { recursive: true, force: true });
}, 360_000);

describe("upgrading a project's release", () => {
  const rotated = { anonKey: "" };
  let before: Record<string, string> = {};
  let envBefore = "";
  let kongBefore = "";
  let failed: ScriptRun | undefined;
  beforeAll(async () => {
    // The upgrade also rotates the anon key: a new .env and a new kong.yml, which must switch with the images, as one unit.
    rotated.anonKey = await signApiKey(randomBytes(32).toString("hex"), "anon");
    envBefore = read(up.dir("secrets", ".env"));
    kongBefore = read(up.dir("secrets", "kong.yml"));
  });
  const newEnv = (): string => envBefore.replace(/^ANON_KEY=.*$/m, `ANON_KEY="${rotated.anonKey}"`);

  it("refuses an upgrade it cannot snapshot first, and changes nothing", async () => {
    const ids = Object.fromEntries(Object.entries(up.containers()).map(([n, c]) => [n, c.id]));
    await configure(up, newEnv(), up.kongText(rotated.anonKey));
    const r = await deploy(up, NEW, { SUPAFLEET_BACKUP_CONFIG: join(work, "no-such.env") });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("an upgrade needs a pre-upgrade snapshot");
    // The very same containers, still running the old images.
    expect(Object.fromEntries(Object.entries(up.containers()).map(([n, c]) => [n, c.id]))).toEqual(ids);
    expect(imagesOf(up)).toEqual(expectedImages(up, OLD));
    expect(read(up.dir("secrets", ".env"))).toBe(envBefore);
    // The staged secrets wait for a deploy that can go ahead.
    expect(read(up.dir("secrets", "staged", ".env"))).toContain(`ANON_KEY="${rotated.anonKey}"`);
    expect(snapshots(up)).toEqual([]);
  });

  it("an upgrade that also changes .env and fails its health gate puts back the previous images, .env and kong.yml, healthy, and says why", async () => {
    before = digest(up.container("db"));
    await configure(up, newEnv(), up.kongText(rotated.anonKey));
    const broken = release(NEW, { auth: `${RELEASES[NEW]!.images.auth}${UNHEALTHY_SUFFIX}` });
    const watch = await watchEvents(up.name);
    // A short gate for the release that never gets healthy; going back gets the usual time.
    failed = await deploy(up, broken, { SUPAFLEET_WAIT_TIMEOUT: "20", SUPAFLEET_ROLLBACK_WAIT_TIMEOUT: "240" });
    const seen = await watch.done();
    const r = failed;
    expect(r.status, r.stderr).toBe(1);
    // The new release really ran (its never-healthy auth among it), and then the old one again.
    const auth = seen.filter((e) => e.name === up.container("auth") && e.action === "start").map((e) => e.image);
    expect(auth).toEqual([broken.images.auth, RELEASES[OLD]!.images.auth]);
    expect(r.stderr).toContain("services did not become healthy within 20s");
    expect(r.stderr).toContain("the new release failed its health gate; rolled back to the previous images, .env and kong.yml, which are healthy");
    // What runs is the old release's, every container healthy again, with the old secrets live.
    expect(imagesOf(up)).toEqual(expectedImages(up, OLD));
    expectHealthy(up);
    expect(read(up.dir("releases", "current", "compose.yaml"))).toBe(up.composeText(release(OLD), OLD));
    expect(read(up.dir("secrets", ".env"))).toBe(envBefore);
    expect(read(up.dir("secrets", "kong.yml"))).toBe(kongBefore);
    expect((await up.api("/rest/v1/")).status).toBe(200);
    expect((await up.api("/rest/v1/", rotated.anonKey)).status).toBe(401);
    // The failed release is kept, with its own secrets, for a look.
    expect(read(up.dir("releases", "failed", "compose.yaml"))).toBe(up.composeText(broken));
    expect(read(up.dir("secrets", "failed", ".env"))).toContain(`ANON_KEY="${rotated.anonKey}"`);
    // The pre-upgrade snapshot was taken from the real database, and the message says how to go back to it.
    const pre = snapshots(up, "pre-upgrade").filter((s) => s.tags.includes("kind:database"));
    expect(pre).toHaveLength(1);
    expect(r.stderr).toContain(`pre-upgrade snapshot ${pre[0]!.id}`);
    expect(r.stderr).toMatch(new RegExp(`restore\\.sh \\S+ --target postgres --snapshot ${pre[0]!.id} --replace`));
    const dump = restic(up, ["dump", pre[0]!.id, "database.sql"]).stdout as string;
    expect(dump).toContain('CREATE TABLE "public"."tickets"');
    expect(dump.trimEnd().split("\n").at(-1)).toBe("-- supafleet-dump-complete");
  }, 360_000);

  it("restoring the pre-upgrade snapshot with the printed command brings the database back to before a change", async () => {
    expect(failed, "needs the failed upgrade above").toBeDefined();
    // What the newer images' migrations might have done before the release was rolled back.
    psql(up.container("db"), "alter table public.tickets add column migrated boolean default true; delete from public.tickets where id > 2500; insert into public.clientes (nombre) values ('after the snapshot');");
    expect(digest(up.container("db"))).not.toEqual(before);
    const command = failed!.stderr.match(/(bash \S+\/restore\.sh \S+ --target postgres --snapshot \S+ --replace)/)![1]!;
    const restored = await sh(up, command);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/tables match the recorded figures/);
    expect(digest(up.container("db"))).toEqual(before);
    // The project still answers through its gateway on the restored database.
    expect((await up.api("/rest/v1/")).status).toBe(200);
  }, 120_000);

  it(`a healthy upgrade ${OLD} → ${NEW} takes a pre-upgrade snapshot through docker exec, then runs the new images, healthy`, async () => {
    void deployInto();
    const pre = snapshots(up, "pre-upgrade").length;
    await configure(up, newEnv(), up.kongText(rotated.anonKey));
    const watch = await watchEvents(up.name);
    const r = await deploy(up, NEW);
    const seen = await watch.done();
    expect(r.status, r.stderr).toBe(0);
    // Roles and database, dumped by pg_dump inside the project's own db container.
    expect(snapshots(up, "pre-upgrade").length).toBe(pre + 2);
    // … through docker exec into the running database container, before any container was replaced.
    const dump = seen.findLastIndex((e) => e.name === up.container("db") && e.action.startsWith("exec_start") && e.action.includes("pg_dump"));
    expect(dump, JSON.stringify(seen.slice(0, 20))).toBeGreaterThanOrEqual(0);
    expect(seen.findIndex((e) => e.type === "container" && ["kill", "stop", "die"].includes(e.action))).toBeGreaterThan(dump);
    expect(imagesOf(up)).toEqual(expectedImages(up, NEW));
    expectHealthy(up);
    expect((await up.api("/rest/v1/", rotated.anonKey)).status).toBe(200);
    expect((await up.api("/rest/v1/")).status).toBe(401);
    expect(read(up.dir("releases", "previous", "compose.yaml"))).toBe(up.composeText(release(OLD), OLD));
    expect(read(up.dir("secrets", "previous", ".env"))).toBe(envBefore);
    expect(digest(up.container("db"))).toEqual(before);
  }, 300_000);
});

describe("moving the project to another worker: the steps on each", () => {
  let original: Record<string, string> = {};
  let moved = "";
  const vaultKey = randomBytes(32).toString("hex");
  const object = randomBytes(50_000);

  it("out: a failing backup leaves the project running where it is", async () => {
    const ids = Object.fromEntries(Object.entries(up.containers()).map(([n, c]) => [n, c.id]));
    // The dumps fail inside the container: the settings name a database the cluster does not have.
    const r = await step(up, "project-move-out.sh", "", { SUPAFLEET_BACKUP_CONFIG: settingsFile(up, { DB_NAME: "no_such_database" }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the roles dump failed");
    expect(r.stderr).toContain("the final backup failed; the project keeps running here");
    expect(Object.fromEntries(Object.entries(up.containers()).map(([n, c]) => [n, c.id]))).toEqual(ids);
    expect(Object.values(states(up)).every((s) => s === "running")).toBe(true);
    expect(snapshots(up, "move")).toEqual([]);
  }, 60_000);

  it("out: a final backup tagged move, read back whole, then the services stopped; it prints the snapshot id", async () => {
    // A stored object and the Vault's root key (the db-config volume), which must move with the database.
    mkdirSync(join(storagePath(up), "stub", "avatars"), { recursive: true });
    writeFileSync(join(storagePath(up), "stub", "avatars", "a.png"), object);
    writeFileSync(join(vaultKeyPath(up), "pgsodium_root.key"), vaultKey);
    original = digest(up.container("db"));
    const watch = await watchEvents(up.name);
    const r = await step(up, "project-move-out.sh");
    const seen = await watch.done();
    expect(r.status, r.stderr).toBe(0);
    const move = snapshots(up, "move");
    expect(move.map((s) => s.tags.find((t) => t.startsWith("kind:"))).sort()).toEqual(["kind:database", "kind:files", "kind:roles"]);
    moved = move.find((s) => s.tags.includes("kind:database"))!.id;
    expect(r.stdout.trim()).toBe(moved);
    expect(r.stderr).toContain(`snapshot ${moved.slice(0, 8)} and roles`);
    // Every service stopped after the dumps; the containers and volumes stay until the move completes.
    expect(Object.values(states(up))).toEqual(Array(up.services.length).fill("exited"));
    expect(volumesOf(up.name)).toHaveLength(4);
    const lastDump = seen.findLastIndex((e) => e.action.startsWith("exec_start") && e.action.includes("pg_dump"));
    expect(lastDump).toBeGreaterThanOrEqual(0);
    expect(seen.findIndex((e) => e.type === "container" && e.action === "stop")).toBeGreaterThan(lastDump);
    expect(seen.some((e) => e.action === "destroy")).toBe(false);
  }, 120_000);

  it("in: on the new worker, restores the whole project from the id on stdin, and refuses anything that is not one", async () => {
    expect(moved, "needs the move-out above").not.toBe("");
    await intoReady();
    const bad = await step(into, "project-move-in.sh", "not-an-id\n");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("expected the move's snapshot id on stdin");
    const r = await step(into, "project-move-in.sh", `${moved}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored from snapshot ${moved.slice(0, 8)}`);
    // The rows, the stored object and the Vault key are the old worker's.
    expect(digest(into.container("db"))).toEqual(original);
    expect(readFileSync(join(storagePath(into), "stub", "avatars", "a.png"))).toEqual(object);
    expect(read(join(vaultKeyPath(into), "pgsodium_root.key"))).toBe(vaultKey);
    // The project runs on the new worker, its database opening with that worker's password.
    expect(Object.values(states(into))).toEqual(Array(into.services.length).fill("running"));
    const c = await into.client();
    expect((await c.query("select count(*)::int as n from public.tickets")).rows[0].n).toBe(3000);
    await c.end();
    await waitFor(async () => (await into.api("/rest/v1/")).status === 200, 60_000);
    // The old worker's copy stays as it was left: stopped, with its volumes.
    expect(Object.values(states(up))).toEqual(Array(up.services.length).fill("exited"));
  }, 180_000);

  it("cleanup: removes the stopped project's containers, volumes, files and backup settings from the worker it left", async () => {
    expect(moved, "needs the move-out above").not.toBe("");
    const settings = settingsFile(up);
    const r = await step(up, "project-move-cleanup.sh", "", { SUPAFLEET_BACKUP_CONFIG: settings });
    expect(r.status, r.stderr).toBe(0);
    expect(containersOf(up.name)).toEqual([]);
    expect(volumesOf(up.name)).toEqual([]);
    expect(existsSync(up.dir())).toBe(false);
    expect(existsSync(settings)).toBe(false);
    // The repository is the project's own and moves with it; the moved project runs on.
    expect(snapshots(up, "move")).toHaveLength(3);
    expect(Object.values(states(into))).toEqual(Array(into.services.length).fill("running"));
  }, 60_000);
});

describe("removing the project", () => {
  const remove = (extra: Record<string, string> = {}): Promise<ScriptRun> => step(into, "project-remove.sh", "", extra);

  it("removes nothing when the final backup fails", async () => {
    const ids = Object.fromEntries(Object.entries(into.containers()).map(([n, c]) => [n, c.id]));
    expect(Object.keys(ids)).toHaveLength(into.services.length);
    const vols = volumesOf(into.name);
    listener.received.length = 0;
    // The repository does not open with this password: no final backup can be taken.
    const r = await remove({ SUPAFLEET_BACKUP_CONFIG: settingsFile(into, { RESTIC_PASSWORD: "not-the-repository-password" }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the final backup failed; the project keeps running and nothing is removed");
    expect(Object.fromEntries(Object.entries(into.containers()).map(([n, c]) => [n, c.id]))).toEqual(ids);
    expect(Object.values(states(into)).every((s) => s === "running")).toBe(true);
    expect(volumesOf(into.name)).toEqual(vols);
    expect(existsSync(into.dir("releases", "current", "compose.yaml"))).toBe(true);
    // The failure was alerted.
    expect(listener.received.map((x) => `${x.path} ${x.body}`)).toContainEqual(expect.stringMatching(/^\/ntfy\/fleet backup failed: cannot open the repository/));
  }, 60_000);

  it("takes a final backup, reads it back, stops the project, then removes every container and volume; the final backup restores to what it held", async () => {
    const original = digest(into.container("db"));
    const vols = volumesOf(into.name);
    expect([...vols].sort()).toEqual(["db-config", "db-data", "deno-cache", "storage"].map((v) => `${into.name}-${v}`));
    // A fresh database container to restore the final backup into, started while the removal runs.
    docker(["run", "-d", "--name", SCRATCH, "--network", "none", "-e", "POSTGRES_PASSWORD=scratch", RELEASES[NEW]!.images.db]);
    const watch = await watchEvents(into.name);
    const r = await remove();
    const seen = await watch.done();
    expect(r.status, r.stderr).toBe(0);
    const final = snapshots(into, "final");
    expect(final.map((s) => s.tags.find((t) => t.startsWith("kind:"))).sort()).toEqual(["kind:database", "kind:files", "kind:roles"]);
    const database = final.find((s) => s.tags.includes("kind:database"))!;
    expect(r.stdout).toContain(`removed after final backup ${database.id}; its repository and credential are kept`);
    expect(r.stderr).toContain(`snapshot ${database.id.slice(0, 8)} and roles`);
    // Nothing of the project is left on the engine, nor in its folder.
    expect(containersOf(into.name)).toEqual([]);
    expect(volumesOf(into.name)).toEqual([]);
    expect(existsSync(into.dir())).toBe(false);
    // The order on the engine: the dumps (docker exec), then every container stopped, then removed with the volumes.
    const at = (pred: (e: (typeof seen)[number]) => boolean, last = false): number => (last ? seen.findLastIndex(pred) : seen.findIndex(pred));
    const lastDump = at((e) => e.action.startsWith("exec_start") && e.action.includes("pg_dump"), true);
    const lastStop = at((e) => e.type === "container" && e.action === "stop", true);
    expect(lastDump).toBeGreaterThanOrEqual(0);
    expect(at((e) => e.type === "container" && e.action === "stop")).toBeGreaterThan(lastDump);
    expect(at((e) => e.type === "container" && e.action === "destroy")).toBeGreaterThan(lastStop);
    expect([...new Set(seen.filter((e) => e.type === "container" && e.action === "stop").map((e) => e.name))].sort()).toEqual(Object.keys(expectedImages(into, NEW)).sort());
    expect(seen.filter((e) => e.type === "volume" && e.action === "destroy").map((e) => e.name).sort()).toEqual([...vols].sort());
    // The final backup, restored into a fresh database, holds what the project held.
    await waitFor(() => docker(["exec", SCRATCH, "pg_isready", "-h", "localhost", "-U", "supabase_admin", "-q"], { allowFail: true }).status === 0, 60_000);
    // (The project's own snapshots now: not those of the worker it came from.)
    const settings = settingsFile(into, { DB_CONTAINER: SCRATCH, SNAPSHOT_HOST: into.name });
    const restored = await sh(into, `bash ${LIB}/restore.sh ${settings} --target postgres --snapshot ${database.id}`);
    expect(restored.status, restored.stderr).toBe(0);
    expect(digest(SCRATCH)).toEqual(original);
  }, 180_000);
});

describe("rotating the restic password (rotate.restic)", () => {
  const NEWPW = "a new restic password after rotation";
  const master = { name: "lcrk", root: "" } as unknown as LabProject;
  const files = join(work, "rekey-files");
  const settings = (overrides: Record<string, string> = {}): string => {
    const file = join(work, `lcrk-${randomBytes(3).toString("hex")}.env`);
    const base = renderBackupEnv({ name: "lcrk", repository: join(work, "repo-lcrk"), resticPassword: PASSWORD, paths: [files], retention: { daily: 7, weekly: 4, monthly: 6 } });
    writeFileSync(file, `${base}${Object.entries(overrides).map(([k, v]) => `${k}='${v}'\n`).join("")}`, { mode: 0o600 });
    return file;
  };
  const backup = (file: string, mode: string): Promise<ScriptRun> => sh(master, `bash ${LIB}/backup.sh ${file} ${mode}`);
  const opens = (password: string): boolean => restic(master, ["cat", "config"], password).status === 0;
  beforeAll(() => {
    mkdirSync(files, { recursive: true });
    writeFileSync(join(files, "notes.txt"), "the master's files\n");
    initProjectRepository(master);
  });

  it("adds a key for the new password, removes the old one, keeps the reader's, and a second run changes nothing", async () => {
    const before = await backup(settings(), "run");
    expect(before.status, before.stderr).toBe(0);
    // The reader's key, in restic's format and cheap to open (test repositories only): restic's own `key add` calibrates scrypt, about 1.7 s of CPU.
    addFastKey(join(work, "repo-lcrk"), PASSWORD, "the reader's own key");
    expect(opens("the reader's own key")).toBe(true);
    const rotated = settings({ RESTIC_PASSWORD: NEWPW, RESTIC_PREVIOUS_PASSWORD: PASSWORD });
    const r = await backup(rotated, "rekey");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/restic password rotated: key [0-9a-f]+ removed/);
    // Re-sealed first (only a key NEWPW opens is): each open below would otherwise pay the new key's scrypt, about 0.5 s.
    useFastKey(join(work, "repo-lcrk"), NEWPW);
    expect({ new: opens(NEWPW), old: opens(PASSWORD), reader: opens("the reader's own key") }).toEqual({ new: true, old: false, reader: true });
    // A backup under the new password works on the repository the old one wrote.
    const after = await backup(rotated, "run");
    expect(after.status, after.stderr).toBe(0);
    const again = await backup(rotated, "rekey");
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("the repository opens with the current password");
  }, 60_000);

  it("fails with the reason when neither password opens the repository", async () => {
    const r = await backup(settings({ RESTIC_PASSWORD: "not the current one", RESTIC_PREVIOUS_PASSWORD: "nor the previous one" }), "rekey");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("opens with neither the current nor the previous password");
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms / 1000}s: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

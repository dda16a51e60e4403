import { API_ONLY_SERVICES } from "../../src/model/projectServices";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { PASSWORD_ROLES, passwordChangeSql } from "../../src/supabase/dbPassword";
import { networkName, volumeName } from "../../src/supabase/naming";
import { projectCompose, renderCompose } from "../../src/supabase/compose";
import { docker, requireEngine } from "../lab/engine";
import { LabProject, release, type ScriptRun } from "../lab/project";
import { initRepository } from "../helpers/resticFastKey";

/**
 * The real deploy, config, assets, remove and db-password scripts, run as the
 * program sends them, against the lab's real Docker engine (tests/lab): one
 * project deployed once and shared by the tests, each of which starts from
 * whatever the one before left live; a second one whose first release fails.
 */
const ORIGINAL = release("2026.02");
const UNHEALTHY_AUTH = "supabase/gotrue:v2.186.0-lab-unhealthy";
const LIB = join(__dirname, "../../templates/worker");
const RESTIC_PASSWORD = "restic-password-of-dep";
/** How long a release that never becomes healthy is given; the rollback gets the script's default. */
const FAILING_WAIT = "20";
/** Each step deploys or rolls back on a machine that other tests load too. */
const STEP = 400_000;

const p = new LabProject("dep", 10);
/** Its first release never becomes healthy (failingFirstRelease). */
const p2 = new LabProject("dep2", 11, 1, { services: API_ONLY_SERVICES, studio: "master" });
/** Never configured, never deployed. */
const p3 = new LabProject("dep3", 12);

let envA = "";
let kongA = "";
let first: ScriptRun;
/** dep2's first release, which never becomes healthy: deployed side by side with dep's. */
let firstFailed: ScriptRun;
/** Written right after the first deploy; every later test's rollbacks must leave it. */
const KEPT = `written before any rollback ${randomBytes(4).toString("hex")}`;

const read = (path: string): string => readFileSync(path, "utf8");

/**
 * dep2's first release: the program's compose for auth alone, as rendered (image, healthcheck, secrets),
 * on auth's never-healthy image, with nothing to wait for. The branch under test is the script's; dep's
 * first deploy covers a whole project's. Its database, pg-meta and PostgREST cost about 5 s of CPU.
 */
function failingFirstRelease(): string {
  const c = projectCompose({ project: p2.name, release: release("2026.02", { auth: UNHEALTHY_AUTH }), bindAddress: p2.address, ports: p2.ports, accessTokenHook: false, services: ["auth"] });
  const { depends_on: _db, ...auth } = c.services.auth!;
  return renderCompose({ ...c, "x-supafleet": { release: "lab", "config-sha256": "0".repeat(64) }, services: { auth } });
}
const configure = (env: string, kong: string): void => p.configure({ env, kong });
const mode = (...paths: string[]): string[] => paths.map((f) => spawnSync("stat", ["-c", "%a", f], { encoding: "utf8" }).stdout.trim());
const ids = (): Record<string, string> => Object.fromEntries(Object.entries(p.containers()).map(([name, c]) => [name, c.id]));
const volumes = (project: LabProject): Record<string, string> => {
  const names = docker(["volume", "ls", "-q", "--filter", `label=com.docker.compose.project=${project.name}`]).stdout.split("\n").filter(Boolean);
  if (names.length === 0) return {};
  const all = JSON.parse(docker(["volume", "inspect", ...names]).stdout) as { Name: string; CreatedAt: string }[];
  return Object.fromEntries(all.map((v) => [v.Name, v.CreatedAt]));
};
const envWith = (env: string, key: string, value: string): string => {
  const line = new RegExp(`^${key}=.*$`, "m");
  return line.test(env) ? env.replace(line, `${key}="${value}"`) : `${env}${key}="${value}"\n`;
};

/**
 * Every service of the compose file running, and healthy where it has a healthcheck. A check can
 * miss a few in a row on a machine that other tests load too: each service gets a while to answer again.
 */
async function expectAllUp(project: LabProject, rel = ORIGINAL): Promise<void> {
  await settle(project, 120);
  const cs = project.containers();
  const services = project.services;
  expect(Object.keys(cs).sort()).toEqual(services.map((s) => project.container(s)).sort());
  for (const s of services) {
    const c = cs[project.container(s)]!;
    expect(c.image, s).toBe(rel.images[s]);
    expect(c.state, s).toBe("running");
    expect(c.health, s).toBe(s === "functions" ? "none" : "healthy"); // edge-runtime has no healthcheck in the compose file
    expect(c.oomKilled, s).toBe(false);
  }
}

/** The API through the gateway: the status it settles on (PostgREST's readiness can lag a second behind the gate's). */
async function apiStatus(key: string, want: number, tries = 10): Promise<{ status: number; body: string }> {
  let last = { status: 0, body: "" };
  for (let i = 0; i < tries; i++) {
    try {
      const r = await p.api("/rest/v1/", key);
      last = { status: r.status, body: await r.text() };
    } catch (e) {
      last = { status: 0, body: String(e) };
    }
    if (last.status === want) return last;
    await new Promise((done) => setTimeout(done, 1000));
  }
  return last;
}

/**
 * Waits until every service with a healthcheck is healthy again. The checks run on a machine other
 * tests load too, where one can miss a few in a row; each step starts from a healthy project.
 */
async function settle(project: LabProject, seconds = 180): Promise<void> {
  let sick: string[] = [];
  for (let i = 0; i < seconds; i++) {
    sick = Object.entries(project.containers())
      .filter(([, c]) => c.state !== "running" || !["healthy", "none"].includes(c.health))
      .map(([name, c]) => `${name} ${c.state} ${c.health}`);
    if (sick.length === 0) return;
    await new Promise((done) => setTimeout(done, 1000));
  }
  throw new Error(`not healthy after ${seconds}s: ${sick.join(", ")}`);
}

async function login(user: string, password: string, database = "postgres"): Promise<pg.Client> {
  const c = new pg.Client({ host: p.address, port: p.ports.db, user, password, database, connectionTimeoutMillis: 10_000 });
  await c.connect();
  return c;
}
async function canLogin(user: string, password: string): Promise<boolean> {
  try {
    await (await login(user, password)).end();
    return true;
  } catch {
    return false;
  }
}
async function sql<T = Record<string, unknown>>(text: string, user = "postgres", database = "postgres"): Promise<T[]> {
  const c = await login(user, p.postgresPassword, database);
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The project's backup settings: a local restic repository, its own database container. */
function backupSettings(): Record<string, string> {
  const repo = join(p.root, "restic");
  if (!existsSync(repo)) {
    initRepository(repo, RESTIC_PASSWORD);
  }
  const file = join(p.root, "backup.env");
  writeFileSync(
    file,
    renderBackupEnv({ name: p.name, repository: repo, resticPassword: RESTIC_PASSWORD, dbContainer: p.container("db"), paths: [], retention: { daily: 7, weekly: 4, monthly: 6 } }),
    { mode: 0o600 },
  );
  mkdirSync(join(p.root, "cache"), { recursive: true });
  return { SUPAFLEET_BACKUP_CONFIG: file, SUPAFLEET_LIB: LIB, SUPAFLEET_LOCK_DIR: p.root, SUPAFLEET_CACHE_DIR: join(p.root, "cache") };
}
const restic = (...args: string[]): string => {
  const r = spawnSync("restic", ["-r", join(p.root, "restic"), "--no-cache", ...args], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`restic ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  requireEngine();
  await Promise.all([p.start(), p2.start()]);
  envA = p.envText();
  kongA = p.kongText();
  configure(envA, kongA);
  p2.configure();
  [first, firstFailed] = await Promise.all([
    p.deployAsync(ORIGINAL, { SUPAFLEET_WAIT_TIMEOUT: "240" }),
    p2.runAsync(p2.script("project-deploy.sh", { GATEWAY: p2.gateway }), failingFirstRelease(), { SUPAFLEET_WAIT_TIMEOUT: FAILING_WAIT }),
  ]);
  if (first.status === 0) await sql(`create table public.dep_kept (v text not null); insert into public.dep_kept values ('${KEPT}');`);
}, 2 * STEP);

afterAll(() => {
  for (const project of [p, p2, p3]) project.stop();
});

describe("project-deploy.sh on a real Docker engine", () => {
  it("deploys a release: every service running and healthy, the API answering with the anon key, the secrets root-only and apart from the release", async () => {
    expect(first.stderr).toContain("project-deploy(dep): API answers through the gateway");
    expect(first.stderr).toContain("project-deploy(dep): healthy");
    expect(first.status).toBe(0);
    await expectAllUp(p);

    // The API as a client sees it, through the real gateway stand-in enforcing the mounted kong.yml.
    expect(await apiStatus(p.anonKey, 200)).toMatchObject({ status: 200 });
    expect((await p.api("/rest/v1/", "")).status).toBe(401);

    // The release holds only the compose file, which holds no secret; Compose read the .env from secrets/.
    const compose = read(p.dir("releases", "current", "compose.yaml"));
    expect(compose).toBe(p.composeText(ORIGINAL));
    expect(readdirSync(p.dir("releases", "current"))).toEqual(["compose.yaml"]);
    for (const secret of [p.postgresPassword, p.jwtSecret, p.anonKey, p.serviceRoleKey]) expect(compose).not.toContain(secret);
    expect(mode(p.dir("secrets"), p.dir("secrets", ".env"), p.dir("secrets", "kong.yml"))).toEqual(["700", "600", "600"]);
    expect(read(p.dir("secrets", ".env"))).toBe(envA);
    expect(read(p.dir("secrets", "kong.yml"))).toBe(kongA);
    expect(existsSync(p.dir("secrets", "staged"))).toBe(false);
    const labels = JSON.parse(docker(["inspect", "-f", "{{json .Config.Labels}}", p.container("db")]).stdout) as Record<string, string>;
    expect(labels["com.docker.compose.project.environment_file"]).toBe(p.dir("secrets", ".env"));

    // The database has Supabase's shape: `postgres` owns it and is no superuser; the service roles log in with the project's password.
    const [me] = await sql<{ user: string; superuser: boolean; owner: string }>(
      "select current_user as user, (select rolsuper from pg_roles where rolname = current_user) as superuser, pg_get_userbyid(datdba) as owner from pg_database where datname = current_database()",
    );
    expect(me).toEqual({ user: "postgres", superuser: false, owner: "postgres" });
    const roles = await sql<{ rolname: string; rolsuper: boolean }>("select rolname, rolsuper from pg_roles where rolname in ('supabase_admin', 'authenticator', 'anon', 'authenticated', 'service_role') order by 1");
    expect(roles).toEqual([
      { rolname: "anon", rolsuper: false },
      { rolname: "authenticated", rolsuper: false },
      { rolname: "authenticator", rolsuper: false },
      { rolname: "service_role", rolsuper: false },
      { rolname: "supabase_admin", rolsuper: true },
    ]);
    const schemas = (await sql<{ nspname: string }>("select nspname from pg_namespace where nspname in ('auth', 'storage', 'vault') order by 1")).map((r) => r.nspname);
    expect(schemas).toEqual(["auth", "storage", "vault"]);
    expect(await canLogin("authenticator", p.postgresPassword)).toBe(true);
  });

  it("refuses to deploy before the secrets and files are in place, and creates nothing", () => {
    const r = p3.deploy(ORIGINAL);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no secrets at ${p3.dir("secrets")}; the config step must run first`);
    // The secrets alone are not enough either.
    expect(p3.run(p3.script("project-config.sh"), JSON.stringify({ env: p3.envText(), kong: "_format_version: '2.1'\n" })).status).toBe(0);
    const r2 = p3.deploy(ORIGINAL);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain("the assets step must run first");
    expect(p3.containers()).toEqual({});
    expect(volumes(p3)).toEqual({});
    expect(docker(["network", "ls", "-q", "--filter", `name=${networkName(p3.name)}`]).stdout.trim()).toBe("");
  });

  it("says so when a first release fails and there is nothing to roll back to", () => {
    expect(firstFailed.stderr).toContain(`services did not become healthy within ${FAILING_WAIT}s`);
    expect(firstFailed.stderr).toContain("first release failed; there is nothing to roll back to");
    expect(firstFailed.status).toBe(1);
    expect(existsSync(p2.dir("releases", "previous"))).toBe(false);
    expect(existsSync(p2.dir("releases", "rollback"))).toBe(false);
    // What runs is the failed release, not a healthy project.
    expect(read(p2.dir("releases", "current", "compose.yaml"))).toContain(`image: ${UNHEALTHY_AUTH}`);
    const auth = p2.containers()[p2.container("auth")];
    expect(auth?.health ?? "not created").not.toBe("healthy");
    p2.stop(); // frees the machine for the rest
  });

  it("gates on the API as a client sees it: healthy services whose gateway refuses the anon key roll back, and the key never reaches a command line", async () => {
    await settle(p);
    const refused = `refused-${randomBytes(12).toString("hex")}`;
    const before = { env: read(p.dir("secrets", ".env")), kong: read(p.dir("secrets", "kong.yml")), volumes: volumes(p), db: ids()[p.container("db")] };
    // A new anon key in .env; kong.yml still names the old one, so the gateway refuses it while every service is healthy.
    configure(envWith(before.env, "ANON_KEY", refused), before.kong);

    // Every program the script runs, with its full argv, recorded by strace.
    const trace = join(p.root, "execve.trace");
    const scriptFile = join(p.root, "deploy.sh");
    writeFileSync(scriptFile, p.script("project-deploy.sh", { GATEWAY: p.gateway }));
    const r = p.run(`exec strace -f --seccomp-bpf -qq -e trace=execve -s 65536 -o ${trace} bash ${scriptFile}`, p.composeText(ORIGINAL), { SUPAFLEET_PROBE_TRIES: "4", SUPAFLEET_PROBE_INTERVAL: "2" });
    expect(r.stderr).toContain(`the API through the gateway (${p.gateway}) answered 401, not 200, after 4 tries`);
    expect(r.stderr).toContain("rolled back to the previous images, .env and kong.yml, which are healthy");
    expect(r.status).toBe(1);

    expect(read(p.dir("secrets", ".env"))).toBe(before.env);
    expect(read(p.dir("secrets", "kong.yml"))).toBe(before.kong);
    expect(read(p.dir("secrets", "failed", ".env"))).toContain(`ANON_KEY="${refused}"`);
    expect(mode(p.dir("secrets", "failed"), p.dir("secrets", "failed", ".env"))).toEqual(["700", "600"]);
    // The services that read ANON_KEY run with the old one again, and the API answers it.
    for (const s of ["storage", "functions"] as const) {
      const env = JSON.parse(docker(["inspect", "-f", "{{json .Config.Env}}", p.container(s)]).stdout) as string[];
      expect(env.join("\n"), s).not.toContain(refused);
      expect(env.join("\n"), s).toContain(p.anonKey);
    }
    await expectAllUp(p);
    expect(await apiStatus(p.anonKey, 200)).toMatchObject({ status: 200 });
    expect((await p.api("/rest/v1/", refused)).status).toBe(401);
    // The database was neither recreated nor emptied.
    expect(ids()[p.container("db")]).toBe(before.db);
    expect(volumes(p)).toEqual(before.volumes);

    // The key never reaches a command line: not the probe's curl (the key goes on its stdin), not Compose's.
    const execs = read(trace).split("\n").filter((l) => l.includes("execve("));
    expect(execs.some((l) => /execve\("[^"]*\/curl"/.test(l))).toBe(true);
    expect(execs.some((l) => l.includes('"compose"') && l.includes('"up"'))).toBe(true);
    for (const l of execs) {
      expect(l).not.toContain(refused);
      expect(l).not.toContain(p.anonKey);
    }
  }, STEP);

  // The functions container is restarted by functions-deploy.sh when its code changes (tests/integration/functions-deploy.test.ts).
  it("recreates the gateway when kong.yml changes, and nothing else", async () => {
    await settle(p);
    const env = read(p.dir("secrets", ".env"));
    const kong = read(p.dir("secrets", "kong.yml"));
    const gateway = p.container("gateway");
    const before = ids();

    configure(env, `${kong}# changed ${randomBytes(3).toString("hex")}\n`);
    expect(p.deploy(ORIGINAL).status).toBe(0);
    const afterKong = ids();
    expect(afterKong[gateway]).not.toBe(before[gateway]);
    for (const name of Object.keys(before).filter((n) => n !== gateway)) expect(afterKong[name], name).toBe(before[name]);
    await expectAllUp(p);
  }, STEP);

  it("rolls a failing upgrade back after its pre-upgrade snapshot: the old containers come back and answer their healthchecks", async () => {
    await settle(p);
    const backup = backupSettings();
    const before = { env: read(p.dir("secrets", ".env")), kong: read(p.dir("secrets", "kong.yml")), ids: ids(), volumes: volumes(p) };
    // The upgrade's new .env and kong.yml, staged with it: a variable nothing reads, a comment.
    const staged = { env: `${before.env}SUPAFLEET_LAB_STAGED="with the failing release"\n`, kong: `${before.kong}# staged with the failing release\n` };
    configure(staged.env, staged.kong);
    const failing = release("2026.02", { auth: UNHEALTHY_AUTH });

    const r = p.deploy(failing, { ...backup, SUPAFLEET_WAIT_TIMEOUT: FAILING_WAIT, SUPAFLEET_ROLLBACK_WAIT_TIMEOUT: "240" });
    expect(r.stderr).toContain(`services did not become healthy within ${FAILING_WAIT}s`);
    expect(r.stderr).toContain("rolled back to the previous images, .env and kong.yml, which are healthy");
    expect(r.status).toBe(1);

    // The pre-upgrade snapshot, taken through `docker exec` into the real database container, holds the data.
    const snapshot = /pre-upgrade snapshot ([0-9a-f]{64})/.exec(r.stderr)?.[1];
    expect(snapshot, r.stderr).toBeDefined();
    expect(r.stderr).toContain(`restore.sh ${backup.SUPAFLEET_BACKUP_CONFIG} --target postgres --snapshot ${snapshot} --replace`);
    const snaps = JSON.parse(restic("snapshots", "--json", "--tag", "pre-upgrade")) as { id: string; tags: string[] }[];
    expect(snaps.find((s) => s.id === snapshot)?.tags).toEqual(expect.arrayContaining(["kind:database", "project:dep", "pre-upgrade"]));
    expect(snaps.some((s) => s.tags.includes("kind:roles"))).toBe(true);
    const dump = restic("dump", snapshot!, "database.sql");
    expect(dump).toContain(KEPT);
    expect(dump.trimEnd().split("\n").at(-1)).toBe("-- supafleet-dump-complete");

    // The previous images, .env and kong.yml are live again; the failed ones are kept.
    expect(read(p.dir("releases", "current", "compose.yaml"))).toBe(p.composeText(ORIGINAL));
    expect(read(p.dir("releases", "failed", "compose.yaml"))).toBe(p.composeText(failing));
    expect(read(p.dir("secrets", ".env"))).toBe(before.env);
    expect(read(p.dir("secrets", "kong.yml"))).toBe(before.kong);
    expect(read(p.dir("secrets", "failed", ".env"))).toBe(staged.env);
    expect(read(p.dir("secrets", "failed", "kong.yml"))).toBe(staged.kong);

    // The real old containers: the old image on auth again, every service healthy, the API answering.
    await expectAllUp(p);
    const after = ids();
    expect(after[p.container("auth")]).not.toBe(before.ids[p.container("auth")]);
    expect(after[p.container("db")]).toBe(before.ids[p.container("db")]);
    expect(await apiStatus(p.anonKey, 200)).toMatchObject({ status: 200 });
    expect(volumes(p)).toEqual(before.volumes);
  }, STEP);

  it("never removes a volume on deploy or rollback, and removes nothing of a project it cannot back up first", async () => {
    await settle(p);
    // After every deploy and both rollbacks above: the same volumes, and the row written after the first deploy.
    expect(Object.keys(volumes(p)).sort()).toEqual((["db-config", "db-data", "deno-cache", "storage"] as const).map((v) => volumeName(p.name, v)));
    expect(await sql<{ v: string }>("select v from public.dep_kept")).toEqual([{ v: KEPT }]);

    const before = { ids: ids(), volumes: volumes(p) };
    const removed = p.run(p.script("project-remove.sh"), "", { SUPAFLEET_BACKUP_CONFIG: join(p.root, "none.env"), SUPAFLEET_LIB: LIB });
    expect(removed.stderr).toContain("no final backup can be taken, so nothing is removed");
    expect(removed.status).toBe(1);
    expect(ids()).toEqual(before.ids);
    expect(volumes(p)).toEqual(before.volumes);
    await expectAllUp(p);
    expect(existsSync(p.dir("releases", "current", "compose.yaml"))).toBe(true);
  }, STEP);

  it("the assets step refuses paths that escape the project's folder", () => {
    for (const path of ["../../etc/passwd", "/etc/passwd", "functions/../../x"]) {
      const r = p3.run(p3.script("project-assets.sh"), JSON.stringify({ files: { [path]: "x" } }));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`refusing file path '${path}'`);
    }
    expect(existsSync(join(p3.root, "etc"))).toBe(false);
  });
});

describe("db-password.sh on the project's real database container", () => {
  const dbPassword = (project: LabProject): string => project.script("db-password.sh", { CONTAINER: project.container("db") });

  it("skips on the first deploy, when the database container is not running yet", () => {
    const r = p3.run(dbPassword(p3), passwordChangeSql("NewPassword123"));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("dep3-db is not running; the database init will set the password");
  });

  it("changes every service role's password in place with ALTER ROLE", async () => {
    const r = p.run(dbPassword(p), passwordChangeSql("NewPassword123"));
    try {
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("db-password(dep): passwords updated");
      expect(r.status).toBe(0);
      for (const role of PASSWORD_ROLES) {
        expect(await canLogin(role, "NewPassword123"), role).toBe(true);
        expect(await canLogin(role, p.postgresPassword), role).toBe(false);
      }
    } finally {
      // Back to the password the project's .env holds, which its services use.
      const back = p.run(dbPassword(p), passwordChangeSql(p.postgresPassword));
      expect(back.status, back.stderr).toBe(0);
    }
    expect(await canLogin("postgres", p.postgresPassword)).toBe(true);
  }, STEP);

  it("fails loudly when the database refuses", async () => {
    await sql("alter database postgres allow_connections false", "supabase_admin", "template1");
    try {
      const r = p.run(dbPassword(p), passwordChangeSql("Another1"));
      expect(r.stderr).toContain('database "postgres" is not currently accepting connections');
      expect(r.stderr).toContain("db-password(dep): ALTER ROLE failed");
      expect(r.status).toBe(1);
      expect(r.stdout).not.toContain("passwords updated");
    } finally {
      await sql("alter database postgres allow_connections true", "supabase_admin", "template1");
    }
    expect(await canLogin("supabase_admin", p.postgresPassword)).toBe(true);
    expect(await canLogin("supabase_admin", "Another1")).toBe(false);
  });
});

describe("project-deploy.sh and a service that starts slowly", () => {
  const p4 = new LabProject("dep4", 13);
  let api: ChildProcess | undefined;
  afterAll(() => {
    api?.kill("SIGKILL");
    p4.stop();
  });

  it("tries `up` again while a service that others wait for is unhealthy, until the time it was given", async () => {
    // `slow` is healthy once /tmp/ready exists, which this test creates once Compose has given up on it.
    const compose = [
      "name: dep4",
      "services:",
      "  slow:",
      "    image: supafleet-lab/base:latest",
      '    command: ["sleep", "infinity"]',
      "    init: true",
      '    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, timeout: 1s, retries: 2 }',
      "  app:",
      "    image: supafleet-lab/base:latest",
      '    command: ["sleep", "infinity"]',
      "    init: true",
      "    depends_on: { slow: { condition: service_healthy } }",
      "",
    ].join("\n");
    // The API the gate calls.
    api = spawn(process.execPath, ["-e", `require("node:http").createServer((q, s) => s.writeHead(q.headers.apikey === "key-of-dep4" ? 200 : 401).end()).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<string>((done) => api!.stdout!.once("data", (d: Buffer) => done(d.toString().trim())));
    expect(p4.run(p4.script("project-config.sh"), JSON.stringify({ env: 'ANON_KEY="key-of-dep4"\n', kong: "_format_version: '2.1'\n" })).status).toBe(0);
    expect(p4.run(p4.script("project-assets.sh"), JSON.stringify({ files: { "functions/main/index.ts": "// main\n" } })).status).toBe(0);

    let ready = false;
    const r = await p4.runAsync(p4.script("project-deploy.sh", { GATEWAY: `127.0.0.1:${port}` }), compose, { SUPAFLEET_WAIT_TIMEOUT: "120" }, (stderr) => {
      if (!ready && stderr.includes("not healthy yet")) {
        ready = true;
        docker(["exec", "dep4-slow-1", "touch", "/tmp/ready"]);
      }
    });
    expect(r.stderr).toContain("dependency failed to start: container dep4-slow-1 is unhealthy");
    expect(r.stderr).toContain("project-deploy(dep4): not healthy yet; trying again until 120s have passed");
    expect(r.stderr).toContain("project-deploy(dep4): healthy");
    expect(r.status).toBe(0);
    const cs = p4.containers();
    expect(cs["dep4-slow-1"]).toMatchObject({ state: "running", health: "healthy" });
    expect(cs["dep4-app-1"]).toMatchObject({ state: "running" });
  }, STEP);
});

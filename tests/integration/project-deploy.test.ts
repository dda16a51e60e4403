import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { projectPorts } from "../../src/model/ports";
import { fillTemplate, template } from "../../src/render/templates";
import { projectCompose, renderCompose } from "../../src/supabase/compose";
import { passwordChangeSql } from "../../src/supabase/dbPassword";
import { RELEASES } from "../../src/supabase/releases";
import { freePort, TestPostgres } from "../helpers/postgres";

/**
 * The real deploy, config, assets, remove and db-password scripts, run as
 * the program sends them. This machine has no Docker engine, so `docker`
 * is tests/integration/fakes/docker: it logs calls and reports a stack
 * unhealthy when an image is named "broken"; `docker exec … psql` runs the
 * real psql against a real PostgreSQL 15.
 */
const FAKES = join(__dirname, "fakes");
const PROJECT = "ops";

let root: string;
let state: string;
let log: string;

function run(script: string, stdin: string, extra: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["-c", script], {
    input: stdin,
    encoding: "utf8",
    env: { ...process.env, PATH: `${FAKES}:${process.env.PATH}`, SUPAFLEET_ROOT: root, SUPAFLEET_WAIT_TIMEOUT: "5", SUPAFLEET_PROBE_TRIES: "2", SUPAFLEET_PROBE_INTERVAL: "0.2", FAKE_DOCKER_LOG: log, FAKE_DOCKER_STATE: state, ...extra },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const ANON_KEY = "anon-key-of-ops";
let gatewayPort = 0;
let gateway: ChildProcess;
const script = (file: string): string =>
  fillTemplate(`worker/${file}`, file === "project-deploy.sh" ? { project: PROJECT, gateway: `127.0.0.1:${gatewayPort}` } : { project: PROJECT });
const compose = (release: string, broken = false): string => {
  const c = projectCompose({ project: PROJECT, release: RELEASES[release]!, bindAddress: "10.100.0.2", ports: projectPorts(1), accessTokenHook: true });
  const text = renderCompose({ ...c, "x-supafleet": { release, "config-sha256": "0".repeat(64) } });
  return broken ? text.replace(/image: supabase\/gotrue:\S+/, "image: supabase/gotrue:v9.9.9-broken") : text;
};
const dir = (...p: string[]): string => join(root, "projects", PROJECT, ...p);
const read = (path: string): string => readFileSync(path, "utf8");
const running = (): string => read(join(state, "running.yaml"));
const calls = (): string[] => read(log).split("\n").filter(Boolean);

function configure(kong = "_format_version: '2.1'\n", anonKey = ANON_KEY): void {
  expect(run(script("project-config.sh"), JSON.stringify({ env: `POSTGRES_PASSWORD="x"\nANON_KEY="${anonKey}"\n`, kong })).status).toBe(0);
  const files = { "db/roles.sql": template("supabase/db/roles.sql"), "functions/hello/index.ts": template("supabase/functions/hello/index.ts") };
  expect(run(script("project-assets.sh"), JSON.stringify({ files })).status).toBe(0);
}

// The project's gateway, which the health gate calls with the anon key.
beforeAll(async () => {
  gatewayPort = await freePort();
  gateway = spawn(process.execPath, [join(FAKES, "gateway.mjs"), String(gatewayPort), ANON_KEY], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => gateway.stdout!.once("data", resolve));
});
afterAll(() => gateway.kill("SIGKILL"));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "supafleet-deploy-"));
  state = join(root, "fake-docker");
  log = join(state, "log");
  spawnSync("mkdir", ["-p", state]);
  spawnSync("touch", [log]);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("project-deploy.sh", () => {
  it("deploys a release and keeps the secrets root-only, apart from the release", () => {
    configure();
    const r = run(script("project-deploy.sh"), compose("2026.02"));
    expect(r.stderr).toContain("project-deploy(ops): healthy");
    expect(r.status).toBe(0);
    expect(running()).toBe(compose("2026.02"));
    expect(read(dir("releases", "current", "compose.yaml"))).toBe(compose("2026.02"));
    expect(spawnSync("stat", ["-c", "%a", dir("secrets"), dir("secrets", ".env"), dir("secrets", "kong.yml")], { encoding: "utf8" }).stdout.split("\n").filter(Boolean)).toEqual(["700", "600", "600"]);
    const up = calls().find((c) => c.includes(" up "))!;
    expect(up).toContain(`--env-file ${dir("secrets", ".env")}`);
    expect(up).toContain("--wait");
  });

  it("gates on the API as a client sees it: healthy services whose gateway refuses the anon key roll back", () => {
    configure();
    expect(run(script("project-deploy.sh"), compose("2026.02")).status).toBe(0);
    // A new anon key the gateway does not accept: every service is "healthy", the API is not.
    configure("_format_version: '2.1'\n", "a-key-the-gateway-refuses");
    const r = run(script("project-deploy.sh"), compose("2026.02"));
    expect(r.stderr).toContain(`the API through the gateway (127.0.0.1:${gatewayPort}) answered 401, not 200, after 2 tries`);
    expect(r.stderr).toContain("rolled back to the previous images, .env and kong.yml, which are healthy");
    expect(r.status).toBe(1);
    expect(read(dir("secrets", ".env"))).toContain(`ANON_KEY="${ANON_KEY}"`);
    expect(read(dir("secrets", "failed", ".env"))).toContain('ANON_KEY="a-key-the-gateway-refuses"');
    // The key never reaches a command line.
    for (const c of calls()) expect(c).not.toContain(ANON_KEY);
  });

  it("says so when a first release fails and there is nothing to roll back to", () => {
    configure();
    const r = run(script("project-deploy.sh"), compose("2026.02", true));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("first release failed; there is nothing to roll back to");
    expect(existsSync(join(state, "running.yaml"))).toBe(false);
  });

  it("refuses to deploy before the secrets and files are in place", () => {
    const r = run(script("project-deploy.sh"), compose("2026.02"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no secrets at");
    expect(calls()).toEqual([]);
  });

  it("recreates the gateway when kong.yml changes and the functions when their code does", () => {
    configure("one: 1\n");
    run(script("project-deploy.sh"), compose("2026.02"));
    const first = read(join(state, "labels"));
    configure("one: 2\n");
    run(script("project-deploy.sh"), compose("2026.02"));
    const second = read(join(state, "labels"));
    expect(second.split("\n")[0]).toBe(first.split("\n")[0]); // functions unchanged
    expect(second.split("\n")[1]).not.toBe(first.split("\n")[1]); // kong config changed
  });

  it("never removes a volume on deploy or rollback, and removes nothing of a project it cannot back up first", () => {
    configure();
    run(script("project-deploy.sh"), compose("2026.02"));
    configure("_format_version: '2.1'\n", "a-key-the-gateway-refuses");
    expect(run(script("project-deploy.sh"), compose("2026.02")).stderr).toContain("rolled back");
    for (const c of calls()) expect(c, c).not.toMatch(/(\s-v(\s|$)|--volumes|volume rm)/);
    const removed = run(script("project-remove.sh"), "", { SUPAFLEET_BACKUP_CONFIG: join(root, "none.env") });
    expect(removed.status).toBe(1);
    expect(removed.stderr).toContain("no final backup can be taken, so nothing is removed");
    expect(calls().some((c) => / (stop|down) /.test(c))).toBe(false);
    expect(running()).toBe(compose("2026.02"));
  });

  it("the assets step refuses paths that escape the project's folder", () => {
    const r = run(script("project-assets.sh"), JSON.stringify({ files: { "../../etc/passwd": "x" } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("refusing file path '../../etc/passwd'");
  });
});

describe("db-password.sh on a real PostgreSQL 15", () => {
  const pgdb = new TestPostgres();
  const roles = ["supabase_admin", "authenticator", "pgbouncer", "supabase_auth_admin", "supabase_functions_admin", "supabase_storage_admin"];

  beforeAll(async () => {
    await pgdb.start();
    pgdb.psql(roles.map((r) => `create role ${r} login password 'old-password'${r === "supabase_admin" ? " superuser" : ""};`).join("\n"));
  });
  afterAll(() => pgdb.stop());

  const canLogin = async (user: string, password: string): Promise<boolean> => {
    try {
      const c = await pgdb.client(user, password);
      await c.end();
      return true;
    } catch {
      return false;
    }
  };
  const dbPassword = fillTemplate("worker/db-password.sh", { project: PROJECT, container: "ops-db" });

  it("skips on the first deploy, when the database container is not running yet", () => {
    const r = run(dbPassword, passwordChangeSql("NewPassword123"), { FAKE_DOCKER_RUNNING: "false" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ops-db is not running; the database init will set the password");
  });

  it("changes every service role's password in place with ALTER ROLE, connecting with the old one", async () => {
    // `docker exec -i ops-db psql -U supabase_admin` in the fake runs psql against the test server,
    // with the password the running container still has.
    const r = run(dbPassword, passwordChangeSql("NewPassword123"), { FAKE_DOCKER_RUNNING: "true", PGHOST: "127.0.0.1", PGPORT: String(pgdb.port), PGPASSWORD: "old-password" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("passwords updated");
    for (const role of roles) {
      expect(await canLogin(role, "NewPassword123"), role).toBe(true);
      expect(await canLogin(role, "old-password"), role).toBe(false);
    }
    expect(calls().at(-1)).toBe("exec -i ops-db psql -X -q -U supabase_admin -d postgres -v ON_ERROR_STOP=1");
  });

  it("fails loudly when the database refuses", () => {
    const r = run(dbPassword, passwordChangeSql("Another1"), { FAKE_DOCKER_RUNNING: "true", PGHOST: "127.0.0.1", PGPORT: String(pgdb.port), PGPASSWORD: "wrong" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ALTER ROLE failed");
  });
});

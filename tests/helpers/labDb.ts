import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { template } from "../../src/render/templates";
import { volumeName } from "../../src/supabase/naming";
import { RELEASES, RELEASE_NAMES } from "../../src/model/releases";
import { docker, dockerEnv, ENGINE_NETNS } from "../lab/engine";
import { LAB_SUBNET, release, type LabProject } from "../lab/project";

/** The database image of the newest release: what a project's db container and the drill's throwaway run. */
export const DB_IMAGE = RELEASES[RELEASE_NAMES[RELEASE_NAMES.length - 1]!]!.images.db;

/** The command a project's compose file gives its db, with every connection logged (a test can see who connected). */
const DB_COMMAND = ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf", "-c", "log_connections=on"];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `docker …` on the lab's engine without blocking the event loop (several containers start side by side). */
export function dockerAsync(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("docker", args, { encoding: "utf8", env: dockerEnv({ ...process.env, ...extraEnv }), maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const status = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
      resolve({ status, stdout, stderr });
    });
  });
}

/** Puts 198.51.100.<octet> on the engine's side of the lab veth, so a container can publish a port there. */
export function addLabAddress(octet: number): string {
  const address = `${LAB_SUBNET}.${octet}`;
  const r = spawnSync("ip", ["-n", ENGINE_NETNS, "addr", "replace", `${address}/32`, "dev", "sfdk-lab"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot add ${address} to the lab engine: ${r.stderr}`);
  return address;
}

export function removeLabAddress(octet: number): void {
  spawnSync("ip", ["-n", ENGINE_NETNS, "addr", "del", `${LAB_SUBNET}.${octet}/32`, "dev", "sfdk-lab"]);
}

/**
 * A database container of the lab's supabase/postgres image (the image and
 * init path a project's db uses), reached two ways: `docker exec` as the
 * worker scripts reach it, and its published port, as an operator on the mesh
 * connects (supabase_admin's password is the container's POSTGRES_PASSWORD).
 */
export class LabDb {
  constructor(
    /** The container's name: what DB_CONTAINER names in a job's settings. */
    readonly name: string,
    readonly address: string,
    readonly port: number,
    readonly password: string,
  ) {}

  /**
   * Starts a container of the image as `docker run` would on a worker, publishing
   * 5432 on 198.51.100.<octet>, and waits until it takes connections there.
   * `mounts` are `-v` arguments (the db-config volume, for one). Its data
   * directory is a tmpfs: the image initialises it as it would a volume, without
   * waiting on this machine's shared disk for every fsync (the container is never
   * stopped and started again; a test that needs that runs the db under compose).
   */
  static async run(name: string, octet: number, mounts: readonly string[] = []): Promise<LabDb> {
    const address = addLabAddress(octet);
    const db = new LabDb(name, address, 5432, randomBytes(18).toString("hex"));
    await dockerAsync(["rm", "-f", "-v", name]);
    const r = await dockerAsync([
      "run", "-d", "--name", name, "-e", `POSTGRES_PASSWORD=${db.password}`, "-p", `${address}:5432:5432`,
      "--tmpfs", "/var/lib/postgresql/data:rw,size=1g", ...mounts.flatMap((m) => ["-v", m]), DB_IMAGE, ...DB_COMMAND,
    ]);
    if (r.status !== 0) throw new Error(`docker run ${name} failed: ${r.stderr}`);
    await db.ready();
    return db;
  }

  /**
   * Until the server takes connections on its published port. Not pg_isready on the
   * socket: while the image initialises an empty volume, a temporary server listens there only.
   */
  async ready(timeoutMs = 180_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < until) {
      const c = new pg.Client(this.conn());
      try {
        await c.connect();
        await c.query("select 1");
        await c.end();
        return;
      } catch (e) {
        last = (e as Error).message;
        await c.end().catch(() => {});
      }
      await sleep(250);
    }
    const logs = docker(["logs", "--tail", "30", this.name], { allowFail: true });
    throw new Error(`${this.name} did not take connections on ${this.address}:${this.port} (${last}):\n${logs.stdout}${logs.stderr}`);
  }

  /** Removes the container and its anonymous volumes. */
  remove(): void {
    docker(["rm", "-f", "-v", this.name], { allowFail: true });
  }

  conn(user = "supabase_admin", password = this.password, database = "postgres"): pg.ClientConfig {
    return { host: this.address, port: this.port, user, password, database, connectionTimeoutMillis: 10_000 };
  }

  async client(user = "supabase_admin", password = this.password, database = "postgres"): Promise<pg.Client> {
    const c = new pg.Client(this.conn(user, password, database));
    await c.connect();
    return c;
  }

  /** SQL through psql in the container as supabase_admin over its socket, as the worker scripts run it. */
  psql(sql: string, database = "postgres"): string {
    const r = docker(["exec", "-i", this.name, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "supabase_admin", "-d", database], { input: sql, allowFail: true });
    if (r.status !== 0) throw new Error(`psql in ${this.name} (${database}) failed: ${r.stderr}`);
    return r.stdout;
  }

  /** The uid and gid of postgres inside the image: who must own files the server reads from a mounted folder. */
  postgresIds(): { uid: number; gid: number } {
    const [uid, gid] = docker(["exec", this.name, "sh", "-c", "id -u postgres; id -g postgres"]).stdout.trim().split("\n").map(Number);
    return { uid: uid!, gid: gid! };
  }

  /**
   * The Vault stand-in's root key (tests/helpers/vault.ts): a file in the db-config
   * folder (/etc/postgresql-custom, `configDir` on this side), named by a setting in
   * a .conf file of that folder, which the image's postgresql.conf includes; then a reload.
   */
  useVaultKey(configDir: string, key: string): void {
    const { uid, gid } = this.postgresIds();
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, "pgsodium_root.key"), key, { mode: 0o600 });
    writeFileSync(join(configDir, "vault.conf"), "supafleet.vault_key_file = '/etc/postgresql-custom/pgsodium_root.key'\n", { mode: 0o644 });
    for (const f of ["", "pgsodium_root.key", "vault.conf"]) chownSync(join(configDir, f), uid, gid);
    this.psql("select pg_reload_conf();");
  }

  /**
   * The container's processes whose arguments match `args`, as this machine sees
   * them (pid and arguments): those whose cgroup is the container's. A process
   * here can be stopped and continued (SIGSTOP, SIGCONT) as any other.
   */
  processes(args: RegExp = /./): { pid: number; args: string }[] {
    this.id ??= docker(["inspect", "-f", "{{.Id}}", this.name]).stdout.trim();
    const id = this.id;
    const inContainer = (pid: number): boolean => {
      try {
        return readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(id);
      } catch {
        return false;
      }
    };
    return spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
      .stdout.split("\n")
      .map((l) => l.trim().match(/^(\d+)\s+(.*)$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), args: m[2]! }))
      .filter((p) => args.test(p.args) && inContainer(p.pid));
  }

  private id: string | undefined;

  /** Connections the server logged since `since` (log_connections), as "user database application". */
  connectionsSince(since: Date): string[] {
    const r = docker(["logs", "--since", since.toISOString(), this.name], { allowFail: true });
    return [...`${r.stdout}${r.stderr}`.matchAll(/connection authorized: user=(\S+) database=(\S+) application_name=(\S+)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
  }
}

/**
 * A project's database alone, as its worker runs it: the compose file the
 * program renders for the project (its db service: image, command, the
 * project's init scripts roles.sql, jwt.sql and realtime.sql, the db-data and
 * db-config volumes, the published port), with its .env, in the folders the
 * deploy uses, brought up by `docker compose` under the project's name with
 * the deploy's own arguments. The other services are not started: nothing here
 * needs them, and a whole restore's `docker compose -p <project> stop|start`
 * acts on what runs. `p.start()` must have run.
 */
export async function composeDb(p: LabProject): Promise<LabDb> {
  const rel = p.dir("releases", "current");
  mkdirSync(rel, { recursive: true });
  mkdirSync(p.dir("secrets"), { recursive: true, mode: 0o700 });
  mkdirSync(p.dir("assets", "db"), { recursive: true });
  mkdirSync(p.dir("assets", "functions"), { recursive: true });
  for (const f of ["roles.sql", "jwt.sql", "realtime.sql", "wal-archive.sh"]) writeFileSync(p.dir("assets", "db", f), template(`supabase/db/${f}`));
  mkdirSync(join(p.walRoot, p.name), { recursive: true });
  writeFileSync(p.dir("secrets", ".env"), p.envText(), { mode: 0o600 });
  writeFileSync(join(rel, "compose.yaml"), p.composeText(release(RELEASE_NAMES[RELEASE_NAMES.length - 1]!)));
  // Whatever a run that was killed left of this project goes first.
  await dockerAsync(["rm", "-f", "-v", p.container("db")]);
  await dockerAsync(["volume", "rm", "-f", volumeName(p.name, "db-data"), volumeName(p.name, "db-config")]);
  // The db-data volume, made before compose makes it, on a folder in memory: the image initialises it
  // and the database runs on it as on any volume, and it outlives the container's stop and start,
  // without waiting on this machine's shared disk for every fsync.
  const data = dataDir(p);
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const v = await dockerAsync(["volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", `device=${data}`, volumeName(p.name, "db-data")]);
  if (v.status !== 0) throw new Error(`docker volume create for ${p.name} failed: ${v.stderr}`);
  const r = await dockerAsync(composeArgs(p, ["up", "-d", "db"]), composeEnv(p));
  if (r.status !== 0) throw new Error(`docker compose up db of ${p.name} failed: ${r.stderr}`);
  const db = new LabDb(p.container("db"), p.address, p.ports.db, p.postgresPassword);
  await db.ready();
  return db;
}

/** Everything of the project's compose project goes: containers, its network and its volumes. */
export function composeDown(p: LabProject): void {
  spawnSync("docker", composeArgs(p, ["down", "-v", "--timeout", "5"]), { env: dockerEnv({ ...process.env, ...composeEnv(p) }), stdio: "ignore" });
  docker(["volume", "rm", "-f", volumeName(p.name, "db-data")], { allowFail: true });
  rmSync(dataDir(p), { recursive: true, force: true });
}

/** What the deploy's environment gives compose: digests it ignores here, and where the WAL spools are. */
const composeEnv = (p: LabProject): Record<string, string> => ({ KONG_CONFIG_SHA256: "", SUPAFLEET_WAL_ROOT: p.walRoot });

const dataDir = (p: LabProject): string => join("/dev/shm", `supafleet-${p.name}-db-data`);

function composeArgs(p: LabProject, args: readonly string[]): string[] {
  const rel = p.dir("releases", "current");
  return ["compose", "--project-name", p.name, "--project-directory", rel, "-f", join(rel, "compose.yaml"), "--env-file", p.dir("secrets", ".env"), ...args];
}

/** Where a named volume's files are on this machine (the engine's data root): what a worker's backup paths name. */
export function volumePath(volume: string): string {
  return docker(["volume", "inspect", "-f", "{{.Mountpoint}}", volume]).stdout.trim();
}

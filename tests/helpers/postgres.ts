import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const BIN = "/usr/lib/postgresql/15/bin";

/** A free loopback port, asked of the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * A real PostgreSQL 15 in a temporary folder on a free loopback port, for one
 * test file. `initdb` refuses root, so as root the server runs as `postgres`.
 * Host connections need a password (scram); the superuser `postgres` has
 * `superuser_password`.
 */
export class TestPostgres {
  readonly superuserPassword = "test-superuser";
  port = 0;
  private dir = "";

  /** Server settings for its start, such as shared_preload_libraries (pg_cron, as Supabase's image preloads it). */
  settings: Readonly<Record<string, string>> = {};

  /** `superuser` names the bootstrap superuser, as initdb -U does: supabase_admin in Supabase's image. */
  constructor(readonly superuser = "postgres") {}

  /** The folder the server keeps its socket in; files the server must read can go there too. */
  get home(): string {
    return this.dir;
  }

  /**
   * psql's environment over the server's Unix socket, where local connections
   * are trusted: what `docker exec <db> psql` gets inside Supabase's image,
   * whatever the passwords are.
   */
  socketEnv(user = this.superuser): Record<string, string> {
    return { PGHOST: this.dir, PGPORT: String(this.port), PGUSER: user, PGDATABASE: "postgres" };
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), "supafleet-pg-"));
    chmodSync(this.dir, 0o755);
    if (isRoot()) chownSync(this.dir, uid("postgres"), gid("postgres"));
    const pwfile = join(this.dir, "pw");
    this.asPostgres("sh", ["-c", `umask 077; printf '%s' '${this.superuserPassword}' > ${pwfile}`]);
    this.asPostgres(`${BIN}/initdb`, ["-D", join(this.dir, "data"), "-U", this.superuser, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"]);
    // The free port is only free until someone binds it: parallel test files
    // race for it, so a bind failure takes a new port, and any other failure
    // shows the server's own log.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      const r = this.runAsPostgres(`${BIN}/pg_ctl`, [
        "-D", join(this.dir, "data"), "-l", join(this.dir, "log"), "-w", "-t", "60",
        "-o", `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off${Object.entries(this.settings).map(([k, v]) => ` -c ${k}=${v}`).join("")}`,
        "start",
      ]);
      if (r.status === 0) return this;
      const log = readLog(join(this.dir, "log"));
      if (attempt < 3 && /could not (bind|create listen socket)|already in use/i.test(log)) continue;
      throw new Error(`pg_ctl start failed on port ${this.port}: ${r.stderr || r.stdout}\n--- server log ---\n${log}`);
    }
  }

  stop(): void {
    if (this.dir === "") return;
    spawnSync(isRoot() ? "runuser" : `${BIN}/pg_ctl`, isRoot() ? ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"] : ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
    rmSync(this.dir, { recursive: true, force: true });
    this.dir = "";
  }

  /** Connection settings for `pg` and for psql's environment. */
  conn(user = this.superuser, password = this.superuserPassword, database = "postgres"): pg.ClientConfig & { env: Record<string, string> } {
    return {
      host: "127.0.0.1",
      port: this.port,
      user,
      password,
      database,
      env: { PGHOST: "127.0.0.1", PGPORT: String(this.port), PGUSER: user, PGPASSWORD: password, PGDATABASE: database },
    };
  }

  async client(user = this.superuser, password = this.superuserPassword, database = "postgres"): Promise<pg.Client> {
    const c = new pg.Client(this.conn(user, password, database));
    await c.connect();
    return c;
  }

  /** Runs SQL through psql as the superuser (what operators and scripts use). */
  psql(sql: string, database = "postgres"): string {
    return execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database], {
      input: sql,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      // Over the socket: the bootstrap superuser, whatever a restore did to passwords.
      env: { ...process.env, ...this.socketEnv(), PGDATABASE: database },
    });
  }

  private asPostgres(cmd: string, args: string[]): void {
    const r = this.runAsPostgres(cmd, args);
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  }

  private runAsPostgres(cmd: string, args: string[]): SpawnSyncReturns<string> {
    const [file, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
    return spawnSync(file, argv, { encoding: "utf8" });
  }
}

function readLog(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").slice(-30).join("\n") : "(no log)";
}

function uid(user: string): number {
  return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}
function gid(user: string): number {
  return Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
}

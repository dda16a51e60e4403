import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { n8nEnvironment } from "../../src/automation/n8nCompose";
import { freePort } from "./postgres";
import { ROOT } from "./stacks";

/** The real n8n, installed by scripts/install-test-deps.sh into tests/addons/n8n (the master's image version). */
export const N8N_BIN = join(ROOT, "tests/addons/n8n/node_modules/n8n/bin/n8n");
export const N8N_RECONCILE = join(ROOT, "templates/master/n8n-reconcile.sh");
/** The stand-in docker: `exec … supafleet-n8n n8n …` runs N8N_BIN, `restart` restarts the n8n below. */
const FAKE_DOCKER = join(ROOT, "tests/integration/fakes/n8n");
export const N8N_CONTAINER = "supafleet-n8n";

/**
 * A real n8n on a free loopback port with a folder of its own, started and
 * restarted through the stand-in docker, so the reconcile script drives it
 * exactly as it drives the master's container.
 */
export class TestN8n {
  readonly home = mkdtempSync(join(tmpdir(), "supafleet-n8n-"));
  /** n8n's own folder (/home/node/.n8n in the image): database, custom/ extensions. */
  readonly data = join(this.home, ".n8n");
  /** The stand-in docker's pid file and logs. */
  readonly state = join(this.home, "docker");
  private constructor(
    readonly port: number,
    private readonly brokerPort: number,
    readonly encryptionKey: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts n8n with `extensions` in its custom folder (what n8n-install.sh puts there). */
  static async start(encryptionKey: string, extensions: { name: string; text: string }[] = []): Promise<TestN8n> {
    if (!existsSync(N8N_BIN)) throw new Error("n8n is not installed in tests/addons/n8n; run: bash scripts/install-test-deps.sh");
    const n8n = new TestN8n(await freePort(), await freePort(), encryptionKey);
    mkdirSync(join(n8n.data, "custom"), { recursive: true });
    mkdirSync(n8n.state);
    for (const e of extensions) writeFileSync(join(n8n.data, "custom", e.name), e.text);
    n8n.docker(["start", N8N_CONTAINER]);
    await n8n.waitReady();
    return n8n;
  }

  /** n8n's environment, the stand-in docker's, and the reconcile's pointers at this n8n. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      // The master's own environment (hardening, database, pruning), then what differs for a test on loopback.
      ...n8nEnvironment("n8n.test.invalid"),
      // vitest sets NODE_ENV=test, which makes n8n skip starting its server.
      NODE_ENV: "production",
      PATH: `${FAKE_DOCKER}:${process.env.PATH}`,
      N8N_USER_FOLDER: this.home,
      N8N_LISTEN_ADDRESS: "127.0.0.1",
      N8N_PORT: String(this.port),
      N8N_RUNNERS_BROKER_PORT: String(this.brokerPort),
      N8N_ENCRYPTION_KEY: this.encryptionKey,
      // The tests log in over plain http on loopback, where a secure cookie is never sent back.
      N8N_SECURE_COOKIE: "false",
      // Not the master's WAL mode: the no-secret check reads database.sqlite, and WAL would hold recent writes
      // elsewhere. In WAL mode a webhook's request headers (the TRMM secret) are written transiently to the
      // -wal file: a known defect, in the closing note of issue 15's stop.
      DB_SQLITE_POOL_SIZE: "0",
      FAKE_N8N_STATE: this.state,
      FAKE_N8N_BIN: N8N_BIN,
      FAKE_N8N_NAME: N8N_CONTAINER,
      N8N_CONTAINER,
      N8N_DATA: this.data,
      N8N_URL: this.url,
      ...extra,
    };
  }

  docker(args: string[], input?: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
    return spawnSync("docker", args, { input, encoding: "utf8", env: this.env(extra), timeout: 120_000 });
  }

  /** The same, without blocking this process: stand-ins the command calls may live in it. */
  dockerAsync(args: string[], extra: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
      const p = spawn("docker", args, { env: this.env(extra), stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      p.stdout.on("data", (d: Buffer) => (output += d.toString()));
      p.stderr.on("data", (d: Buffer) => (output += d.toString()));
      p.on("exit", (status) => resolve({ status, output }));
    });
  }

  /** Ready means the REST API answers: /healthz does while migrations still run. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${this.url}/rest/settings`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`n8n did not start within ${timeoutMs / 1000} s; see ${this.state}/n8n.log`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops n8n and its task runner, and deletes its folder. */
  stop(): void {
    this.docker(["kill", N8N_CONTAINER]);
    rmSync(this.home, { recursive: true, force: true });
  }
}

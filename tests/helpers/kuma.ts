import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./stacks";

/** The real add-on servers, installed by scripts/install-test-deps.sh into tests/addons. */
export const ADDONS = join(ROOT, "tests/addons/node_modules");
const KUMA_PACKAGE = join(ADDONS, "uptime-kuma");
export const RECONCILE = join(ROOT, "templates/master/kuma-reconcile.cjs");

function requireAddons(): void {
  if (!existsSync(join(KUMA_PACKAGE, "server/server.js"))) {
    throw new Error(`Uptime Kuma is not installed in tests/addons; run: bash scripts/install-test-deps.sh`);
  }
}

let workdir: string | undefined;

/**
 * Kuma reads its files relative to its working directory. The npm build keeps
 * some of its old SQL patches in db/ instead of db/old_migrations/, where it
 * looks for them; a working directory of links puts them where it looks,
 * without changing the installed package.
 */
export function kumaWorkdir(): string {
  if (workdir !== undefined) return workdir;
  requireAddons();
  const dir = mkdtempSync(join(tmpdir(), "supafleet-kuma-app-"));
  mkdirSync(join(dir, "db/old_migrations"), { recursive: true });
  for (const f of readdirSync(KUMA_PACKAGE)) if (f !== "db") symlinkSync(join(KUMA_PACKAGE, f), join(dir, f));
  for (const f of readdirSync(join(KUMA_PACKAGE, "db"))) if (f !== "old_migrations") symlinkSync(join(KUMA_PACKAGE, "db", f), join(dir, "db", f));
  const patches = [...readdirSync(join(KUMA_PACKAGE, "db/old_migrations")).map((f) => join(KUMA_PACKAGE, "db/old_migrations", f)), ...readdirSync(join(KUMA_PACKAGE, "db")).filter((f) => f.startsWith("patch-")).map((f) => join(KUMA_PACKAGE, "db", f))];
  for (const p of patches) symlinkSync(p, join(dir, "db/old_migrations", p.split("/").pop()!));
  workdir = dir;
  return dir;
}

/** The argv and environment that start Kuma as its image would, listening on host:port with its state in dataDir. */
export function kumaCommand(host: string, port: number, dataDir: string): { argv: string[]; env: NodeJS.ProcessEnv; cwd: string } {
  return {
    argv: [process.execPath, "server/server.js", `--host=${host}`, `--port=${port}`, `--data-dir=${dataDir}`],
    env: { ...process.env, UPTIME_KUMA_DB_TYPE: "sqlite", NODE_ENV: "production" },
    cwd: kumaWorkdir(),
  };
}

export async function waitForHttp(url: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** A real Uptime Kuma server on loopback, with its own data directory. */
export class TestKuma {
  readonly dataDir = mkdtempSync(join(tmpdir(), "supafleet-kuma-data-"));
  private proc: ChildProcess | undefined;
  log = "";

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const c = kumaCommand("127.0.0.1", this.port, this.dataDir);
    this.proc = spawn(c.argv[0]!, c.argv.slice(1), { cwd: c.cwd, env: c.env, stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.on("data", (d: Buffer) => (this.log += d.toString()));
    this.proc.stderr!.on("data", (d: Buffer) => (this.log += d.toString()));
    await waitForHttp(`${this.url}/api/entry-page`);
  }

  stop(): void {
    this.proc?.kill("SIGKILL");
  }
}

interface Socket {
  emit(event: string, ...args: unknown[]): void;
  on(event: string, fn: (d: unknown) => void): void;
  once(event: string, fn: (d: unknown) => void): void;
  close(): void;
}

/** A logged-in Socket.IO client, as the web UI is: to read back what the reconcile did. */
export class KumaClient {
  private latestNotifications: { id: number; name: string; config: string }[] | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on("notificationList", (d) => (this.latestNotifications = d as never));
    socket.on("monitorList", (d) => this.lists.push(d as Record<string, KumaMonitorJson>));
    socket.on("heartbeat", (d) => this.heartbeats.push(d as Heartbeat));
  }

  static async login(url: string, username: string, password: string): Promise<KumaClient> {
    const { io } = createRequire(join(ADDONS, "uptime-kuma/package.json"))("socket.io-client") as { io: (url: string, opts: object) => Socket };
    const socket = io(url, { transports: ["websocket"], reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (e) => reject(e as Error));
    });
    const client = new KumaClient(socket);
    await client.call("login", { username, password, token: "" });
    return client;
  }

  call<T = Record<string, unknown>>(event: string, ...args: unknown[]): Promise<T> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${event}: no answer`)), 20_000);
      this.socket.emit(event, ...args, (res: T & { ok?: boolean; msg?: string }) => {
        clearTimeout(t);
        if (res?.ok === false) reject(new Error(`${event}: ${res.msg}`));
        else resolve(res);
      });
    });
  }

  private readonly lists: Record<string, KumaMonitorJson>[] = [];
  /** Every heartbeat Kuma has sent this client since login, as the web UI receives them. */
  readonly heartbeats: Heartbeat[] = [];

  /** Waits until a heartbeat of the monitor matches, and returns it. */
  async heartbeat(monitorID: number, match: (h: Heartbeat) => boolean, timeoutMs = 60_000): Promise<Heartbeat> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const h = this.heartbeats.find((x) => x.monitorID === monitorID && match(x));
      if (h !== undefined) return h;
      if (Date.now() > until) throw new Error(`no matching heartbeat of monitor ${monitorID} in ${timeoutMs / 1000} s; seen: ${JSON.stringify(this.heartbeats.filter((x) => x.monitorID === monitorID))}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * The monitor list as it is now. Kuma broadcasts the list to every socket of
   * the user on each change, so stale copies may be queued (the test process
   * waits synchronously while the reconcile runs); Kuma sends the fresh one
   * before it acknowledges the request, so the last list before the ack is current.
   */
  async monitors(): Promise<KumaMonitorJson[]> {
    this.lists.length = 0;
    await this.call("getMonitorList");
    const latest = this.lists.at(-1);
    if (latest === undefined) throw new Error("Kuma sent no monitorList before acknowledging getMonitorList");
    return Object.values(latest);
  }

  /** The notifications as Kuma sent them right after login. */
  async notifications(): Promise<{ id: number; name: string; config: string }[]> {
    for (let i = 0; i < 100 && this.latestNotifications === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    if (this.latestNotifications === undefined) throw new Error("Kuma sent no notificationList after login");
    return this.latestNotifications;
  }

  close(): void {
    this.socket.close();
  }
}

export interface Heartbeat {
  monitorID: number;
  /** 1 up, 0 down. */
  status: number;
  msg: string;
}

export interface KumaMonitorJson {
  id: number;
  name: string;
  type: string;
  parent: number | null;
  url: string;
  hostname: string | null;
  headers: string | null;
  pushToken: string | null;
  active: boolean;
  notificationIDList: Record<string, boolean>;
  tags: { tag_id: number; name: string; value: string }[];
}

export interface ReconcileResult {
  status: number | null;
  stderr: string;
  summary: { version: string; created: string[]; updated: string[]; deleted: string[]; unchanged: number };
}

/** Runs the reconcile script as the master does, with Kuma's own socket.io-client. */
export function reconcile(input: object): ReconcileResult {
  const r = spawnSync(process.execPath, [RECONCILE], { input: JSON.stringify(input), encoding: "utf8", env: { ...process.env, NODE_PATH: ADDONS }, timeout: 120_000 });
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  return { status: r.status, stderr: r.stderr, summary: line.startsWith("{") ? JSON.parse(line) : { version: "", created: [], updated: [], deleted: [], unchanged: 0 } };
}

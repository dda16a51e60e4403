import { execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { renderBackupEnv } from "../../src/backup/settings";
import { dockerEnv, requireEngine } from "../lab/engine";
import { PingListener } from "./hcListener";
import { LabDb, removeLabAddress } from "./labDb";
import { initRepository } from "./resticFastKey";
import { ROOT } from "./stacks";

export const SCRIPTS = join(ROOT, "templates/worker");
export const RESTIC_PASSWORD = "correct horse battery staple";

export interface ScriptResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every process on this machine, those of the lab's containers included, as pid and arguments. */
export function processes(): { pid: number; ppid: number; args: string }[] {
  return spawnSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .stdout.split("\n")
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

/** Polls `find` every `every` ms until it answers, for up to `ms`. */
export async function waitFor<T>(what: string, find: () => T | undefined | Promise<T | undefined>, ms = 60_000, every = 100): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`waited ${ms / 1000}s for ${what}`);
    await sleep(every);
  }
}

/**
 * What the backup tests share: a real database container of the lab's
 * supabase/postgres image (one per test file, with a small project database),
 * a restic repository made fresh for each test, the listener that stands in
 * for healthchecks.io, ntfy, Telegram and Kuma's push endpoint, and the
 * scripts run as a worker runs them, their `docker exec` going to the lab's
 * real engine. The job is named `ops`; its container `<name>-db`.
 */
export class BackupRig {
  readonly listener = new PingListener();
  private database: LabDb | undefined;
  work = "";
  repo = "";
  storage = "";

  constructor(
    /** Unique per test file (bk-…): the container is `<name>-db`. */
    readonly name: string,
    /** Unique per test file (30–39): the container publishes on 198.51.100.<octet>. */
    readonly octet: number,
  ) {}

  get db(): LabDb {
    if (this.database === undefined) throw new Error("BackupRig.start() has not run");
    return this.database;
  }

  get container(): string {
    return `${this.name}-db`;
  }

  async start(): Promise<void> {
    requireEngine();
    this.work = mkdtempSync(join(tmpdir(), "supafleet-backup-"));
    const [db] = await Promise.all([LabDb.run(this.container, this.octet), this.listener.start()]);
    this.database = db;
    // The image made supabase_admin, postgres, anon, authenticated and the other service roles.
    db.psql(`
      create database projectdb;
      \\connect projectdb
      create table public.clientes (id serial primary key, nombre text not null, created_at timestamptz not null default now());
      create table public.tickets (id serial primary key, cliente_id int references public.clientes (id), titulo text, datos jsonb, created_at timestamptz not null default now());
      alter table public.tickets enable row level security;
      alter table public.tickets force row level security;
      create policy tickets_read on public.tickets for select to authenticated using (true);
      insert into public.clientes (nombre, created_at) select 'cliente ' || g, now() - make_interval(days => g) from generate_series(1, 200) g;
      insert into public.tickets (cliente_id, titulo, datos, created_at) select 1 + g % 200, 'ticket ' || g, jsonb_build_object('n', g), now() - make_interval(hours => g) from generate_series(1, 3000) g;`);
    this.storage = join(this.work, "storage");
    mkdirSync(join(this.storage, "bucket/avatars"), { recursive: true });
    writeFileSync(join(this.storage, "bucket/avatars/a.png"), randomBytes(200_000));
    writeFileSync(join(this.storage, "bucket/readme.txt"), "hello, storage\n");
  }

  async stop(): Promise<void> {
    this.database?.remove();
    removeLabAddress(this.octet);
    await this.listener.stop();
    if (this.work !== "") rmSync(this.work, { recursive: true, force: true });
  }

  /** A fresh repository and an empty listener: one per test. */
  reset(): void {
    this.repo = mkdtempSync(join(this.work, "repo-"));
    rmSync(this.repo, { recursive: true });
    initRepository(this.repo, RESTIC_PASSWORD);
    this.listener.received.length = 0;
  }

  settings(overrides: Partial<Record<string, string>> = {}): string {
    const file = join(this.work, `ops-${randomBytes(3).toString("hex")}.env`);
    const base = renderBackupEnv({
      name: "ops",
      repository: this.repo,
      resticPassword: RESTIC_PASSWORD,
      dbContainer: this.container,
      paths: [this.storage],
      retention: { daily: 7, weekly: 4, monthly: 6 },
      kumaPushUrl: this.listener.url("/kuma/push/opsbackuptoken"),
      hcUrl: this.listener.url("/hc/ops-backup"),
      drillHcUrl: this.listener.url("/hc/ops-drill"),
      ntfyUrl: this.listener.url("/ntfy/fleet"),
      ntfyToken: "tk_ntfysecrettoken",
      telegramChat: "-100200",
      telegramToken: "bot-token",
    });
    const extra = Object.entries({ DB_NAME: "projectdb", TELEGRAM_API: this.listener.url("/tg"), ...overrides }).map(([k, v]) => `${k}='${v}'`);
    writeFileSync(file, `${base}${extra.join("\n")}\n`, { mode: 0o600 });
    return file;
  }

  /** A worker's environment: `docker` is the lab engine's CLI, talking to it. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return dockerEnv({
      ...process.env,
      SUPAFLEET_LOCK_DIR: this.work,
      SUPAFLEET_SPOOL: join(this.work, "spool"),
      TZ: "UTC",
      RESTIC_CACHE_DIR: join(this.work, "restic-cache"),
      // A test that leaves a live lock fails in seconds, not after the scripts' five minutes.
      SUPAFLEET_LOCK_WAIT: "15",
      ...extra,
    });
  }

  /** Runs a script without blocking the event loop: the listener lives in this process. */
  script(name: string, args: string[], extra: Record<string, string> = {}, env?: NodeJS.ProcessEnv): Promise<ScriptResult> {
    return new Promise((resolve) => {
      execFile("bash", [join(SCRIPTS, name), ...args], { encoding: "utf8", env: env ?? this.env(extra), timeout: 120_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
        resolve({ status: code, stdout, stderr });
      });
    });
  }

  restic(args: string[], input?: string, repo = this.repo): string {
    return spawnSync("restic", ["-r", repo, ...args], { encoding: "utf8", input, env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(this.work, "restic-cache") } }).stdout;
  }

  snapshots(kind?: string, repo = this.repo): { id: string; short_id: string; time: string; tags: string[] }[] {
    return JSON.parse(this.restic(["snapshots", "--json", ...(kind ? ["--tag", `kind:${kind}`] : [])], undefined, repo) || "[]");
  }

  locks(repo = this.repo): string[] {
    return existsSync(join(repo, "locks")) ? readdirSync(join(repo, "locks")) : [];
  }

  /** Each public table's row count and checksum, read over the container's published port. */
  async checksums(db = "projectdb"): Promise<Record<string, string>> {
    const c = await this.db.client("supabase_admin", this.db.password, db);
    try {
      const tables = (await c.query("select relname from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace order by 1")).rows.map((r) => r.relname as string);
      const out: Record<string, string> = {};
      for (const t of tables) out[t] = (await c.query(`select count(*) || ':' || md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as s from public.${t} x`)).rows[0].s;
      return out;
    } finally {
      await c.end();
    }
  }

  /**
   * Runs `run` (a backup.sh run) and cuts its database dump off part-way, for
   * real. A table of bulk data (more than every buffer between pg_dump and
   * restic holds; in a schema of its own, outside the recorded figures and the
   * tests' checksums) is locked, so pg_dump waits at its start; then the dump's
   * `docker exec … pg_dump` client on this machine stops reading (SIGSTOP) and
   * the lock goes, so pg_dump writes until it, then its server process, block in
   * the middle of that table's COPY. `meanwhile` runs then; the server process is
   * terminated (pg_terminate_backend, as an administrator or a crash ends it) and
   * the client goes on: pg_dump fails after writing part of the data.
   */
  async cutOffDump<T>(run: () => Promise<T>, meanwhile: () => Promise<void> = async () => {}): Promise<T> {
    this.db.psql("create schema bulk; create table bulk.filler as select g, repeat(md5(g::text), 16) as t from generate_series(1, 16000) g;", "projectdb");
    const lock = await this.db.client("supabase_admin", this.db.password, "projectdb");
    const watch = await this.db.client("supabase_admin", this.db.password, "projectdb");
    let stopped: number | undefined;
    let result: Promise<T> | undefined;
    try {
      await lock.query("begin; lock table bulk.filler in access exclusive mode;");
      result = run();
      const dumping = (condition: string) => async (): Promise<number | undefined> =>
        (await watch.query(`select pid from pg_stat_activity where application_name = 'pg_dump' and datname = 'projectdb' and ${condition}`)).rows[0]?.pid as number | undefined;
      await waitFor("pg_dump waiting for its lock on bulk.filler", dumping("wait_event_type = 'Lock'"));
      const client = new RegExp(`^(\\S*/)?docker exec ${this.container} pg_dump .*--snapshot=`);
      stopped = await waitFor("the database dump's docker exec", () => processes().find((p) => client.test(p.args))?.pid);
      process.kill(stopped, "SIGSTOP");
      await lock.query("rollback");
      const backend = await waitFor("pg_dump's server process blocked in a COPY", dumping("query ilike 'copy %' and wait_event = 'ClientWrite'"));
      await meanwhile();
      const t = await watch.query("select pg_terminate_backend($1) as ok", [backend]);
      if (t.rows[0].ok !== true) throw new Error(`could not terminate pg_dump's server process ${backend}`);
      process.kill(stopped, "SIGCONT");
      stopped = undefined;
      return await result;
    } finally {
      if (stopped !== undefined) process.kill(stopped, "SIGCONT");
      await lock.end();
      await watch.end();
      // Whatever failed above, the run ends before the bulk goes.
      await result?.catch(() => {});
      this.db.psql("drop schema if exists bulk cascade;", "projectdb");
    }
  }

  /**
   * A second restic holding a lock on the repository, as another job's backup would:
   * a real `restic backup --stdin` whose input stays open until `release` is called.
   */
  async holdLock(): Promise<{ release: () => Promise<void> }> {
    const before = this.locks().length;
    const holder = spawn("restic", ["-r", this.repo, "backup", "--stdin", "--stdin-filename", "other.txt", "--host", "other"], {
      env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(this.work, "restic-cache-holder") },
      stdio: ["pipe", "ignore", "ignore"],
    });
    const exited = new Promise<void>((r) => holder.on("exit", () => r()));
    await waitFor("the second restic's lock", () => (this.locks().length > before ? true : undefined), 30_000);
    return {
      release: async () => {
        holder.stdin!.end("other job's data\n");
        await exited;
      },
    };
  }
}

export type { pg };

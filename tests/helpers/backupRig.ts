import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { renderBackupEnv } from "../../src/backup/settings";
import { PingListener } from "./hcListener";
import { useFastKey } from "./resticFastKey";
import { TestPostgres } from "./postgres";
import { ROOT } from "./stacks";

export const SCRIPTS = join(ROOT, "templates/worker");
export const FAKES = join(ROOT, "tests/integration/fakes");
export const RESTIC_PASSWORD = "correct horse battery staple";

export interface ScriptResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * What the backup tests share: a real PostgreSQL 15 with a small project
 * database, a restic repository made fresh for each test, the listener that
 * stands in for healthchecks.io, ntfy, Telegram and Kuma's push endpoint, and
 * the scripts run as a worker runs them (`docker exec` goes to the stand-in
 * in tests/integration/fakes).
 */
export class BackupRig {
  readonly pgdb = new TestPostgres();
  readonly listener = new PingListener();
  work = "";
  repo = "";
  storage = "";

  async start(): Promise<void> {
    this.work = mkdtempSync(join(tmpdir(), "supafleet-backup-"));
    await this.listener.start();
    await this.pgdb.start();
    this.pgdb.psql(`
      create role supabase_admin login superuser password 'admin-pw';
      create role anon nologin; create role authenticated nologin;
      create database projectdb;`);
    this.pgdb.psql(`
      create table public.clientes (id serial primary key, nombre text not null, created_at timestamptz not null default now());
      create table public.tickets (id serial primary key, cliente_id int references public.clientes (id), titulo text, datos jsonb, created_at timestamptz not null default now());
      alter table public.tickets enable row level security;
      alter table public.tickets force row level security;
      create policy tickets_read on public.tickets for select to authenticated using (true);
      insert into public.clientes (nombre, created_at) select 'cliente ' || g, now() - make_interval(days => g) from generate_series(1, 200) g;
      insert into public.tickets (cliente_id, titulo, datos, created_at) select 1 + g % 200, 'ticket ' || g, jsonb_build_object('n', g), now() - make_interval(hours => g) from generate_series(1, 3000) g;`, "projectdb");
    this.storage = join(this.work, "storage");
    mkdirSync(join(this.storage, "bucket/avatars"), { recursive: true });
    writeFileSync(join(this.storage, "bucket/avatars/a.png"), randomBytes(200_000));
    writeFileSync(join(this.storage, "bucket/readme.txt"), "hello, storage\n");
  }

  async stop(): Promise<void> {
    this.pgdb.stop();
    await this.listener.stop();
    rmSync(this.work, { recursive: true, force: true });
  }

  /** A fresh repository, an empty listener and docker log: one per test. */
  reset(): void {
    this.repo = mkdtempSync(join(this.work, "repo-"));
    rmSync(this.repo, { recursive: true });
    this.restic(["init"]);
    useFastKey(this.repo, RESTIC_PASSWORD);
    this.listener.received.length = 0;
    writeFileSync(join(this.work, "docker.log"), "");
  }

  settings(overrides: Partial<Record<string, string>> = {}): string {
    const file = join(this.work, `ops-${randomBytes(3).toString("hex")}.env`);
    const base = renderBackupEnv({
      name: "ops",
      repository: this.repo,
      resticPassword: RESTIC_PASSWORD,
      dbContainer: "ops-db",
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

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${FAKES}:${process.env.PATH}`,
      ...this.pgdb.conn("supabase_admin", "admin-pw").env,
      FAKE_DOCKER_LOG: join(this.work, "docker.log"),
      FAKE_DOCKER_STATE: this.work,
      SUPAFLEET_LOCK_DIR: this.work,
      SUPAFLEET_SPOOL: join(this.work, "spool"),
      TZ: "UTC",
      RESTIC_CACHE_DIR: join(this.work, "restic-cache"),
      // A test that leaves a live lock fails in seconds, not after the scripts' five minutes.
      SUPAFLEET_LOCK_WAIT: "15",
      ...extra,
    };
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

  async checksums(db = "projectdb"): Promise<Record<string, string>> {
    const c = await this.pgdb.client("postgres", this.pgdb.superuserPassword, db);
    const tables = (await c.query("select relname from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace order by 1")).rows.map((r) => r.relname as string);
    const out: Record<string, string> = {};
    for (const t of tables) out[t] = (await c.query(`select count(*) || ':' || md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as s from public.${t} x`)).rows[0].s;
    await c.end();
    return out;
  }
}

export type { pg };

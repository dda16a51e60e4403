import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { volumeName } from "../../src/supabase/naming";
import { waitFor } from "../helpers/backupRig";
import { PingListener } from "../helpers/hcListener";
import { composeDb, composeDown, volumePath, type LabDb } from "../helpers/labDb";
import { initRepository } from "../helpers/resticFastKey";
import { ROOT } from "../helpers/stacks";
import { dockerEnv, requireEngine } from "../lab/engine";
import { LabProject } from "../lab/project";

/**
 * Point-in-time recovery for real: a project's database under compose, from the
 * compose file the program renders with WAL archiving on (archive_command =
 * wal-archive.sh into the spool), on the lab's Docker engine; wal.sh ships the
 * spool into a real restic repository; backup.sh takes the base backup through
 * PostgreSQL's backup API; restore.sh --time puts the cluster back to a moment.
 * Checked as a user would: every row written before the moment is there with
 * the same checksum, nothing written after it is, and a dropped table is back.
 */
const JOB = "pitr-ops";
const project = new LabProject(JOB, 44);
project.walArchive = { archiveTimeoutSeconds: 60 };
/** A new project seeded from pitr-ops's archive to a moment (restoreFrom.time). */
const fresh = new LabProject("pitr-new", 45);
const work = mkdtempSync(join(tmpdir(), "supafleet-pitr-"));
const repo = join(work, "repo");
const RESTIC_PASSWORD = "pitr restic password";
const listener = new PingListener();
let db: LabDb;
let freshDb: LabDb;

const spool = (): string => join(project.walRoot, JOB);

function settings(extra: Record<string, string> = {}): string {
  const file = join(work, `${JOB}-${Object.keys(extra).join("-") || "plain"}.env`);
  const base = renderBackupEnv({
    name: JOB,
    repository: repo,
    resticPassword: RESTIC_PASSWORD,
    dbContainer: project.container("db"),
    paths: [volumePath(volumeName(JOB, "db-config"))],
    retention: { daily: 7, weekly: 4, monthly: 6 },
    kumaPushUrl: listener.url("/kuma/push/backup"),
    wal: { spool: spool(), alertAfterSeconds: 2, pgWalLimitMiB: 1024, kumaPushUrl: listener.url("/kuma/push/wal") },
    ntfyUrl: listener.url("/ntfy/fleet"),
  });
  writeFileSync(file, base + Object.entries({ PROJECT_ENV: project.dir("secrets", ".env"), ...extra }).map(([k, v]) => `${k}='${v}'\n`).join(""), { mode: 0o600 });
  return file;
}

/** What a seed's payload holds (src/backup/seed.ts): the source's repository, read without a lock, restored into the new project. */
function seedSettings(): string {
  const file = join(work, "seed.env");
  const base = renderBackupEnv({
    name: fresh.name,
    repository: repo,
    resticPassword: RESTIC_PASSWORD,
    readOnly: true,
    snapshotHost: JOB,
    dbContainer: fresh.container("db"),
    paths: [volumePath(volumeName(fresh.name, "db-config"))],
    sourcePaths: [volumePath(volumeName(JOB, "db-config"))],
    vaultKeyPath: volumePath(volumeName(fresh.name, "db-config")),
    retention: { daily: 7, weekly: 4, monthly: 6 },
  });
  writeFileSync(file, `${base}PROJECT_ENV='${fresh.dir("secrets", ".env")}'\n`, { mode: 0o600 });
  return file;
}

const env = (): NodeJS.ProcessEnv =>
  dockerEnv({ ...process.env, SUPAFLEET_LOCK_DIR: work, SUPAFLEET_SPOOL: join(work, "spool"), RESTIC_CACHE_DIR: join(work, "cache"), TZ: "UTC", SUPAFLEET_LOCK_WAIT: "15" });

async function script(name: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  await disconnect();
  return new Promise((resolve) => {
    execFile("bash", [join(ROOT, "templates/worker", name), ...args], { encoding: "utf8", env: { ...env(), ...(process.env.PITR_TRACE ? { SHELLOPTS: "xtrace" } : {}) }, timeout: 240_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ status: err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1, stdout, stderr }),
    );
  });
}

/**
 * The test's own SQL goes over the published port, one connection per database, as an operator
 * connects: a `docker exec psql` each time cost about 0.1 s of CPU (docker, runc, psql's Perl
 * wrapper), and the polls and checksums run hundreds. Values are PostgreSQL's text, as psql prints them.
 */
const conns = new Map<LabDb, Promise<pg.Client>>();
const asText = { getTypeParser: () => (v: string) => v };
function connection(d: LabDb): Promise<pg.Client> {
  let c = conns.get(d);
  if (c === undefined) {
    c = d.client().then((client) => {
      // A restore stops the server: the next query connects again.
      client.on("error", () => conns.delete(d));
      return client;
    });
    conns.set(d, c);
    c.catch(() => conns.delete(d));
  }
  return c;
}
/** Closed before each script, which may restart the database; the next query connects again. */
async function disconnect(): Promise<void> {
  const all = [...conns.values()];
  conns.clear();
  await Promise.all(all.map((c) => c.then((client) => client.end()).catch(() => {})));
}
/** Rows of one statement, as psql's unaligned tuples-only output: columns joined by |, rows by newlines. */
async function rowsOf(d: LabDb, query: string): Promise<string> {
  const r = await (await connection(d)).query({ text: query, rowMode: "array", types: asText });
  return (r.rows as (string | null)[][]).map((row) => row.map((v) => v ?? "").join("|")).join("\n");
}
/** Each statement on its own, autocommitted, as psql sends them (none here has a ; inside). */
async function sqlOn(d: LabDb, text: string): Promise<void> {
  for (const statement of text.split(";").map((t) => t.trim()).filter(Boolean)) await rowsOf(d, statement);
}
const sql = (text: string): Promise<void> => sqlOn(db, text);
const one = (query: string): Promise<string> => rowsOf(db, query);
/** Each public table's rows and an order-free checksum of them: what "the same data" means. */
async function checksumsOf(d: LabDb): Promise<Record<string, string>> {
  const tables = (await rowsOf(d, "select relname from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace order by 1")).split("\n").filter(Boolean);
  const sums: Record<string, string> = {};
  for (const t of tables) sums[t] = await rowsOf(d, `select count(*) || ':' || md5(coalesce(string_agg(x::text, ',' order by x::text), '')) from public.${t} x`);
  return sums;
}
const checksums = (): Promise<Record<string, string>> => checksumsOf(db);

/** Ends the current segment and waits until archive_command has put it in the spool. */
async function archiveNow(): Promise<string> {
  const segment = await one("select pg_walfile_name(pg_current_wal_lsn())");
  await sql("select pg_switch_wal();");
  await waitFor(`segment ${segment} in the spool`, async () => ((await one("select coalesce(last_archived_wal, '') from pg_stat_archiver")) >= segment ? true : undefined), 30_000, 250).catch(async (e: Error) => {
    const why = spawnSync("docker", ["exec", "-u", "postgres", project.container("db"), "bash", "/usr/local/lib/supafleet/wal-archive.sh", "/dev/null", segment], { encoding: "utf8", env: dockerEnv(process.env) });
    throw new Error(`${e.message}: ${await one("select row_to_json(a) from pg_stat_archiver a")}; the archive command says: ${why.stderr}`);
  });
  return segment;
}

/** A moment, to the millisecond, after every commit before it and before every commit after it. */
async function aMoment(): Promise<string> {
  await new Promise((r) => setTimeout(r, 50));
  const t = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 50));
  return t;
}

const snapshots = (tag: string): { id: string; tags: string[]; time: string }[] =>
  JSON.parse(spawnSync("restic", ["-r", repo, "snapshots", "--json", "--tag", tag], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work, "cache") } }).stdout || "[]");

beforeAll(async () => {
  requireEngine();
  await listener.start();
  initRepository(repo, RESTIC_PASSWORD);
  // The spool on a filesystem of its own, as a full one can be made for real.
  mkdirSync(spool(), { recursive: true });
  expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=768m,mode=0711", "tmpfs", spool()]).status).toBe(0);
  [db, freshDb] = await Promise.all([composeDb(await project.start()), composeDb(await fresh.start())]);
  const prepared = await script("wal.sh", [settings(), "prepare"]);
  expect(prepared.status, prepared.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await disconnect();
  composeDown(project);
  composeDown(fresh);
  spawnSync("umount", [spool()]);
  project.stop();
  fresh.stop();
  await listener.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("point-in-time recovery on PostgreSQL 15", () => {
  it("archives every finished segment into the spool, and ships it into restic as a wal:part snapshot", async () => {
    expect(await one("show archive_mode")).toBe("on");
    expect(await one("show archive_timeout")).toBe("1min");
    const segment = await archiveNow();
    expect(readdirSync(join(spool(), "incoming"))).toContain(segment);
    const shipped = await script("wal.sh", [settings(), "ship"]);
    expect(shipped.status, shipped.stderr).toBe(0);
    expect(readdirSync(join(spool(), "incoming")).filter((f) => !f.startsWith("."))).toEqual([]);
    const parts = snapshots("wal:part");
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.flatMap((s) => s.tags)).toEqual(expect.arrayContaining(["wal", "wal:part"]));
    // Kuma's WAL monitor hears "up" with the archive's age.
    const kuma = listener.take("/kuma/push/wal");
    expect(new URLSearchParams(kuma.at(-1)!.query).get("status")).toBe("up");
    expect(new URLSearchParams(kuma.at(-1)!.query).get("msg")).toMatch(/last segment shipped \d+s ago/);
    // The archive's state, for an operator or a console: what was shipped last, how long ago, and nothing wrong.
    const status = await script("wal.sh", [settings(), "status"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ lastShipped: segment, waiting: 0, alerted: false, problems: [] });
    expect(JSON.parse(status.stdout).lastShippedAgeSeconds).toBeLessThan(60);
    // Every part names the cluster it came from (its system identifier), as its base backups will.
    const cluster = await one("select system_identifier from pg_control_system()");
    expect(parts.every((s) => s.tags.includes(`cluster:${cluster}`))).toBe(true);
  });

  it("folds a day that is over into one snapshot, forgets its parts and empties its folder", async () => {
    const cluster = await one("select system_identifier from pg_control_system()");
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10).replace(/-/g, "");
    // Today's parts and folder, made yesterday's: as they are when the ship after midnight finds them.
    const parts = snapshots(`wal:part,day:${today}`);
    expect(parts.length).toBeGreaterThan(0);
    const restic = (args: string[]): void => {
      const r = spawnSync("restic", ["-r", repo, ...args], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work, "cache") } });
      expect(r.status, r.stderr).toBe(0);
    };
    restic(["tag", "--remove", `day:${today}`, "--remove", `bucket:${today}-0`, "--add", `day:${yesterday}`, "--add", `bucket:${yesterday}-0`, ...parts.map((p) => p.id)]);
    const days = join(spool(), "days", cluster);
    spawnSync("mv", [join(days, `${today}-0`), join(days, `${yesterday}-0`)]);
    const segments = readdirSync(join(days, `${yesterday}-0`));

    const r = await script("wal.sh", [settings(), "ship"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${yesterday}-0 folded into one snapshot`);
    expect(snapshots(`wal:part,day:${yesterday}`)).toEqual([]);
    const folded = snapshots(`wal:day,day:${yesterday}`);
    expect(folded).toHaveLength(1);
    expect(folded[0]!.tags).toContain(`cluster:${cluster}`);
    expect(existsSync(join(days, `${yesterday}-0`))).toBe(false);
    // The day's snapshot holds every segment its parts held.
    const listed = spawnSync("restic", ["-r", repo, "ls", folded[0]!.id], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work, "cache") } }).stdout;
    for (const s of segments) expect(listed).toContain(s);
  });

  it("starts a new folder once the day's holds WAL_BUCKET_MIB, and folds the full one at once: a busy project's spool stays small", async () => {
    const cluster = await one("select system_identifier from pg_control_system()");
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    const days = join(spool(), "days", cluster);
    await sql("create table public.orders_bucket (id bigserial primary key, v text);");
    // With a 16 MiB limit each segment fills its folder, which is folded by the same ship; the next
    // segment goes to a folder of a new name, never one already folded.
    for (const n of [0, 1]) {
      await sql(`insert into public.orders_bucket (v) select md5(g::text) from generate_series(1, 100) g;`);
      const segment = await archiveNow();
      const r = await script("wal.sh", [settings({ WAL_BUCKET_MIB: "16" }), "ship"]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${today}-${n} folded into one snapshot`);
      const folded = snapshots(`wal:day,bucket:${today}-${n}`);
      expect(folded).toHaveLength(1);
      expect(snapshots(`wal:part,bucket:${today}-${n}`)).toEqual([]);
      const listed = spawnSync("restic", ["-r", repo, "ls", folded[0]!.id], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work, "cache") } }).stdout;
      expect(listed).toContain(segment);
    }
    expect(readdirSync(days).filter((d) => d.startsWith(today))).toEqual([]);
    await sql("drop table public.orders_bucket;");
  });

  it("restores to a moment T: every row written before T is there by checksum, nothing after it, and the dropped table is back", async () => {
    await sql(`create table public.orders (id bigserial primary key, item text not null, amount numeric not null, at timestamptz not null default clock_timestamp());
         create table public.audit (id bigserial primary key, note text);
         insert into public.orders (item, amount) select 'item ' || g, g * 1.25 from generate_series(1, 2000) g;
         insert into public.audit (note) select 'note ' || g from generate_series(1, 300) g;`);
    const base = await script("backup.sh", [settings(), "base"]);
    expect(base.status, base.stderr).toBe(0);
    const bases = snapshots("kind:base");
    expect(bases).toHaveLength(1);
    expect(bases[0]!.tags.some((t) => /^base-stop:\d+$/.test(t))).toBe(true);
    expect(bases[0]!.tags.some((t) => /^base-wal:[0-9A-F]{24}$/.test(t))).toBe(true);

    // Written after the base backup, before T: only the WAL holds it.
    await sql(`insert into public.orders (item, amount) select 'late ' || g, g from generate_series(1, 500) g;
         update public.orders set amount = amount + 1 where id % 7 = 0;
         delete from public.audit where id % 10 = 0;`);
    const atT = await checksums();
    const T = await aMoment();
    // After T: more rows, then the mistake.
    await sql(`insert into public.orders (item, amount) select 'after ' || g, g from generate_series(1, 100) g;
         drop table public.audit;`);
    expect(Object.keys(await checksums())).toEqual(["orders"]);
    await archiveNow();
    expect((await script("wal.sh", [settings(), "ship"])).status).toBe(0);

    const restored = await script("restore.sh", [settings(), "--time", T]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(new RegExp(`restored ${JOB} to ${T} from base backup [0-9a-f]{8} and the WAL archive: last transaction replayed at \\d{4}-`));
    // The live database was kept first, whole, as a snapshot of its own.
    expect(restored.stderr).toMatch(/safety snapshot of the live database: [0-9a-f]{8}/);
    expect(snapshots("pre-pitr").length).toBe(2);

    expect(await checksums()).toEqual(atT);
    expect(await one("select count(*) from public.orders where item like 'after %'")).toBe("0");
    expect(await one("select pg_is_in_recovery()")).toBe("f");
    // A plain start from now on: the recovery settings are gone.
    expect(await one("select count(*) from pg_file_settings where name like 'recovery_target%' or name = 'restore_command'")).toBe("0");

    // The restored cluster archives on a new timeline, and its history file is shipped and kept.
    await sql("insert into public.orders (item, amount) values ('after the restore', 1);");
    await archiveNow();
    expect((await script("wal.sh", [settings(), "ship"])).status).toBe(0);
    expect(snapshots("wal:history").length).toBe(1);
    expect(readdirSync(join(spool(), "history"))).toContain("00000002.history");
  });
});

describe("into a new project, to a given time (restoreFrom.time)", () => {
  it("seeds the new project with the source as it was at T, under its own passwords, and leaves the source as it is", async () => {
    await sql(`create table public.invoices (id bigserial primary key, total numeric not null);
         insert into public.invoices (total) select g * 3 from generate_series(1, 700) g;`);
    // The nightly run: roles, database, files (the Vault key) and a base backup.
    const nightly = await script("backup.sh", [settings(), "run"]);
    expect(nightly.status, nightly.stderr).toBe(0);
    await sql("insert into public.invoices (total) select g from generate_series(1, 50) g;");
    const atT = await checksums();
    const T = await aMoment();
    await sql("delete from public.invoices where total > 100;");
    await archiveNow();
    expect((await script("wal.sh", [settings(), "ship"])).status).toBe(0);
    const sourceNow = await checksums();

    // What project-seed.sh runs with the seed's payload: restore.sh --whole and the options --time T.
    const seeded = await script("restore.sh", [seedSettings(), "--whole", "--time", T]);
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(new RegExp(`restored pitr-new to ${T} from base backup`));
    expect(seeded.stderr).not.toContain("safety snapshot");

    const freshSums = await checksumsOf(freshDb);
    expect(freshSums).toEqual(atT);
    // The new project's roles take its own password, not the source's.
    const c = await freshDb.client("postgres", fresh.postgresPassword);
    await c.end();
    await expect(freshDb.client("postgres", project.postgresPassword)).rejects.toThrow(/password authentication failed/);
    // The source is untouched: same rows, still its own primary.
    expect(await checksums()).toEqual(sourceNow);
    expect(await one("select pg_is_in_recovery()")).toBe("f");
  }, 180_000);

  it("the monthly drill also restores to a point in time, into a throwaway container that is gone afterwards", async () => {
    const drill = await script("drill.sh", [settings()]);
    expect(drill.status, drill.stderr).toBe(0);
    expect(drill.stderr).toMatch(/drill\(pitr-ops\): point-in-time: restored pitr-ops to latest from base backup [0-9a-f]{8} and the WAL archive: last transaction replayed at \S+ \(\d+s before the drill\); RTO \d+s/);
    // The snapshot drill's line stays last, as the e2e probe reads it.
    expect(drill.stderr.trim().split("\n").at(-1)).toMatch(/^drill\(pitr-ops\): restored snapshot .*; RPO -?\d+ min, RTO \d+s$/);
    const left = spawnSync("docker", ["ps", "-a", "--filter", "name=supafleet-pitr-drill", "-q"], { encoding: "utf8", env: dockerEnv(process.env) }).stdout.trim();
    expect(left).toBe("");
  }, 180_000);
});

describe("a worker is gone", () => {
  it("restore.sh --whole --time latest brings back everything shipped, and nothing that never left the worker", async () => {
    await sql("create table public.shipped (id bigserial primary key, v text); insert into public.shipped (v) select md5(g::text) from generate_series(1, 400) g;");
    await archiveNow();
    expect((await script("wal.sh", [settings(), "ship"])).status).toBe(0);
    const shipped = await checksums();
    // Written, but still in pg_wal when the worker died: lost, within the RPO.
    await sql("insert into public.shipped (v) values ('never left the worker');");
    const r = await script("restore.sh", [settings(), "--whole", "--time", "latest"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`restored ${JOB} to latest from base backup [0-9a-f]{8} and the WAL archive`));
    expect(await checksums()).toEqual(shipped);
  }, 120_000);
});

describe("faults", () => {
  it("a segment corrupted in the archive: the restore refuses before touching the live database, and says where", async () => {
    await sql("create table public.ledger (id bigserial primary key, entry text); insert into public.ledger (entry) select 'entry ' || g from generate_series(1, 500) g;");
    expect((await script("backup.sh", [settings(), "base"])).status).toBe(0);
    await sql("insert into public.ledger (entry) select 'more ' || g from generate_series(1, 2000) g;");
    const damaged = await archiveNow();
    await sql("insert into public.ledger (entry) select 'even more ' || g from generate_series(1, 2000) g;");
    const T = await aMoment();
    await sql("insert into public.ledger (entry) values ('after T');");
    await archiveNow();
    // Bytes in the middle of the first segment are overwritten in the spool, before it is shipped.
    const file = join(spool(), "incoming", damaged);
    const fd = spawnSync("dd", ["if=/dev/urandom", `of=${file}`, "bs=8192", "seek=3", "count=4", "conv=notrunc"], { encoding: "utf8" });
    expect(fd.status).toBe(0);
    expect((await script("wal.sh", [settings(), "ship"])).status).toBe(0);
    const live = await checksums();

    const r = await script("restore.sh", [settings(), "--time", T]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the WAL archive is damaged in segment ${damaged}`);
    expect(r.stderr).toContain("nothing was restored");
    // The live database is as it was: running, every row there.
    expect(await one("select pg_is_in_recovery()")).toBe("f");
    expect(await checksums()).toEqual(live);
  });

  it("the archive target unreachable for a while, then back: no segment is lost, and the alert fired and cleared", async () => {
    const moved = `${repo}.away`;
    rmSync(moved, { recursive: true, force: true });
    spawnSync("mv", [repo, moved]);
    listener.take("/ntfy");
    listener.take("/kuma/push/wal");
    await sql("create table public.during_outage (id bigserial primary key, v text);");
    const waiting: string[] = [];
    for (let i = 0; i < 2; i++) {
      await sql(`insert into public.during_outage (v) select md5(g::text) from generate_series(1, 1000) g;`);
      waiting.push(await archiveNow());
      const failed = await script("wal.sh", [settings(), "ship"]);
      expect(failed.status).not.toBe(0);
      // The first failure starts the clock; the one after alertAfter (2 s here) alerts.
      if (i === 0) await new Promise((r) => setTimeout(r, 2100));
    }
    // Every segment is still in the spool, and once the problem outlasted alertAfter, ntfy and Kuma heard.
    expect(readdirSync(join(spool(), "incoming"))).toEqual(expect.arrayContaining(waiting));
    const alerts = listener.take("/ntfy").map((a) => a.body);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatch(/WAL archiving is failing: shipping fails: restic backup of \d+ segment\(s\)/);
    expect(listener.take("/kuma/push/wal").map((k) => new URLSearchParams(k.query).get("status"))).toContain("down");

    spawnSync("mv", [moved, repo]);
    const back = await script("wal.sh", [settings(), "ship"]);
    expect(back.status, back.stderr).toBe(0);
    expect(readdirSync(join(spool(), "incoming")).filter((f) => !f.startsWith("."))).toEqual([]);
    expect(listener.take("/ntfy").map((a) => a.body)).toEqual([expect.stringContaining("WAL archiving works again")]);
    // Every segment is in the repository.
    const listed = spawnSync("restic", ["-r", repo, "ls", "--json", "latest", "--tag", "wal:part"], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(work, "cache") } }).stdout;
    for (const s of waiting) expect(listed).toContain(s);
  });

  it("a full spool: archive_command fails, PostgreSQL keeps the WAL, the alert fires, and archiving catches up once there is room", async () => {
    const incoming = join(spool(), "incoming");
    // The spool's filesystem filled up to its last 4 MiB: no 16 MiB segment fits.
    const free = Number(spawnSync("df", ["--output=avail", "-B1", spool()], { encoding: "utf8" }).stdout.split("\n")[1]);
    const filler = join(spool(), "filler");
    expect(spawnSync("fallocate", ["-l", String(free - (4 << 20)), filler]).status).toBe(0);
    try {
      listener.take("/ntfy");
      await sql("create table public.while_full (id bigserial primary key, v text); insert into public.while_full (v) select md5(g::text) from generate_series(1, 1000) g;");
      const stuck = await one("select pg_walfile_name(pg_current_wal_lsn())");
      await sql("select pg_switch_wal();");
      await waitFor("archive_command to fail", async () => ((await one("select failed_count from pg_stat_archiver")) !== "0" && (await one("select coalesce(last_failed_wal, '') from pg_stat_archiver")) === stuck ? true : undefined), 60_000, 250);
      expect(existsSync(join(incoming, stuck))).toBe(false);
      // The first ship sees the problem; one after alertAfter (2 s here) has it last long enough to alert.
      expect((await script("wal.sh", [settings(), "ship"])).status).not.toBe(0);
      expect(listener.take("/ntfy")).toEqual([]);
      await new Promise((r) => setTimeout(r, 2100));
      const r = await script("wal.sh", [settings(), "ship"]);
      expect(r.status).not.toBe(0);
      expect(listener.take("/ntfy").map((a) => a.body).join("\n")).toMatch(new RegExp(`archive_command fails \\(last for ${stuck}`));
      // PostgreSQL still has it.
      expect(await one(`select count(*) from pg_ls_waldir() where name = '${stuck}'`)).toBe("1");
    } finally {
      rmSync(filler, { force: true });
    }
    // PostgreSQL's archiver rests a minute after three failures; a finished segment wakes it sooner.
    await sql("insert into public.while_full (v) values ('room again'); select pg_switch_wal();");
    await waitFor("archiving to catch up", async () => ((await one("select coalesce(last_archived_wal, '') from pg_stat_archiver")) >= (await one("select coalesce(last_failed_wal, '') from pg_stat_archiver")) ? true : undefined), 90_000, 500);
    const shipped = await script("wal.sh", [settings(), "ship"]);
    expect(shipped.status, shipped.stderr).toBe(0);
    expect(listener.take("/ntfy").map((a) => a.body)).toEqual([expect.stringContaining("WAL archiving works again")]);
  }, 150_000);
});

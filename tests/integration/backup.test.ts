import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BackupRig, RESTIC_PASSWORD, type ScriptResult } from "../helpers/backupRig";
import { keptTimes, type Keep } from "../helpers/retention";

/**
 * The real backup, restore and drill scripts with the real restic (Debian's
 * 0.14), on the lab's real Docker engine: `docker exec <db> pg_dump|psql` runs
 * in a container of the supabase/postgres image (bk-backup-db, published on
 * 198.51.100.30), and the tests read its state over that port. Health pings
 * and alerts go to a listener on loopback.
 */
const rig = new BackupRig("bk-backup", 30);
const listener = rig.listener;
const exec = promisify(execFile);
const settings = (o: Partial<Record<string, string>> = {}): string => rig.settings(o);
const script = (name: string, args: string[], extra: Record<string, string> = {}): Promise<ScriptResult> => rig.script(name, args, extra);
const restic = (args: string[], input?: string): string => rig.restic(args, input);
const snapshots = (kind?: string): ReturnType<BackupRig["snapshots"]> => rig.snapshots(kind);
const checksums = (db?: string): Promise<Record<string, string>> => rig.checksums(db);

beforeAll(() => rig.start(), 180_000);
afterAll(() => rig.stop());
beforeEach(() => rig.reset());

describe("backup.sh", () => {
  it("backs up roles, the database and the files, and pings start then success", async () => {
    const since = new Date();
    const r = await script("backup.sh", [settings(), "run"]);
    expect(r.stderr).toContain("backup(ops): done");
    expect(r.status).toBe(0);
    // pg_dump ran in the database's container, against the project's database.
    expect(rig.db.connectionsSince(since)).toContain("supabase_admin projectdb pg_dump");
    expect(snapshots().map((s) => s.tags.find((t) => t.startsWith("kind:"))).sort()).toEqual(["kind:database", "kind:files", "kind:roles"]);
    for (const s of snapshots()) expect(s.tags).toEqual(expect.arrayContaining(["supafleet", "project:ops"]));
    const hc = listener.take("/hc/ops-backup");
    expect(hc.map((h) => h.path)).toEqual(["/hc/ops-backup/start", "/hc/ops-backup"]);
    // healthchecks.io creates the check on its first ping.
    expect(hc.map((h) => h.query)).toEqual(["create=1", "create=1"]);
    expect(listener.take("/ntfy")).toEqual([]);
    // Uptime Kuma's push monitor for the job hears "up".
    const kuma = listener.take("/kuma/push/opsbackuptoken");
    expect(kuma.map((k) => new URLSearchParams(k.query).get("status"))).toEqual(["up"]);
    expect(new URLSearchParams(kuma[0]!.query).get("msg")).toMatch(/^backup ok at \d{4}-\d\d-\d\dT/);
  });

  it("after the database is dropped, restores it with every table checksum equal", async () => {
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    const before = await checksums();
    expect(Object.keys(before)).toEqual(["clientes", "tickets"]);
    rig.db.psql("drop database projectdb with (force);");
    const r = await script("restore.sh", [settings(), "--target", "projectdb"]);
    expect(r.stderr).toContain("database restored into projectdb");
    expect(r.status).toBe(0);
    expect(await checksums()).toEqual(before);
  });

  it("restores a dropped database with its own settings and its roles' settings in it", async () => {
    rig.db.psql("alter database projectdb set statement_timeout = '9s'; alter role authenticator in database projectdb set lock_timeout = '4s';");
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    rig.db.psql("drop database projectdb with (force);");
    // The settings name the database, so it must exist before they are applied.
    const r = await script("restore.sh", [settings(), "--target", "projectdb"]);
    expect(r.stderr).toContain("database restored into projectdb");
    expect(r.status).toBe(0);
    const c = await rig.db.client("supabase_admin", rig.db.password, "postgres");
    try {
      const rows = (await c.query(
        "select coalesce(r.rolname, '-') as role, s.setconfig from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase left join pg_roles r on r.oid = s.setrole where d.datname = 'projectdb' order by 1",
      )).rows;
      expect(rows).toEqual([
        { role: "-", setconfig: ["statement_timeout=9s"] },
        { role: "authenticator", setconfig: ["lock_timeout=4s"] },
      ]);
    } finally {
      await c.end();
    }
  });

  it("restores storage files byte for byte", async () => {
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    const out = join(rig.work, "restored-files");
    const r = await script("restore.sh", [settings(), "--target", "scratch_files", "--storage", out]);
    expect(r.status).toBe(0);
    for (const f of ["bucket/avatars/a.png", "bucket/readme.txt"]) {
      const sha = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");
      expect(sha(join(out, rig.storage, f)), f).toBe(sha(join(rig.storage, f)));
    }
    rig.db.psql("drop database scratch_files;");
  });

  it("restores in place only after a safety dump of the live database, with the privileges it had", async () => {
    // As in a Supabase project's database: whatever is made in public later is granted to the API roles
    // by default; the tables here were made before, so anon may not read them.
    rig.db.psql("alter default privileges in schema public grant all on tables to anon, authenticated;", "projectdb");
    const anonReads = async (): Promise<unknown> => {
      const c = await rig.db.client("supabase_admin", rig.db.password, "projectdb");
      try {
        return (await c.query("select has_table_privilege('anon', 'public.tickets', 'select') as r")).rows[0].r;
      } finally {
        await c.end();
      }
    };
    expect(await anonReads()).toBe(false);
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    const r = await script("restore.sh", [settings(), "--target", "projectdb"]);
    expect(r.status).toBe(0);
    // The restore recreated the tables, and their privileges are the backed-up ones, not the database's defaults.
    expect(await anonReads()).toBe(false);
    expect(r.stderr).toMatch(/safety dump of the live database: .*before-restore-\d{8}T\d{6}Z\.sql/);
    const spool = join(rig.work, "spool", "ops");
    const dump = readdirSync(spool).find((f) => f.startsWith("before-restore-"))!;
    expect(statSync(join(spool, dump)).size).toBeGreaterThan(10_000);
    expect((await script("restore.sh", [settings(), "--target", "nope_db", "--at", "2001-01-01 00:00"])).stderr).toContain("no database snapshot at or before 2001-01-01 00:00");
  });

  it("a dump that fails part-way leaves no database snapshot, pings fail, alerts and exits non-zero", async () => {
    // pg_dump's server process is terminated in the middle of a table's data.
    const r = await rig.cutOffDump(() => script("backup.sh", [settings(), "run"]));
    expect(r.stderr).toMatch(/pg_dump: error: Dumping the contents of table "filler" failed/);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the database dump failed (exit 1); no snapshot kept");
    expect(snapshots("database")).toEqual([]);
    const hc = listener.take("/hc/ops-backup");
    expect(hc.map((h) => h.path)).toEqual(["/hc/ops-backup/start", "/hc/ops-backup/fail"]);
    expect(hc[1]!.body).toContain("FAILED: the database dump failed");
    expect(listener.take("/ntfy/fleet")[0]!.body).toContain("backup failed: the database dump failed");
    const kuma = listener.take("/kuma/push/opsbackuptoken");
    expect(kuma.map((k) => new URLSearchParams(k.query).get("status"))).toEqual(["down"]);
    expect(new URLSearchParams(kuma[0]!.query).get("msg")).toContain("backup failed: the database dump failed");
    const tg = listener.take("/tg/botbot-token/sendMessage");
    expect(decodeURIComponent(tg[0]!.body.replaceAll("+", " "))).toContain("supafleet: ops: backup failed");
  });

  it("with a wrong repository password fails loudly, before dumping anything", async () => {
    const since = new Date();
    const r = await script("backup.sh", [settings({ RESTIC_PASSWORD: "wrong" }), "run"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot open the repository: .*wrong password/);
    expect(listener.take("/hc/ops-backup").map((h) => h.path)).toEqual(["/hc/ops-backup/start", "/hc/ops-backup/fail"]);
    // Nothing connected to the database at all.
    expect(rig.db.connectionsSince(since)).toEqual([]);
  });

  it("reports a corrupted pack in the check", async () => {
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    expect((await script("backup.sh", [settings(), "check", "full"])).status).toBe(0);
    const packs = readdirSync(join(rig.repo, "data")).flatMap((d) => readdirSync(join(rig.repo, "data", d)).map((f) => join(rig.repo, "data", d, f)));
    const biggest = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const fd = openSync(biggest, "r+");
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, Math.floor(statSync(biggest).size / 2));
    closeSync(fd);
    const r = await script("backup.sh", [settings(), "check", "full"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("restic check found problems");
    expect(listener.take("/hc/ops-backup").at(-1)!.path).toBe("/hc/ops-backup/fail");
  });
});

describe("retention over 400 nights", () => {
  const DAY = 86_400_000;
  const start = Date.UTC(2025, 5, 1, 3, 0, 0);
  const dates = Array.from({ length: 400 }, (_, d) => new Date(start + d * DAY));

  /** For each rule, the newest snapshot of each of the newest N periods that have one, by its day. */
  const expectedKept = (all: Date[], keep: Keep): string[] => keptTimes(all.map((d) => d.getTime()), keep).map((t) => new Date(t).toISOString().slice(0, 10));

  /**
   * The snapshots that matter for a schedule: every one it keeps, the night
   * before each (a newer neighbour must win its day, week or month), a second,
   * earlier run on the newest night, and the oldest nights, which every rule
   * has long let go. Any set that holds all the kept ones and only dates of the
   * schedule has the same newest snapshot per period, so forget must keep the same.
   */
  function decisive(all: Date[], keep: { daily: number; weekly: number; monthly: number }): Date[] {
    const kept = new Set(expectedKept(all, keep));
    const day = (d: Date): string => d.toISOString().slice(0, 10);
    const picked = all.filter((d, i) => kept.has(day(d)) || kept.has(day(all[i + 1] ?? d)) || i < 3);
    const newest = all.at(-1)!;
    return [...picked, new Date(newest.getTime() - 3_600_000)];
  }

  it("forget keeps exactly the 7 daily, 4 weekly and 6 monthly copies of 400 nights, for each kind separately", async () => {
    const cacheEnv = { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(rig.work, "restic-cache"), TZ: "UTC" };
    const keep = { daily: 7, weekly: 4, monthly: 6 };
    // 400 nightly database dumps, and files only for the last 30 nights: retention must
    // treat each kind on its own (grouped by host and tags), or the files would cost the database copies.
    const fileDates = dates.slice(-30);
    const expectedDatabase = expectedKept(dates, keep);
    const expectedFiles = expectedKept(fileDates, keep);
    expect(expectedDatabase.length).toBeGreaterThanOrEqual(14);

    // Only the decisive nights are written for real: restic spends half a second per run deriving its key.
    const dbNights = decisive(dates, keep);
    const fileNights = decisive(fileDates, keep);
    expect(expectedKept(dbNights, keep)).toEqual(expectedDatabase);
    expect(expectedKept(fileNights, keep)).toEqual(expectedFiles);
    const plan = [...dbNights.map((d) => ["database", d] as const), ...fileNights.map((d) => ["files", d] as const)];
    const backupAt = (kind: string, d: Date): Promise<void> => {
      const time = d.toISOString().replace("T", " ").slice(0, 19);
      const child = execFile("restic", ["-r", rig.repo, "backup", "--quiet", "--stdin", "--stdin-filename", `${kind}.sql`, "--host", "ops", "--tag", "supafleet", "--tag", "project:ops", "--tag", `kind:${kind}`, "--time", time], { env: cacheEnv });
      child.stdin!.end(`${kind} of ${time}\n`);
      return new Promise<void>((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`restic exited ${code}`)))));
    };
    // A few at a time: backup locks are shared, and two cores are all there is.
    for (let i = 0; i < plan.length; i += 3) await Promise.all(plan.slice(i, i + 3).map(([kind, d]) => backupAt(kind, d)));
    expect(snapshots().length).toBe(plan.length);

    const r = await script("backup.sh", [settings(), "forget"]);
    expect(r.stderr).toContain("retention applied");
    expect(r.status).toBe(0);

    const kept = (kind: string): string[] => snapshots(kind).map((s) => s.time.slice(0, 10)).sort();
    expect(kept("database")).toEqual(expectedDatabase);
    expect(kept("files")).toEqual(expectedFiles);
    // Every decisive night that is not kept is gone.
    expect(snapshots().length).toBe(expectedDatabase.length + expectedFiles.length);
    expect(plan.length - snapshots().length).toBeGreaterThanOrEqual(15);
    await exec("restic", ["-r", rig.repo, "check"], { env: cacheEnv });
  }, 120_000);
});

describe("drill.sh", () => {
  it("restores the latest backup into a scratch database, finds it matches, and reports RPO and RTO", async () => {
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    const r = await script("drill.sh", [settings()]);
    expect(r.stderr).toMatch(/restored snapshot \w+ \(taken [^)]+\) into supafleet_drill: 2 tables match the recorded figures; RPO \d+ min, RTO \d+s/);
    expect(r.status).toBe(0);
    const hc = listener.take("/hc/ops-drill");
    expect(hc.map((h) => h.path)).toEqual(["/hc/ops-drill/start", "/hc/ops-drill"]);
    expect(hc[1]!.body).toContain("2 tables match the recorded figures");
  });

  it("detects a restore that does not match what was recorded at dump time", async () => {
    expect((await script("backup.sh", [settings(), "run"])).status).toBe(0);
    // A snapshot whose data lost a row after its figures were recorded.
    const latest = snapshots("database").at(-1)!;
    const dump = restic(["dump", latest.short_id, "/database.sql"]);
    const tampered = dump.replace(/^\d+\t\d+\tticket 200\t.*\n/m, "");
    expect(tampered.length).toBeLessThan(dump.length);
    restic(["backup", "--stdin", "--stdin-filename", "database.sql", "--host", "ops", "--tag", "supafleet", "--tag", "project:ops", "--tag", "kind:database"], tampered);
    const r = await script("drill.sh", [settings()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED: the restored database does not match what was recorded when snapshot \w+ was taken/);
    const hc = listener.take("/hc/ops-drill");
    expect(hc.at(-1)!.path).toBe("/hc/ops-drill/fail");
    expect(hc.at(-1)!.body).toMatch(/public\.tickets: recorded \{"checksum":"\d+","newest":"[^"]+","rows":3000\} restored \{"checksum":"\d+","newest":"[^"]+","rows":2999\}/);
    expect(listener.take("/ntfy/fleet")[0]!.body).toContain("restore drill failed");
  });
});

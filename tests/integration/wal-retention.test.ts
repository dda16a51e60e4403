import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { RESTIC_PASSWORD, SCRIPTS } from "../helpers/backupRig";
import { initRepository } from "../helpers/resticFastKey";
import { keptTimes } from "../helpers/retention";

/**
 * Retention of the continuous WAL archive (issue 26), with the real scripts and
 * the real restic (Debian's 0.14) on a local repository; no database, no Docker.
 * 240 nights of a project, with fake times: a complete base backup each night at
 * 02:30 UTC, tagged as backup.sh tags it (only the nights that decide what is kept
 * are written: the last 40, the kept ones, every tenth), and the WAL as wal.sh
 * keeps it (a wal:day snapshot per closed UTC day from ten days before the oldest
 * kept base backup, every tenth before, wal:part snapshots of the
 * last two days and around the oldest base backup that retention keeps, one
 * wal:history snapshot). `backup.sh forget` must then keep exactly the 7 daily,
 * 4 weekly and 6 monthly base backups (computed here without restic), exactly the
 * WAL that the oldest of them needs (every day that ends after it begins, every
 * part shipped after it, the history files) and nothing else; every kept base
 * backup must find every day of WAL from its own day to the last one; and a
 * second forget must change nothing. Without any complete base backup, no WAL goes.
 */
const exec = promisify(execFile);
const DAY = 86_400_000;
const MINUTE = 60_000;
const SECOND = 1_000;
const HOUR = 3_600_000;
const KEEP = { daily: 7, weekly: 4, monthly: 6 };

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "supafleet-wal-retention-"));
});
afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

type Kind = "base" | "day" | "part" | "history";

/** One snapshot to write: its stdin file name (unique, so it names the snapshot), time and tags. */
interface Planned {
  readonly name: string;
  readonly kind: Kind;
  readonly time: number;
  readonly tags: readonly string[];
  /** The UTC day (YYYYMMDD) of a wal:day or wal:part snapshot. */
  readonly day?: string;
}

interface Snapshot {
  readonly id: string;
  readonly time: string;
  readonly paths: string[];
  readonly tags?: string[];
}

const ymd = (t: number): string => new Date(t).toISOString().slice(0, 10).replaceAll("-", "");
const dayStartOf = (t: number): number => Math.floor(t / DAY) * DAY;
const stamp = (t: number): string => new Date(t).toISOString().slice(0, 19).replaceAll("-", "").replaceAll(":", "");
/** The end of a UTC day given as YYYYMMDD: 00:00 of the next. */
const dayEnd = (day: string): number => Date.parse(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00Z`) + DAY;
const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, "0");

/** A job's repository of its own, its settings (with WAL_SPOOL, without a database) and its environment. */
function job(name: string): { repo: string; settings: string; env: NodeJS.ProcessEnv } {
  const dir = join(work, name);
  mkdirSync(dir);
  const repo = join(dir, "repo");
  initRepository(repo, RESTIC_PASSWORD);
  const spool = join(dir, "spool");
  mkdirSync(spool);
  const settings = join(dir, "ops.env");
  const text = renderBackupEnv({
    name: "ops",
    repository: repo,
    resticPassword: RESTIC_PASSWORD,
    paths: [],
    retention: KEEP,
    wal: { spool, alertAfterSeconds: 180, pgWalLimitMiB: 1024 },
  });
  expect(text).toContain("WAL_SPOOL=");
  expect(text).not.toContain("DB_CONTAINER=");
  writeFileSync(settings, text, { mode: 0o600 });
  const env = {
    ...process.env,
    RESTIC_PASSWORD,
    RESTIC_CACHE_DIR: join(dir, "restic-cache"),
    SUPAFLEET_LOCK_DIR: dir,
    TZ: "UTC",
    // A lock left behind fails the test in seconds, not after the scripts' five minutes.
    SUPAFLEET_LOCK_WAIT: "15",
  };
  return { repo, settings, env };
}

/**
 * Writes every planned snapshot with its fake time. A restic run sleeps 200 ms after taking its lock,
 * so the runs are spread over lanes that each write to a repository of their own, and the lanes'
 * files are then merged into `repo`: every repository that initRepository makes has the same master
 * key and ID, so their packs, indexes and snapshots are valid in any of them. Not several runs on one
 * repository: restic 0.14 running concurrently there now and then stalled for about 43 s (seen while
 * writing this test, in one run of some tens), it seems retrying to read a lock that another run had
 * just removed.
 */
async function write(repo: string, env: NodeJS.ProcessEnv, plan: readonly Planned[], lanes = 8): Promise<void> {
  // Hundreds of short runs: Go's runtime with one thread and no collector costs about a third less CPU
  // each, and one bash per lane starts them (forking the test's node process for each cost more).
  const writeEnv = { ...env, GOMAXPROCS: "1", GOGC: "off" };
  const q = (v: string): string => `'${v.replaceAll("'", "'\\''")}'`;
  const command = (laneRepo: string, p: Planned): string => {
    const time = new Date(p.time).toISOString().replace("T", " ").slice(0, 19);
    const args = ["-r", laneRepo, "--no-cache", "backup", "--quiet", "--stdin", "--stdin-filename", p.name, "--host", "ops", "--time", time, ...p.tags.flatMap((t) => ["--tag", t])];
    return `printf '%s\\n' ${q(`${p.name} shipped at ${time}`)} | restic ${args.map(q).join(" ")} || { echo "restic backup of ${p.name} exited $?" >&2; exit 1; }`;
  };
  const lane = (laneRepo: string, items: readonly Planned[]): Promise<unknown> =>
    exec("bash", ["-c", items.map((p) => command(laneRepo, p)).join("\n")], { env: writeEnv, maxBuffer: 1 << 24 });
  const laneRepos = Array.from({ length: Math.min(lanes, plan.length) }, (_, i) => `${repo}-lane${i}`);
  for (const l of laneRepos) initRepository(l, RESTIC_PASSWORD);
  await Promise.all(laneRepos.map((l, i) => lane(l, plan.filter((_, j) => j % laneRepos.length === i))));
  for (const l of laneRepos) {
    for (const dir of ["data", "index", "snapshots"]) cpSync(join(l, dir), join(repo, dir), { recursive: true });
    rmSync(l, { recursive: true, force: true });
  }
}

async function snapshots(repo: string, env: NodeJS.ProcessEnv): Promise<Snapshot[]> {
  const { stdout } = await exec("restic", ["-r", repo, "snapshots", "--json"], { env, maxBuffer: 1 << 26 });
  return JSON.parse(stdout || "[]") as Snapshot[];
}

const nameOf = (s: Snapshot): string => s.paths[0]!.replace(/^\//, "");

async function forget(settings: string, env: NodeJS.ProcessEnv): Promise<{ status: number; stderr: string }> {
  try {
    const { stderr } = await exec("bash", [join(SCRIPTS, "backup.sh"), settings, "forget"], { env, timeout: 120_000, maxBuffer: 1 << 24 });
    return { status: 0, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string };
    return { status: typeof err.code === "number" ? err.code : -1, stderr: err.stderr ?? "" };
  }
}

/** Of snapshot times, those the daily, weekly and monthly rules keep. */
const expectedKept = (times: readonly number[]): number[] => keptTimes(times, KEEP);

/** Snapshots of the WAL as wal.sh makes them: a part at `t`, a closed day folded at 00:05 the next day, the history files. */
const part = (t: number): Planned => ({ name: `wal-part-${stamp(t)}`, kind: "part", time: t, day: ymd(t), tags: ["wal", "wal:part", `day:${ymd(t)}`] });
const folded = (dayStart: number): Planned => ({
  name: `wal-day-${ymd(dayStart)}`,
  kind: "day",
  time: dayStart + DAY + 5 * MINUTE,
  day: ymd(dayStart),
  tags: ["wal", "wal:day", `day:${ymd(dayStart)}`],
});
const history = (t: number): Planned => ({ name: "wal-history", kind: "history", time: t, tags: ["wal", "wal:history"] });
/** A complete base backup as backup.sh leaves it: begun at `t`, stopped 20 minutes later, from segment number `segment`. */
const base = (t: number, segment: number): Planned => ({
  name: `base-${ymd(t)}.tar`,
  kind: "base",
  time: t,
  tags: ["supafleet", "project:ops", "kind:base", `base-stop:${(t + 20 * MINUTE) / SECOND}`, `base-wal:00000001${hex8(Math.floor(segment / 256))}${hex8(segment % 256)}`],
});

describe("WAL retention over 240 nights", () => {
  const NIGHTS = 240;
  const first = Date.UTC(2025, 2, 3); // a Monday, 00:00 UTC
  const days = Array.from({ length: NIGHTS }, (_, d) => first + d * DAY);
  const last = days.at(-1)!;
  const baseAt = (dayStart: number): number => dayStart + 2 * HOUR + 30 * MINUTE;
  const nightly = days.map((d, i) => base(baseAt(d), 1_000 + i * 37));
  // What retention must keep of a base backup every night, computed without restic, and the WAL the oldest of them needs.
  const keptBaseTimes = expectedKept(nightly.map((b) => b.time));
  const oldestKept = keptBaseTimes[0]!;
  // Each restic run costs; only the nights that matter are written: the last 40 (every daily and weekly
  // choice is among them), every night retention keeps, and every tenth to be forgotten. Of a subset that
  // holds each kept night, retention keeps the same nights (the test below checks it).
  const bases = nightly.filter((b, i) => b.time > last - 40 * DAY || keptBaseTimes.includes(b.time) || i % 10 === 0);

  // The last day is today: it is not over, so its WAL is in parts only (the run is at 03:00, after its base
  // backup). The day before was folded at 00:05, and its parts are still there (a fold whose forget failed:
  // they go with a later ship). Parts fall just before and just after each base backup's start, and
  // around the start of the oldest base backup that retention keeps, where the rule cuts.
  const yesterday = last - DAY;
  const around = (t: number): number[] => [t - SECOND, t + SECOND];
  const partTimes = [
    ...[MINUTE, 2 * HOUR + 29 * MINUTE, 2 * HOUR + 31 * MINUTE, 12 * HOUR, DAY - 30 * SECOND].map((o) => yesterday + o),
    ...around(baseAt(yesterday)),
    ...[MINUTE, 2 * HOUR + 29 * MINUTE, 2 * HOUR + 40 * MINUTE].map((o) => last + o),
    ...around(baseAt(last)),
    ...[-MINUTE, -SECOND, SECOND, MINUTE].map((o) => oldestKept + o),
  ];
  // Every day's WAL from ten days before the oldest kept base backup on, and every tenth day before.
  const foldedDays = days.slice(0, -1).filter((d, i) => d >= oldestKept - 10 * DAY || i % 10 === 0);
  const wal: Planned[] = [history(first + 10 * MINUTE), ...foldedDays.map(folded), ...partTimes.map(part)];
  const plan = [...bases, ...wal];

  // What the WAL rule keeps: a folded day that ends after the oldest kept base backup began, a part
  // shipped after it began, and the history files, whatever their age.
  const expectedWal = wal
    .filter((w) => w.kind === "history" || (w.kind === "day" && dayEnd(w.day!) > oldestKept) || (w.kind === "part" && w.time > oldestKept))
    .map((w) => w.name)
    .sort();
  const expectedBases = bases.filter((b) => keptBaseTimes.includes(b.time)).map((b) => b.name).sort();

  it("the plan is what the rules need to be seen at work", () => {
    expect(new Set(plan.map((p) => p.name)).size).toBe(plan.length);
    // The nights written keep what every night would have kept.
    expect(expectedKept(bases.map((b) => b.time))).toEqual(keptBaseTimes);
    // The last night is Tuesday 28 October 2025: the nights of 22 to 28 October; of the weeks, also Sundays
    // 19 and 12 October (26 October is a daily one); of the months, also the last nights of September back to May.
    expect(expectedBases).toEqual(
      ["20250531", "20250630", "20250731", "20250831", "20250930", "20251012", "20251019", ...[22, 23, 24, 25, 26, 27, 28].map((d) => `202510${d}`)].map((d) => `base-${d}.tar`),
    );
    // The oldest kept base backup is months back, and older WAL, parts included, is there to be forgotten.
    expect(last - oldestKept).toBeGreaterThan(140 * DAY);
    expect(wal.length - expectedWal.length).toBeGreaterThan(10);
    expect(wal.filter((w) => w.kind === "part" && !expectedWal.includes(w.name))).toHaveLength(2);
  });

  it("forget keeps the 7 daily, 4 weekly and 6 monthly base backups, exactly the WAL the oldest needs, and nothing else", async () => {
    const { repo, settings, env } = job("long");
    await write(repo, env, plan);
    const before = await snapshots(repo, env);
    expect(before).toHaveLength(plan.length);

    const r = await forget(settings, env);
    expect(r.stderr).toContain("retention applied");
    expect(r.status).toBe(0);
    const after = await snapshots(repo, env);
    const names = (kinds: (s: Snapshot) => boolean): string[] => after.filter(kinds).map(nameOf).sort();
    const has = (tag: string) => (s: Snapshot): boolean => (s.tags ?? []).includes(tag);

    // 1. The base backups: exactly the 7/4/6 computed above.
    expect(names(has("kind:base"))).toEqual(expectedBases);
    // 2. The WAL: exactly what the oldest kept base backup needs.
    expect(names(has("wal"))).toEqual(expectedWal);
    expect(after).toHaveLength(expectedBases.length + expectedWal.length);
    // Each kept snapshot is the one that was written, tags and time unchanged.
    const planned = new Map(plan.map((p) => [p.name, p]));
    for (const s of after) {
      const p = planned.get(nameOf(s))!;
      expect([...(s.tags ?? [])].sort(), p.name).toEqual([...p.tags].sort());
      expect(Date.parse(s.time), p.name).toBe(p.time);
    }

    // 3. Whatever the numbers: every kept base backup finds WAL for each day from its own to the last.
    const walDays = new Set(after.filter((s) => has("wal:day")(s) || has("wal:part")(s)).flatMap((s) => (s.tags ?? []).filter((t) => t.startsWith("day:")).map((t) => t.slice(4))));
    for (const b of after.filter(has("kind:base"))) {
      for (let d = dayStartOf(Date.parse(b.time)); d <= last; d += DAY) expect(walDays.has(ymd(d)), `WAL of ${ymd(d)} for base backup ${nameOf(b)}`).toBe(true);
      // And every part shipped after it began.
      for (const w of wal.filter((x) => x.kind === "part" && x.time > Date.parse(b.time))) expect(names(has("wal:part")), `part ${w.name} after ${nameOf(b)}`).toContain(w.name);
    }
    expect(names(has("wal:history"))).toEqual(["wal-history"]);

    // 4. A second forget changes nothing.
    const again = await forget(settings, env);
    expect(again.stderr).toContain("retention applied");
    expect(again.status).toBe(0);
    expect((await snapshots(repo, env)).map((s) => s.id).sort()).toEqual(after.map((s) => s.id).sort());
    await exec("restic", ["-r", repo, "check"], { env });
  }, 120_000);
});

describe("WAL retention without a base backup", () => {
  const first = Date.UTC(2025, 9, 1);
  const wal = [history(first + MINUTE), ...[0, 1, 2].map((d) => folded(first + d * DAY)), ...[1, 2, 3].map((h) => part(first + 3 * DAY + h * HOUR))];

  it("keeps every WAL snapshot when there is no base backup at all", async () => {
    const { repo, settings, env } = job("none");
    await write(repo, env, wal);
    const r = await forget(settings, env);
    expect(r.stderr).toContain("retention applied");
    expect(r.status).toBe(0);
    expect((await snapshots(repo, env)).map(nameOf).sort()).toEqual(wal.map((w) => w.name).sort());
  }, 60_000);

  it("keeps every WAL snapshot when the only base backup is still pending", async () => {
    const { repo, settings, env } = job("pending");
    const pending: Planned = { name: "base.tar", kind: "base", time: first + 3 * DAY + 2 * HOUR + 30 * MINUTE, tags: ["supafleet", "project:ops", "kind:base", "pending"] };
    await write(repo, env, [...wal, pending]);
    const r = await forget(settings, env);
    expect(r.stderr).toContain("retention applied");
    expect(r.status).toBe(0);
    expect((await snapshots(repo, env)).filter((s) => (s.tags ?? []).includes("wal")).map(nameOf).sort()).toEqual(wal.map((w) => w.name).sort());
  }, 60_000);
});

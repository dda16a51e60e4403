import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { docker } from "../lab/engine";
import { BackupRig, RESTIC_PASSWORD } from "../helpers/backupRig";
import { DB_IMAGE } from "../helpers/labDb";
import { useFastKey } from "../helpers/resticFastKey";

/**
 * Staging drills prod: drill.sh on a staging worker restores prod's latest
 * snapshot into a throwaway database container, reading prod's repository
 * through its read-only credential (here: the repository mounted read-only and
 * a restic key of the reader's own), compares it with the figures recorded at
 * backup time, reports to staging's health check, and throws the container away.
 * All on the lab's real Docker engine: prod's database is a container of the
 * supabase/postgres image (bk-drill-db, 198.51.100.36), and the throwaway is a
 * real `docker run` of that image, as on a staging worker.
 */
const rig = new BackupRig("bk-drill", 36);
const READER_KEY = "prod reader key for staging";
/** The drill job's name: its throwaway container is supafleet-drill-<job>. */
const JOB = "bk-prod-ops";
const THROWAWAY = `supafleet-drill-${JOB}`;
let readOnly: string;

beforeAll(() => rig.start(), 180_000);
afterAll(async () => {
  spawnSync("umount", [readOnly]);
  await rig.stop();
});
beforeEach(() => {
  spawnSync("umount", [readOnly ?? "/nonexistent"]);
  rig.reset();
  writeFileSync(join(rig.work, "reader-key"), READER_KEY);
  expect(spawnSync("restic", ["-r", rig.repo, "key", "add", "--new-password-file", join(rig.work, "reader-key")], { env: { ...process.env, RESTIC_PASSWORD } }).status).toBe(0);
  useFastKey(rig.repo, READER_KEY);
});

function mountReadOnly(): void {
  readOnly = join(rig.work, "prod-repo-read-only");
  mkdirSync(readOnly, { recursive: true });
  expect(spawnSync("mount", ["--bind", rig.repo, readOnly]).status).toBe(0);
  expect(spawnSync("mount", ["-o", "remount,bind,ro", readOnly]).status).toBe(0);
}

function drillSettings(image = DB_IMAGE): string {
  const file = join(rig.work, "prod-ops.env");
  const text = renderBackupEnv({
    name: JOB,
    repository: readOnly,
    resticPassword: READER_KEY,
    readOnly: true,
    snapshotHost: "ops",
    drillImage: image,
    paths: [],
    retention: { daily: 7, weekly: 4, monthly: 6 },
    drillHcUrl: rig.listener.url("/hc/staging-drill-prod-ops"),
    ntfyUrl: rig.listener.url("/ntfy/staging"),
  });
  writeFileSync(file, text + "DB_NAME='projectdb'\n", { mode: 0o600 });
  return file;
}

const throwawayGone = (): boolean => docker(["ps", "-aq", "--filter", `name=^${THROWAWAY}$`]).stdout.trim() === "";
/** What the engine did with the throwaway container since `since`: create, start, …, destroy. */
const throwawayEvents = (since: Date): string[] =>
  docker(["events", "--since", since.toISOString(), "--until", new Date().toISOString(), "--filter", "type=container", "--filter", `container=${THROWAWAY}`, "--format", "{{.Action}}"])
    .stdout.split("\n")
    .filter((a) => ["create", "start", "die", "destroy"].includes(a));

describe("the monthly drill of prod, run in staging", () => {
  it("restores prod's latest snapshot into a throwaway database, finds it matches, reports, and removes the container", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    mountReadOnly();
    const before = readdirSync(rig.repo, { recursive: true }).map(String).sort();
    const since = new Date();
    const r = await rig.script("drill.sh", [drillSettings()]);
    expect(r.stderr).toMatch(/drill\(bk-prod-ops\): restored snapshot \w+ \(taken [^)]+\) into supafleet_drill: 2 tables match the recorded figures; RPO \d+ min, RTO \d+s/);
    expect(r.status).toBe(0);
    expect(rig.listener.take("/hc/staging-drill-prod-ops").map((h) => h.path)).toEqual(["/hc/staging-drill-prod-ops/start", "/hc/staging-drill-prod-ops"]);
    // A container of the image was created, ran and was removed; prod's own database was never connected to.
    expect(throwawayEvents(since)).toEqual(["create", "start", "die", "destroy"]);
    expect(throwawayGone()).toBe(true);
    expect(rig.db.connectionsSince(since)).toEqual([]);
    // The reader wrote nothing: no lock, no snapshot.
    expect(readdirSync(rig.repo, { recursive: true }).map(String).sort()).toEqual(before);
  }, 120_000);

  it("fails, alerts and still removes the container when the restore does not match", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    const latest = rig.snapshots("database").at(-1)!;
    const dump = rig.restic(["dump", latest.short_id, "/database.sql"]);
    rig.restic(["backup", "--stdin", "--stdin-filename", "database.sql", "--host", "ops", "--tag", "supafleet", "--tag", "project:ops", "--tag", "kind:database"], dump.replace(/^\d+\t\d+\tticket 17\t.*\n/m, ""));
    mountReadOnly();
    const since = new Date();
    const r = await rig.script("drill.sh", [drillSettings()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED: the restored database does not match what was recorded/);
    expect(rig.listener.take("/hc/staging-drill-prod-ops").at(-1)!.path).toBe("/hc/staging-drill-prod-ops/fail");
    expect(rig.listener.take("/ntfy/staging")[0]!.body).toContain("restore drill failed");
    expect(throwawayEvents(since)).toContain("destroy");
    expect(throwawayGone()).toBe(true);
  }, 120_000);

  it("reports a throwaway that cannot start (an image this worker cannot get): fails, alerts, leaves no container", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    mountReadOnly();
    // Nothing can be pulled here, as from a worker whose registry is down: the real docker run fails.
    const r = await rig.script("drill.sh", [drillSettings("supabase/postgres:0.0.0-bk-not-here")]);
    expect(r.stderr).toMatch(/FAILED: cannot start a throwaway database from supabase\/postgres:0\.0\.0-bk-not-here/);
    expect(r.status).toBe(1);
    expect(rig.listener.take("/hc/staging-drill-prod-ops").map((h) => h.path)).toEqual(["/hc/staging-drill-prod-ops/start", "/hc/staging-drill-prod-ops/fail"]);
    expect(rig.listener.take("/ntfy/staging")[0]!.body).toContain("restore drill failed: cannot start a throwaway database");
    expect(throwawayGone()).toBe(true);
  }, 120_000);
});

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { BackupRig, RESTIC_PASSWORD } from "../helpers/backupRig";
import { useFastKey } from "../helpers/resticFastKey";

/**
 * Staging drills prod: drill.sh on a staging worker restores prod's latest
 * snapshot into a throwaway database container, reading prod's repository
 * through its read-only credential (here: the repository mounted read-only and
 * a restic key of the reader's own), compares it with the figures recorded at
 * backup time, reports to staging's health check, and throws the container away.
 */
const rig = new BackupRig();
const READER_KEY = "prod reader key for staging";
let readOnly: string;

beforeAll(() => rig.start(), 120_000);
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

function drillSettings(): string {
  const file = join(rig.work, "prod-ops.env");
  const text = renderBackupEnv({
    name: "prod-ops",
    repository: readOnly,
    resticPassword: READER_KEY,
    readOnly: true,
    snapshotHost: "ops",
    drillImage: "supabase/postgres:15.8.1.085",
    paths: [],
    retention: { daily: 7, weekly: 4, monthly: 6 },
    drillHcUrl: rig.listener.url("/hc/staging-drill-prod-ops"),
    ntfyUrl: rig.listener.url("/ntfy/staging"),
  });
  writeFileSync(file, text + "DB_NAME='projectdb'\n", { mode: 0o600 });
  return file;
}

const throwawayGone = (): boolean => !existsSync(join(rig.work, "supafleet-drill-prod-ops.pghost")) && spawnSync("pgrep", ["-f", "supafleet-throwaway-"]).status !== 0;

describe("the monthly drill of prod, run in staging", () => {
  it("restores prod's latest snapshot into a throwaway database, finds it matches, reports, and removes the container", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    mountReadOnly();
    const before = readdirSync(rig.repo, { recursive: true }).map(String).sort();
    const r = await rig.script("drill.sh", [drillSettings()]);
    expect(r.stderr).toMatch(/drill\(prod-ops\): restored snapshot \w+ \(taken [^)]+\) into supafleet_drill: 2 tables match the recorded figures; RPO \d+ min, RTO \d+s/);
    expect(r.status).toBe(0);
    expect(rig.listener.take("/hc/staging-drill-prod-ops").map((h) => h.path)).toEqual(["/hc/staging-drill-prod-ops/start", "/hc/staging-drill-prod-ops"]);
    expect(throwawayGone()).toBe(true);
    // The reader wrote nothing: no lock, no snapshot.
    expect(readdirSync(rig.repo, { recursive: true }).map(String).sort()).toEqual(before);
  }, 120_000);

  it("fails, alerts and still removes the container when the restore does not match", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    const latest = rig.snapshots("database").at(-1)!;
    const dump = rig.restic(["dump", latest.short_id, "/database.sql"]);
    rig.restic(["backup", "--stdin", "--stdin-filename", "database.sql", "--host", "ops", "--tag", "supafleet", "--tag", "project:ops", "--tag", "kind:database"], dump.replace(/^\d+\t\d+\tticket 17\t.*\n/m, ""));
    mountReadOnly();
    const r = await rig.script("drill.sh", [drillSettings()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED: the restored database does not match what was recorded/);
    expect(rig.listener.take("/hc/staging-drill-prod-ops").at(-1)!.path).toBe("/hc/staging-drill-prod-ops/fail");
    expect(rig.listener.take("/ntfy/staging")[0]!.body).toContain("restore drill failed");
    expect(throwawayGone()).toBe(true);
  }, 120_000);
});

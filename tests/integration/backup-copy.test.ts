import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BackupRig, RESTIC_PASSWORD } from "../helpers/backupRig";
import { useFastKey } from "../helpers/resticFastKey";

/**
 * The second copy (backups.copy): after each night's run every snapshot goes
 * to a second repository with its own password and retention, with restic
 * copy. Here the second repository is a local one; in production it is an S3
 * bucket, which restic reaches the same way. The database is a container of
 * the supabase/postgres image on the lab's Docker engine (bk-copy-db,
 * 198.51.100.32), dumped and restored through `docker exec`.
 */
const rig = new BackupRig("bk-copy", 32);
const COPY_PASSWORD = "the second copy own password";
let copyRepo: string;

beforeAll(() => rig.start(), 180_000);
afterAll(() => rig.stop());
beforeEach(() => {
  rig.reset();
  copyRepo = `${rig.repo}-copy`;
  // As backup-enable initialises it: the same chunking as the first, so that copies deduplicate.
  writeFileSync(join(rig.work, "source-password"), RESTIC_PASSWORD);
  const init = spawnSync("restic", ["-r", copyRepo, "init", "--copy-chunker-params", "--from-repo", rig.repo, "--from-password-file", join(rig.work, "source-password")], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD: COPY_PASSWORD } });
  expect(init.status, init.stderr).toBe(0);
  useFastKey(copyRepo, COPY_PASSWORD);
});

const copySettings = (extra: Record<string, string> = {}): string => rig.settings({ COPY_REPOSITORY: copyRepo, COPY_PASSWORD, COPY_HC_URL: rig.listener.url("/hc/ops-copy"), COPY_KEEP_DAILY: "14", ...extra });

describe("the second copy", () => {
  it("holds every snapshot of the night, and restores on its own", async () => {
    const before = await rig.checksums();
    const r = await rig.script("backup.sh", [copySettings(), "run"]);
    expect(r.stderr).toContain("second copy: up to date");
    expect(r.status).toBe(0);
    const kinds = (repo: string, password: string): string[] =>
      (JSON.parse(spawnSync("restic", ["-r", repo, "snapshots", "--json"], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD: password } }).stdout) as { tags: string[] }[]).map((s) => s.tags.find((t) => t.startsWith("kind:"))!).sort();
    expect(kinds(copyRepo, COPY_PASSWORD)).toEqual(kinds(rig.repo, RESTIC_PASSWORD));
    expect(rig.listener.take("/hc/ops-copy").map((h) => h.path)).toEqual(["/hc/ops-copy/start", "/hc/ops-copy"]);

    // Losing the Storage Box loses nothing: the copy alone brings the database back.
    rig.db.psql("drop database projectdb with (force);");
    const restored = await rig.script("restore.sh", [rig.settings({ RESTIC_REPOSITORY: copyRepo, RESTIC_PASSWORD: COPY_PASSWORD }), "--target", "projectdb"]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(await rig.checksums()).toEqual(before);
  }, 120_000);

  it("a failing copy alerts on its own channel and fails the run, after the backup itself succeeded", async () => {
    const r = await rig.script("backup.sh", [copySettings({ COPY_PASSWORD: "wrong" }), "run"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("backup(ops): done");
    expect(r.stderr).toMatch(/cannot open the second repository: wrong password/);
    expect(rig.listener.take("/hc/ops-backup").map((h) => h.path)).toEqual(["/hc/ops-backup/start", "/hc/ops-backup"]);
    expect(rig.listener.take("/hc/ops-copy").map((h) => h.path)).toEqual(["/hc/ops-copy/start", "/hc/ops-copy/fail"]);
    expect(rig.listener.take("/ntfy/fleet")[0]!.body).toMatch(/^second copy failed: cannot open the second repository/);
    const kuma = rig.listener.take("/kuma/push/opsbackuptoken").map((k) => new URLSearchParams(k.query).get("status"));
    expect(kuma).toEqual(["up", "down"]);
  }, 120_000);
});

import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { projectPorts } from "../../src/model/ports";
import { fillTemplate } from "../../src/render/templates";
import { projectCompose, renderCompose } from "../../src/supabase/compose";
import { RELEASES } from "../../src/supabase/releases";
import { BackupRig, FAKES, RESTIC_PASSWORD, SCRIPTS, type ScriptResult } from "../helpers/backupRig";
import { freePort } from "../helpers/postgres";

/**
 * Upgrading and removing a project (seed 000 §9) with the real deploy and remove scripts,
 * the real backup script and restic (Debian's 0.14), a real PostgreSQL 15 as
 * the project's database, the fake `docker` (no engine here) and a stand-in
 * gateway that accepts only the anon key in the live .env.
 */
const PROJECT = "ops";
const OLD_KEY = "anon-key-2026-02";
const NEW_KEY = "anon-key-after-rotation";
const rig = new BackupRig();
let gateway: ChildProcess;
let gatewayPort = 0;
let root = "";

const dir = (...p: string[]): string => join(root, "projects", PROJECT, ...p);
const read = (path: string): string => readFileSync(path, "utf8");
const compose = (release: string, broken = false): string => {
  const c = projectCompose({ project: PROJECT, release: RELEASES[release]!, bindAddress: "10.100.0.2", ports: projectPorts(1), accessTokenHook: true });
  const text = renderCompose({ ...c, "x-supafleet": { release, "config-sha256": "0".repeat(64) } });
  return broken ? text.replace(/image: supabase\/gotrue:\S+/, "image: supabase/gotrue:v9.9.9-broken") : text;
};

function sh(script: string, stdin: string, extra: Record<string, string> = {}): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const env = rig.env({
      SUPAFLEET_ROOT: root,
      SUPAFLEET_LIB: SCRIPTS,
      SUPAFLEET_WAIT_TIMEOUT: "5",
      SUPAFLEET_PROBE_TRIES: "2",
      SUPAFLEET_PROBE_INTERVAL: "0.2",
      FAKE_DOCKER_STATE: join(root, "docker"),
      ...extra,
    });
    const child = execFile("bash", ["-c", script], { encoding: "utf8", env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
    // A script that never reads its stdin may exit before the write lands: that EPIPE is no failure.
    child.stdin!.on("error", () => {});
    child.stdin!.end(stdin);
  });
}
const deploy = (text: string, extra: Record<string, string> = {}): Promise<ScriptResult> =>
  sh(fillTemplate("worker/project-deploy.sh", { project: PROJECT, gateway: `127.0.0.1:${gatewayPort}` }), text, { SUPAFLEET_BACKUP_CONFIG: rig.settings(), ...extra });
const configure = async (anonKey: string, kong: string): Promise<void> => {
  const r = await sh(fillTemplate("worker/project-config.sh", { project: PROJECT }), JSON.stringify({ env: `ANON_KEY="${anonKey}"\nJWT_EXPIRY=3600\n`, kong }));
  expect(r.status, r.stderr).toBe(0);
};
const probe = async (key: string): Promise<number> => (await fetch(`http://127.0.0.1:${gatewayPort}/rest/v1/`, { headers: { apikey: key, authorization: `Bearer ${key}` } })).status;

beforeAll(async () => {
  await rig.start();
  gatewayPort = await freePort();
  gateway = spawn(process.execPath, [join(FAKES, "gateway.mjs"), String(gatewayPort), OLD_KEY], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => gateway.stdout!.once("data", resolve));
}, 120_000);
afterAll(async () => {
  gateway?.kill("SIGKILL");
  await rig.stop();
});
beforeEach(async () => {
  rig.reset();
  root = mkdtempSync(join(rig.work, "root-"));
  await sh("mkdir -p \"$FAKE_DOCKER_STATE\" && touch \"$FAKE_DOCKER_LOG\"", "");
  const assets = await sh(fillTemplate("worker/project-assets.sh", { project: PROJECT }), JSON.stringify({ files: { "functions/hello/index.ts": "export {};\n" } }));
  expect(assets.status, assets.stderr).toBe(0);
  await configure(OLD_KEY, "kong: 2026.02\n");
  const first = await deploy(compose("2026.02"));
  expect(first.status, first.stderr).toBe(0);
  rmSync(join(rig.work, "docker.log"), { force: true });
});

describe("upgrading a project's release", () => {
  it("an upgrade that also changes .env and fails its health gate puts back the previous images, .env and kong.yml, stays healthy, and says why", async () => {
    await configure(NEW_KEY, "kong: 2026.08\n");
    const r = await deploy(compose("2026.08", true));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("services did not become healthy within 5s");
    expect(r.stderr).toContain("the new release failed its health gate; rolled back to the previous images, .env and kong.yml, which are healthy");
    // What runs and what is live are the old release's, as one unit.
    expect(read(join(root, "docker", "running.yaml"))).toBe(compose("2026.02"));
    expect(read(dir("releases", "current", "compose.yaml"))).toBe(compose("2026.02"));
    expect(read(dir("secrets", ".env"))).toContain(`ANON_KEY="${OLD_KEY}"`);
    expect(read(dir("secrets", "kong.yml")).trim()).toBe("kong: 2026.02");
    expect(await probe(OLD_KEY)).toBe(200);
    // The failed release is kept, with its own secrets, for a look.
    expect(read(dir("releases", "failed", "compose.yaml"))).toBe(compose("2026.08", true));
    expect(read(dir("secrets", "failed", "kong.yml")).trim()).toBe("kong: 2026.08");
    // The pre-upgrade snapshot is in the repository, and the message says how to go back to it.
    const pre = rig.snapshots("database").filter((s) => s.tags.includes("pre-upgrade"));
    expect(pre).toHaveLength(1);
    expect(r.stderr).toContain(`pre-upgrade snapshot ${pre[0]!.id}`);
    expect(r.stderr).toMatch(new RegExp(`restore\\.sh \\S+ --target projectdb --snapshot ${pre[0]!.id} --replace`));
  });

  it("restoring the pre-upgrade snapshot brings the database back to before the upgrade's migration", async () => {
    const before = await rig.checksums();
    await configure(OLD_KEY, "kong: 2026.08\n");
    const r = await deploy(compose("2026.08", true));
    const id = rig.snapshots("database").find((s) => s.tags.includes("pre-upgrade"))!.id;
    // What a newer image's migration might have done before the release was rolled back.
    rig.pgdb.psql("alter table public.tickets add column migrated boolean default true; delete from public.clientes where id > 150 and id not in (select cliente_id from public.tickets);", "projectdb");
    expect(await rig.checksums()).not.toEqual(before);
    const command = r.stderr.match(/(bash \S+\/restore\.sh \S+ --target projectdb --snapshot \S+ --replace)/)![1]!;
    expect(command).toContain(id);
    const restored = await sh(command, "");
    expect(restored.status, restored.stderr).toBe(0);
    expect(await rig.checksums()).toEqual(before);
  });

  it("a healthy upgrade keeps the snapshot and the previous release; a change of config alone takes no snapshot", async () => {
    await configure(OLD_KEY, "kong: 2026.08\n");
    const up = await deploy(compose("2026.08"));
    expect(up.status, up.stderr).toBe(0);
    expect(read(dir("releases", "previous", "compose.yaml"))).toBe(compose("2026.02"));
    expect(read(dir("secrets", "previous", "kong.yml")).trim()).toBe("kong: 2026.02");
    expect(read(dir("secrets", "kong.yml")).trim()).toBe("kong: 2026.08");
    expect(rig.snapshots("database").filter((s) => s.tags.includes("pre-upgrade"))).toHaveLength(1);
    await configure(OLD_KEY, "kong: 2026.08 with a new route\n");
    const again = await deploy(compose("2026.08"));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("pre-upgrade");
    expect(rig.snapshots("database").filter((s) => s.tags.includes("pre-upgrade"))).toHaveLength(1);
  });

  it("refuses an upgrade it cannot snapshot first, and changes nothing", async () => {
    await configure(NEW_KEY, "kong: 2026.08\n");
    const r = await deploy(compose("2026.08"), { SUPAFLEET_BACKUP_CONFIG: join(root, "no-such.env") });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("an upgrade needs a pre-upgrade snapshot");
    expect(read(join(root, "docker", "running.yaml"))).toBe(compose("2026.02"));
    expect(read(dir("secrets", ".env"))).toContain(`ANON_KEY="${OLD_KEY}"`);
    // The staged secrets wait for a deploy that can go ahead.
    expect(read(dir("secrets", "staged", ".env"))).toContain(`ANON_KEY="${NEW_KEY}"`);
  });
});

describe("removing a project", () => {
  const remove = (extra: Record<string, string> = {}): Promise<ScriptResult> =>
    sh(fillTemplate("worker/project-remove.sh", { project: PROJECT }), "", { SUPAFLEET_BACKUP_CONFIG: rig.settings(), ...extra });
  const dockerCalls = (): string[] => read(join(rig.work, "docker.log")).split("\n").filter(Boolean);

  it("takes a final backup, reads it back, stops the project, and only then removes its containers and volumes", async () => {
    const before = await rig.checksums();
    const r = await remove();
    expect(r.status, r.stderr).toBe(0);
    const final = rig.snapshots().filter((s) => s.tags.includes("final"));
    expect(final.map((s) => s.tags.find((t) => t.startsWith("kind:"))).sort()).toEqual(["kind:database", "kind:files", "kind:roles"]);
    const database = final.find((s) => s.tags.includes("kind:database"))!;
    expect(r.stdout).toContain(`removed after final backup ${database.id}; its repository and credential are kept`);
    expect(r.stderr).toContain(`snapshot ${database.id.slice(0, 8)} and roles`);
    // The order on the worker: dumps (docker exec), then stop, then down with the volumes.
    const calls = dockerCalls();
    const lastDump = calls.map((c, i) => (c.startsWith("exec ") ? i : -1)).reduce((a, b) => Math.max(a, b));
    const stop = calls.findIndex((c) => c.startsWith("compose ") && c.includes(" stop"));
    const down = calls.findIndex((c) => c.startsWith("compose ") && c.includes(" down --volumes"));
    expect(lastDump).toBeGreaterThanOrEqual(0);
    expect(stop).toBeGreaterThan(lastDump);
    expect(down).toBeGreaterThan(stop);
    // The final backup restores to what the project held.
    rig.pgdb.psql("drop database projectdb with (force);");
    const restored = await rig.script("restore.sh", [rig.settings(), "--target", "projectdb", "--snapshot", database.id]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(await rig.checksums()).toEqual(before);
  });

  it("removes nothing when the final backup fails", async () => {
    const r = await remove({ FAKE_DOCKER_BREAK: "pg_dump" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the final backup failed; the project keeps running and nothing is removed");
    expect(dockerCalls().some((c) => c.startsWith("compose ") && / (stop|down)( |$)/.test(c))).toBe(false);
    expect(read(join(root, "docker", "running.yaml"))).toBe(compose("2026.02"));
  });
});

describe("moving a project: the steps on each worker", () => {
  const step = (file: string, stdin = "", extra: Record<string, string> = {}): Promise<ScriptResult> =>
    sh(fillTemplate(`worker/${file}`, { project: PROJECT }), stdin, { SUPAFLEET_BACKUP_CONFIG: rig.settings(), ...extra });
  const dockerCalls = (): string[] => read(join(rig.work, "docker.log")).split("\n").filter(Boolean);

  it("out: a final backup tagged move, read back whole, then the services stopped; it prints the snapshot id", async () => {
    const r = await step("project-move-out.sh");
    expect(r.status, r.stderr).toBe(0);
    const move = rig.snapshots().filter((s) => s.tags.includes("move"));
    expect(move.map((s) => s.tags.find((t) => t.startsWith("kind:"))).sort()).toEqual(["kind:database", "kind:files", "kind:roles"]);
    const id = move.find((s) => s.tags.includes("kind:database"))!.id;
    expect(r.stdout.trim()).toBe(id);
    const calls = dockerCalls();
    const stop = calls.findIndex((c) => c.startsWith("compose ") && c.endsWith(" stop"));
    expect(stop).toBeGreaterThan(calls.map((c, i) => (c.startsWith("exec ") ? i : -1)).reduce((a, b) => Math.max(a, b)));
    expect(calls.some((c) => c.includes(" down"))).toBe(false);
  });

  it("out: a failing backup leaves the project running where it is", async () => {
    const r = await step("project-move-out.sh", "", { FAKE_DOCKER_BREAK: "pg_dump" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the final backup failed; the project keeps running here");
    expect(dockerCalls().some((c) => c.startsWith("compose ") && c.endsWith(" stop"))).toBe(false);
  });

  it("in: restores the whole project from the id on stdin, and refuses anything that is not one", async () => {
    // restore.sh --whole itself is proven in restore-roundtrip.test.ts; here, a stand-in records the call.
    const lib = mkdtempSync(join(rig.work, "lib-"));
    await sh(`printf '%s\\n' '#!/usr/bin/env bash' 'echo "$*" > "${lib}/called"' > "${lib}/restore.sh"`, "");
    const id = "a".repeat(64);
    const r = await step("project-move-in.sh", `${id}\n`, { SUPAFLEET_LIB: lib });
    expect(r.status, r.stderr).toBe(0);
    expect(read(join(lib, "called")).trim()).toMatch(new RegExp(`^\\S+ --whole --snapshot ${id}$`));
    const bad = await step("project-move-in.sh", "not-an-id\n", { SUPAFLEET_LIB: lib });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("expected the move's snapshot id on stdin");
  });

  it("cleanup: removes the stopped project's containers, volumes, files and backup settings from the worker it left", async () => {
    const settings = rig.settings();
    const r = await step("project-move-cleanup.sh", "", { SUPAFLEET_BACKUP_CONFIG: settings });
    expect(r.status, r.stderr).toBe(0);
    expect(dockerCalls().some((c) => c.startsWith("compose ") && c.includes(" down --volumes"))).toBe(true);
    expect(existsSync(dir())).toBe(false);
    expect(existsSync(settings)).toBe(false);
  });
});

describe("rotating the restic password (rotate.restic)", () => {
  const NEW = "a new restic password after rotation";
  const opens = (password: string): boolean => spawnSync("restic", ["-r", rig.repo, "cat", "config"], { env: { ...process.env, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: join(rig.work, "restic-cache") } }).status === 0;

  it("adds a key for the new password, removes the old one, keeps the reader's, and a second run changes nothing", async () => {
    const before = await rig.script("backup.sh", [rig.settings(), "run"]);
    expect(before.status, before.stderr).toBe(0);
    const readerFile = join(rig.work, "reader-key");
    writeFileSync(readerFile, "the reader's own key");
    rig.restic(["key", "add", "--new-password-file", readerFile]);
    expect(opens("the reader's own key")).toBe(true);
    const settings = rig.settings({ RESTIC_PASSWORD: NEW, RESTIC_PREVIOUS_PASSWORD: RESTIC_PASSWORD });
    const r = await rig.script("backup.sh", [settings, "rekey"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/restic password rotated: key [0-9a-f]+ removed/);
    expect({ new: opens(NEW), old: opens(RESTIC_PASSWORD), reader: opens("the reader's own key") }).toEqual({ new: true, old: false, reader: true });
    // A backup under the new password works on the repository the old one wrote.
    const after = await rig.script("backup.sh", [settings, "run"]);
    expect(after.status, after.stderr).toBe(0);
    const again = await rig.script("backup.sh", [settings, "rekey"]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("the repository opens with the current password");
  });

  it("fails with the reason when neither password opens the repository", async () => {
    const r = await rig.script("backup.sh", [rig.settings({ RESTIC_PASSWORD: NEW, RESTIC_PREVIOUS_PASSWORD: "not the old one either" }), "rekey"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("opens with neither the current nor the previous password");
  });
});

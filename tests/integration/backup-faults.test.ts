import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BackupRig, RESTIC_PASSWORD, SCRIPTS, waitFor } from "../helpers/backupRig";
import { initRepository } from "../helpers/resticFastKey";

/**
 * Each defect the backup scripts had, provoked for real on the lab's Docker
 * engine (the database is a container of the supabase/postgres image,
 * bk-faults-db on 198.51.100.31): restic killed in the middle of a restore, a
 * full disk, a dump cut off while another restic holds the repository, week
 * numbers 08 and 09, tokens in `ps`, a missing sshpass, and no restic cache
 * under systemd. Stand-ins remain only for what this machine cannot be: a
 * `date` that says week 08 on a Sunday, and a PATH without sshpass.
 */
const rig = new BackupRig("bk-faults", 31);
beforeAll(() => rig.start(), 180_000);
afterAll(() => rig.stop());
beforeEach(() => rig.reset());

const locks = (): string[] => rig.locks();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("a restic killed in the middle of a restore", () => {
  it("leaves a lock that the next nightly run clears, and that run succeeds", async () => {
    // Enough data that restic's dump cannot fit in the pipes while psql is not reading.
    rig.db.psql("insert into public.tickets (cliente_id, titulo) select 1, repeat('x', 400) || g from generate_series(1, 8000) g;", "projectdb");
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    // The restore's psql, in the database container, stops reading (SIGSTOP), so restic dump
    // blocks holding its lock; then restic and the whole restore are killed.
    const child = spawn("bash", [join(SCRIPTS, "restore.sh"), rig.settings(), "--target", "victim"], { env: rig.env(), stdio: ["ignore", "ignore", "pipe"], detached: true });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    // Soon after it starts: before restic has sent the dump on, which takes it a few hundred milliseconds.
    const psql = await waitFor("the restore's psql in the container", () => rig.db.processes(/(^|\/)psql .* -d victim$/)[0]?.pid, 60_000, 25);
    process.kill(psql, "SIGSTOP");
    // The restore's restic dump of the database, wherever in the restore's process tree it runs.
    const dumping = (): string => {
      const rows = spawnSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).stdout.trim().split("\n").map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/)!).filter(Boolean);
      const tree = new Set([child.pid!]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [, pid, ppid] of rows) {
          if (tree.has(Number(ppid)) && !tree.has(Number(pid))) {
            tree.add(Number(pid));
            grew = true;
          }
        }
      }
      return rows.filter(([, pid, , args]) => tree.has(Number(pid)) && /^restic dump \S+ \/database\.sql$/.test(args!)).map(([, pid]) => pid).join("\n");
    };
    for (let i = 0; i < 200 && !dumping(); i++) await sleep(100);
    await sleep(500);
    const resticPid = dumping();
    expect(resticPid, stderr).not.toBe("");
    expect(locks().length).toBe(1);
    spawnSync("kill", ["-9", ...resticPid.split("\n")]);
    // Its parent reaps it (a zombie would still count as a running process, and its lock as live); then the rest goes.
    for (let i = 0; i < 100 && spawnSync("ps", ["-p", resticPid.split("\n")[0]!]).status === 0; i++) await sleep(50);
    process.kill(-child.pid!, "SIGKILL");
    await sleep(300);
    expect(locks().length).toBe(1);
    // The killed restore's psql reads the end of its input once it runs again: nothing of the part it had is kept.
    process.kill(psql, "SIGCONT");
    await waitFor("the killed restore's psql to end", () => (rig.db.processes(/psql/).some((p) => p.pid === psql) ? undefined : true), 30_000);
    expect(rig.db.psql("select count(*) from pg_tables where schemaname = 'public';", "victim")).toMatch(/\b0\b/);

    const next = await rig.script("backup.sh", [rig.settings(), "run"]);
    expect(next.stderr).toContain("backup(ops): done");
    expect(next.status).toBe(0);
    expect(locks()).toEqual([]);
  }, 120_000);
});

describe("a full disk", () => {
  const mnt = () => join(rig.work, "small");

  afterAll(() => {
    spawnSync("umount", [mnt()]);
  });

  it("fails the run with the reason and alerts; once there is room, the next run succeeds", async () => {
    mkdirSync(mnt(), { recursive: true });
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt()], { encoding: "utf8" });
    expect(mounted.status, mounted.stderr).toBe(0);
    const repo = join(mnt(), "repo");
    initRepository(repo, RESTIC_PASSWORD);
    const big = join(rig.work, "big");
    mkdirSync(big, { recursive: true });
    writeFileSync(join(big, "blob.bin"), randomBytes(12_000_000));

    const full = await rig.script("backup.sh", [rig.settings({ RESTIC_REPOSITORY: repo, BACKUP_PATHS: `${rig.storage} ${big}` }), "run"]);
    expect(full.status).toBe(1);
    expect(full.stderr).toMatch(/restic backup of files: .*no space left on device/);
    expect(rig.listener.take("/ntfy/fleet").at(-1)!.body).toContain("no space left on device");
    expect(rig.listener.take("/kuma/push/opsbackuptoken").at(-1)!.query).toContain("status=down");

    rmSync(big, { recursive: true });
    const next = await rig.script("backup.sh", [rig.settings({ RESTIC_REPOSITORY: repo }), "run"]);
    expect(next.stderr).toContain("backup(ops): done");
    expect(next.status).toBe(0);
  }, 120_000);
});

describe("a dump that fails while another restic holds the repository", () => {
  it("leaves a snapshot no restore ever takes, and the next run removes it", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    const good = await rig.checksums();
    rig.db.psql("insert into public.tickets (cliente_id, titulo) select 1, 'late ' || g from generate_series(1, 50) g;", "projectdb");

    // While pg_dump is cut off part-way, another restic (a real one) takes a lock and keeps it,
    // so the run cannot forget its partial snapshot.
    let holder: Awaited<ReturnType<BackupRig["holdLock"]>> | undefined;
    const failed = await rig.cutOffDump(
      () => rig.script("backup.sh", [rig.settings(), "run"], { SUPAFLEET_LOCK_WAIT: "0" }),
      async () => {
        holder = await rig.holdLock();
      },
    );
    expect(failed.stderr).toContain('pg_dump: error: Dumping the contents of table "filler" failed');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/the partial database snapshot \w+ stays marked pending \(the repository is locked by another restic/);
    await holder!.release();
    for (let i = 0; i < 100 && locks().length > 0; i++) await sleep(100);
    const pending = rig.snapshots("database").filter((s) => s.tags.includes("pending"));
    expect(pending.length).toBe(1);

    // The latest complete snapshot is the one restored, not the truncated one.
    const r = await rig.script("restore.sh", [rig.settings(), "--target", "restored"]);
    expect(r.status, r.stderr).toBe(0);
    expect(await rig.checksums("restored")).toEqual(good);

    const next = await rig.script("backup.sh", [rig.settings(), "run"]);
    expect(next.stderr).toContain("forgot 1 pending snapshot(s) of an earlier failed run");
    expect(next.status).toBe(0);
    expect(rig.snapshots("database").filter((s) => s.tags.includes("pending"))).toEqual([]);
  }, 120_000);

  it("a dump without its completion mark is refused, and nothing of it is kept", async () => {
    expect((await rig.script("backup.sh", [rig.settings(), "run"])).status).toBe(0);
    const latest = rig.snapshots("database").at(-1)!;
    const dump = rig.restic(["dump", latest.short_id, "/database.sql"]);
    // Cut off after the first table's data, as a dump that died part-way ends: whole statements, no mark.
    const cut = dump.slice(0, dump.indexOf("COPY", dump.indexOf("COPY") + 1));
    rig.restic(["backup", "--stdin", "--stdin-filename", "database.sql", "--host", "ops", "--tag", "supafleet", "--tag", "project:ops", "--tag", "kind:database"], cut);
    const r = await rig.script("restore.sh", [rig.settings(), "--target", "cut_off"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/this dump has no completion mark, so it was cut off; nothing of it is kept/);
    expect(rig.db.psql("select count(*) from pg_tables where schemaname = 'public';", "cut_off")).toMatch(/\b0\b/);
  }, 120_000);
});

describe("the weekly check in weeks 08 and 09", () => {
  it("runs and pings success instead of aborting on an octal week number", async () => {
    const bin = join(rig.work, "week08");
    mkdirSync(bin, { recursive: true });
    // date +%U says 08 and date +%u says Sunday; every other call is the real date.
    writeFileSync(join(bin, "date"), '#!/usr/bin/env bash\ncase "$*" in +%U) echo 08 ;; +%u) echo 7 ;; *) exec /usr/bin/date "$@" ;; esac\n');
    chmodSync(join(bin, "date"), 0o755);
    const r = await rig.script("backup.sh", [rig.settings({ CHECK_WEEKDAY: "7" }), "run"], {}, { ...rig.env(), PATH: `${bin}:${rig.env().PATH}` });
    expect(r.stderr).toContain("check passed (--read-data-subset 4/5)");
    expect(r.status).toBe(0);
    expect(rig.listener.take("/hc/ops-backup").map((h) => h.path)).toEqual(["/hc/ops-backup/start", "/hc/ops-backup"]);
  }, 120_000);
});

describe("tokens and ps", () => {
  let slow: Server;
  beforeAll(async () => {
    // Slow endpoints keep each curl alive long enough to be seen.
    slow = createServer((req, res) => {
      req.resume();
      req.on("end", () => setTimeout(() => res.end("OK"), 400));
    }).listen(0, "127.0.0.1");
    await new Promise((r) => slow.once("listening", r));
  });
  afterAll(() => slow.close());

  it("no token, ping key or push token appears in any process's arguments during a failing run", async () => {
    const base = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const secrets = ["hcpingkeysecret123", "tk_ntfysecrettoken", "bot-token-secret-456", "opsbackuptoken"];
    // A failing run: its database container is gone (the real engine answers "No such container").
    const settings = rig.settings({ DB_CONTAINER: "bk-faults-gone-db", HC_URL: `${base}/hcpingkeysecret123/ops`, NTFY_URL: `${base}/fleet`, NTFY_TOKEN: "tk_ntfysecrettoken", TELEGRAM_API: base, TELEGRAM_TOKEN: "bot-token-secret-456", KUMA_PUSH_URL: `${base}/api/push/opsbackuptoken` });
    const run = rig.script("backup.sh", [settings, "run"]);
    const seen: string[] = [];
    let done = false;
    void run.then(() => (done = true));
    let curls = 0;
    while (!done) {
      const ps = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout;
      curls += ps.split("\n").filter((l) => l.startsWith("curl ")).length;
      for (const s of secrets) if (ps.includes(s)) seen.push(s);
      await sleep(25);
    }
    const failed = await run;
    expect(failed.stderr).toMatch(/No such container: bk-faults-gone-db[\s\S]*the roles dump failed/);
    expect(failed.status).toBe(1);
    expect(curls).toBeGreaterThan(5);
    expect([...new Set(seen)]).toEqual([]);
  }, 120_000);
});

describe("tools and cache", () => {
  it("with an SFTP repository and no sshpass, still pings the failure and alerts", async () => {
    // A PATH with every command of the usual one, except sshpass.
    const bin = join(rig.work, "nosshpass");
    mkdirSync(bin, { recursive: true });
    for (const dir of (rig.env().PATH ?? "").split(":").filter((d) => existsSync(d))) {
      for (const tool of readdirSync(dir)) if (tool !== "sshpass" && !existsSync(join(bin, tool))) symlinkSync(join(dir, tool), join(bin, tool));
    }
    const settings = rig.settings({ RESTIC_REPOSITORY: "sftp://u123-sub1@u123.your-storagebox.de:23//restic", SFTP_PASSWORD: "sftp-password" });
    const r = await rig.script("backup.sh", [settings, "run"], {}, { ...rig.env(), PATH: bin });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/backup\(ops\): missing sshpass on /);
    expect(rig.listener.take("/hc/ops-backup").map((h) => h.path)).toEqual(["/hc/ops-backup/fail"]);
    expect(rig.listener.take("/ntfy/fleet")[0]!.body).toMatch(/backup failed: missing sshpass/);
  }, 60_000);

  it("keeps restic's cache without HOME, as under systemd", async () => {
    const env = { ...rig.env(), SUPAFLEET_CACHE_DIR: join(rig.work, "var-cache") } as NodeJS.ProcessEnv;
    delete env.HOME;
    delete env.RESTIC_CACHE_DIR;
    delete env.XDG_CACHE_HOME;
    const r = await rig.script("backup.sh", [rig.settings(), "run"], {}, env);
    expect(r.status, r.stderr).toBe(0);
    const cache = join(rig.work, "var-cache", "restic");
    expect(readdirSync(cache).length).toBeGreaterThan(0);
  }, 60_000);
});

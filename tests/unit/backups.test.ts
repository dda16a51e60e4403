import { describe, expect, it } from "vitest";
import { renderBackupEnv } from "../../src/backup/settings";
import { backupToolsPayload, masterBackupTimes } from "../../src/backup/tools";
import { API_ONLY_SERVICES, FULL_SERVICES, workerServices } from "../../src/model/projectServices";
import { projectBackupPaths } from "../../src/plan/backups";
import { template } from "../../src/render/templates";
import type { Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

describe("backups in the prod program", () => {
  const doc = stackDoc("prod") as Doc;
  const projects: Doc[] = doc["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
  let s: Snapshot;

  it("renders", async () => {
    s = await runDoc("prod", doc);
  });

  it("gives every project and the master a sub-account of their own, in a directory of their own, and a read-only one beside it", () => {
    const all = s.resources.filter((r) => r.type === "hcloud:index/storageBoxSubaccount:StorageBoxSubaccount");
    const subs = all.filter((r) => !(r.inputs.accessSettings as { readonly: boolean }).readonly);
    const readers = all.filter((r) => (r.inputs.accessSettings as { readonly: boolean }).readonly);
    const dirs = [...projects.map((p) => `supafleet/prod/${p.name}`), "supafleet/prod/master"].sort();
    expect(subs.map((r) => r.inputs.homeDirectory).sort()).toEqual(dirs);
    expect(readers.map((r) => r.inputs.homeDirectory).sort()).toEqual(dirs);
    // Losing a job's credentials would lose its backups: Pulumi refuses to delete them.
    for (const r of s.resources.filter((x) => x.parent?.startsWith("supafleet:index:BackupSchedule::") && !x.name.endsWith("-push-token") && !x.name.endsWith("-enable"))) expect(r.protect, r.name).toBe(true);
    for (const sub of subs) expect(isSecretEnvelope(sub.inputs.password), sub.name).toBe(true);
    const box = s.resources.find((r) => r.type === "hcloud:index/storageBox:StorageBox")!;
    expect(box.inputs).toMatchObject({ storageBoxType: "bx21", location: "fsn1", deleteProtection: true });
  });

  it("keeps at least 7 daily, 4 weekly and 6 monthly copies for every job", () => {
    for (const b of s.resources.filter((r) => r.type === "supafleet:index:BackupSchedule")) {
      expect(b.outputs.retention, b.name).toEqual({ daily: 7, weekly: 4, monthly: 6 });
    }
  });

  it("sends each job's settings only as a secret, after its tools are installed and its project runs", () => {
    for (const name of [...projects.map((p) => p.name), "master"]) {
      const cmd = s.resources.find((r) => r.name === `${name}-backup-enable`)!;
      expect(isSecretEnvelope(cmd.inputs.stdin), name).toBe(true);
      const env = (cmd.inputs.stdin as { value: string }).value;
      expect(env).toContain(`PROJECT='${name}'`);
      expect(env).toContain("KEEP_DAILY='7'");
      expect(env).toMatch(/HC_URL='https:\/\/hc-ping\.com\/<offline-placeholder:supafleet:healthchecksPingKey>\/supafleet-prod-/);
      expect(env).toContain("NTFY_URL='https://ntfy.sh/techhilfe-fleet-prod'");
      expect(env).toContain("TELEGRAM_CHAT='-1001234567890'");
      if (name === "master") expect(env).not.toContain("DB_CONTAINER");
      else expect(env).toContain(`DB_CONTAINER='${name}-db'`);
      expect(cmd.inputs.delete).toContain(`\nPROJECT='${name}'\n`);
      expect(cmd.inputs.delete).toContain('systemctl disable --now "supafleet-backup@$PROJECT.timer"');
      // Only a job with a database has a drill.
      expect(cmd.inputs.create).toContain(`\nDRILL='${name === "master" ? 0 : 1}'\n`);
    }
    const file = s.files.find((f) => f.path === "backups/ops.env")!;
    expect(file.content).toContain("RESTIC_PASSWORD='<redacted:resticPassword>'");
  });

  it("installs the tools on every node, the master an hour after the workers", () => {
    const tools = s.resources.filter((r) => r.name.endsWith("-backup-tools"));
    expect(tools.length).toBe(1 + doc["supafleet:workers"].length + projects.filter((p) => "dedicated" in p.placement).length);
    const timer = (name: string): string => JSON.parse(tools.find((t) => t.name === name)!.inputs.stdin as string).files["/etc/systemd/system/supafleet-backup@.timer"].content;
    expect(timer("w1-backup-tools")).toContain("OnCalendar=*-*-* 02:30:00");
    expect(timer("w1-backup-tools")).toContain("RandomizedDelaySec=45m");
    expect(timer("master-backup-tools")).toContain("OnCalendar=*-*-* 03:30:00");
  });
});

describe("backup settings and tools", () => {
  it("quote every value so that bash expands nothing", () => {
    const env = renderBackupEnv({ name: "x", repository: "/r", resticPassword: "it's $HOME `id`", paths: ["/a", "/b"], retention: { daily: 7, weekly: 4, monthly: 6 } });
    expect(env).toContain(`RESTIC_PASSWORD='it'\\''s $HOME \`id\`'`);
    expect(env).toContain("BACKUP_PATHS='/a /b'");
    expect(() => renderBackupEnv({ name: "x", repository: "/r", resticPassword: "p", paths: ["/a b"], retention: { daily: 7, weekly: 4, monthly: 6 } })).toThrow("must not contain spaces");
  });

  it("schedule the drill monthly and the master's backup one hour later, across midnight too", () => {
    const payload = JSON.parse(backupToolsPayload({ time: "02:30", randomizedDelayMinutes: 30, drillDay: 3 }));
    expect(payload.files["/etc/systemd/system/supafleet-drill@.timer"].content).toContain("OnCalendar=*-*-03 05:00:00");
    expect(payload.files["/usr/local/lib/supafleet/backup.sh"].mode).toBe("0755");
    expect(masterBackupTimes({ time: "23:15", randomizedDelayMinutes: 0, drillDay: 1 }).time).toBe("00:15");
  });
});

describe("the backup units", () => {
  it("give restic a cache directory, since a systemd service has no HOME", () => {
    for (const unit of ["worker/systemd/supafleet-backup@.service", "worker/systemd/supafleet-drill@.service"]) {
      const text = template(unit);
      expect(text, unit).toContain("CacheDirectory=supafleet");
      expect(text, unit).toContain("Environment=RESTIC_CACHE_DIR=/var/cache/supafleet/restic");
    }
  });
});

describe("a project's backup follows its services", () => {
  const volume = (p: string, v: string): string => `/var/lib/docker/volumes/${p}-${v}/_data`;
  const config = (p: string): string[] => [`/opt/supafleet/projects/${p}/releases/current`, `/opt/supafleet/projects/${p}/assets`, volume(p, "db-config")];
  const env = (s: Snapshot, job: string): string => (s.resources.find((r) => r.name === `${job}-backup-enable`)!.inputs.stdin as { value: string }).value;
  const seed = (s: Snapshot, project: string): string => (JSON.parse((s.resources.find((r) => r.name === `${project}-seed-restore`)!.inputs.stdin as { value: string }).value) as { settings: string }).settings;

  it("names the storage volume only for a project that runs Storage; a retired job's services are unknown, so it names them all", () => {
    expect(projectBackupPaths("crm", workerServices({ services: FULL_SERVICES, studio: "master" }))).toEqual([volume("crm", "storage"), ...config("crm")]);
    expect(projectBackupPaths("crm", workerServices({ services: { ...FULL_SERVICES, realtime: false, functions: false }, studio: "worker" }))).toEqual([volume("crm", "storage"), ...config("crm")]);
    expect(projectBackupPaths("crm", workerServices({ services: API_ONLY_SERVICES, studio: "master" }))).toEqual(config("crm"));
    expect(projectBackupPaths("crm")).toEqual([volume("crm", "storage"), ...config("crm")]);
  });

  it("in the program: a project without Storage backs up its database, config and Vault key, and a seed into it pairs up path for path", async () => {
    const doc = clone(stackDoc("prod")) as Doc;
    const projects: Doc[] = doc["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
    const registry = projects.find((p) => p.name === "registry")!;
    registry.services = { ...registry.services, storage: false, imgproxy: false };
    // A new API-only project seeded from ops, which has Storage: ops' storage files stay in ops' backup.
    Object.assign(projects.find((p) => p.name === "smarteros-chat")!, { services: { storage: false, imgproxy: false }, restoreFrom: { project: "ops", snapshot: "latest" } });
    const s = await runDoc("prod", doc);
    expect(s.error).toBeUndefined();
    expect(env(s, "registry")).toContain(`\nBACKUP_PATHS='${config("registry").join(" ")}'\n`);
    expect(env(s, "registry")).toContain(`\nVAULT_KEY_PATH='${volume("registry", "db-config")}'\n`);
    expect(env(s, "ops")).toContain(`\nBACKUP_PATHS='${[volume("ops", "storage"), ...config("ops")].join(" ")}'\n`);
    const settings = seed(s, "smarteros-chat");
    expect(settings).toContain(`\nSOURCE_PATHS='${config("ops").join(" ")}'\n`);
    expect(settings).toContain(`\nBACKUP_PATHS='${config("smarteros-chat").join(" ")}'\n`);
    // Nothing anywhere names the storage volume of a project that has none.
    for (const p of ["registry", "smarteros-chat"]) expect(JSON.stringify(s.resources), p).not.toContain(`${p}-storage`);
  });
});

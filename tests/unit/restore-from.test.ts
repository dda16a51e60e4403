import { describe, expect, it } from "vitest";
import { seedOptions, seedPayload as payloadOf, type SeedArgs } from "../../src/backup/seed";
import { diffSnapshots } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { runDoc } from "../helpers/offline";
import { check, clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const seedPayload = (s: Awaited<ReturnType<typeof runDoc>>, project: string): { settings: string; options: string[]; anonymise?: string } => {
  const cmd = s.resources.find((r) => r.name === `${project}-seed-restore`)!;
  expect(isSecretEnvelope(cmd.inputs.stdin)).toBe(true);
  return JSON.parse((cmd.inputs.stdin as { value: string }).value);
};

/**
 * Adding `added` creates only its own resources and changes only the fleet-wide ones that list every
 * project (the ingress, the monitors); none of `source`'s resources is created, replaced, updated or deleted.
 */
const expectAddsOnly = (base: Snapshot, head: Snapshot, added: string, source: string): void => {
  const changes = diffSnapshots(base, head);
  for (const ch of changes.filter((x) => x.kind === "create")) expect(ch.name, ch.name).toMatch(new RegExp(`^(${added}|edge-(dns|app)-${added}|studios-${added})($|-)`));
  expect(changes.filter((x) => x.kind !== "create").map((x) => x.name)).toEqual(["edge-config", "monitoring-reconcile", "monitoring-secrets"]);
  expect(changes.filter((x) => new RegExp(`(^|-)${source}($|-)`).test(x.name) && !x.name.includes(added))).toEqual([]);
};

describe("a new project seeded from another project's backup (restoreFrom)", () => {
  const prod = stackDoc("prod") as Doc;

  it("in the same stack: adds only the new project, reads the source through its read-only credential, and leaves the source untouched", async () => {
    const base = await runDoc("prod", prod);
    const c = clone(prod);
    // On w2, which has room for a third project (a cx33 like w1 holds two: docs/sizing.md).
    c["supafleet:tenants"][0].projects.push({ name: "ops-yesterday", subdomain: "ops-yesterday", slot: 9, placement: { worker: "w2" }, schemaPacks: ["msp-ops"], restoreFrom: { project: "ops", snapshot: "2026-11-20T03:00" } });
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    expectAddsOnly(base, head, "ops-yesterday", "ops");

    const payload = seedPayload(head, "ops-yesterday");
    expect(payload.settings).toContain("READ_ONLY='1'");
    expect(payload.settings).toContain("SNAPSHOT_HOST='ops'");
    expect(payload.settings).toContain("DB_CONTAINER='ops-yesterday-db'");
    expect(payload.settings).toMatch(/SOURCE_PATHS='\/var\/lib\/docker\/volumes\/ops-storage\/_data .* \/var\/lib\/docker\/volumes\/ops-db-config\/_data'/);
    expect(payload.settings).toMatch(/BACKUP_PATHS='\/var\/lib\/docker\/volumes\/ops-yesterday-storage\/_data .* \/var\/lib\/docker\/volumes\/ops-yesterday-db-config\/_data'/);
    // The reader sub-account, not the job's own.
    const reader = head.resources.find((r) => r.name === "ops-backup-reader")!;
    expect((reader.inputs.accessSettings as { readonly: boolean }).readonly).toBe(true);
    expect(payload.settings).toContain(`RESTIC_REPOSITORY='sftp://${reader.outputs.username}@`);
    expect(payload.options).toEqual(["--at", "2026-11-20 03:00"]);
    expect(payload.anonymise).toBeUndefined();
    // Its migrations apply on top of the restored data, after the seed.
    expect(head.resources.find((r) => r.name === "ops-yesterday-rls-migrations")).toBeDefined();
  });

  it("to a moment (time): the seed replays ops's WAL archive to it, and ops is untouched", async () => {
    const base = await runDoc("prod", prod);
    const c = clone(prod);
    c["supafleet:tenants"][0].projects.push({ name: "ops-1431", subdomain: "ops-1431", slot: 9, placement: { worker: "w2" }, schemaPacks: ["msp-ops"], restoreFrom: { project: "ops", time: "2026-12-06T14:31:00Z" } });
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    expectAddsOnly(base, head, "ops-1431", "ops");

    const payload = seedPayload(head, "ops-1431");
    // The moment exactly as written: restore.sh takes --time for a point-in-time restore, where --at picks a snapshot.
    expect(payload.options).toEqual(["--time", "2026-12-06T14:31:00Z"]);
    expect(payload.anonymise).toBeUndefined();
    expect(payload.settings).toContain("READ_ONLY='1'");
    expect(payload.settings).toContain("SNAPSHOT_HOST='ops'");
    expect(payload.settings).toContain("DB_CONTAINER='ops-1431-db'");
  });

  it("from prod into staging: reads prod's outputs, anonymises with the packs' hooks and leaves prod's Vault key behind", async () => {
    const staging = clone(stackDoc("staging")) as Doc;
    const t = staging["supafleet:tenants"].find((x: Doc) => x.projects?.some((p: Doc) => p.name === "ops"));
    t.projects.push({ name: "ops-copy", subdomain: "ops-copy", slot: 9, placement: { worker: "w1" }, schemaPacks: ["msp-ops"], restoreFrom: { stack: "prod", project: "ops" } });
    const s = await runDoc("staging", staging);
    expect(s.error).toBeUndefined();
    expect(s.resources.find((r) => r.type === "pulumi:pulumi:StackReference")!.name).toBe("organization/supafleet/prod");
    const payload = seedPayload(s, "ops-copy");
    expect(payload.options).toEqual(["--no-vault-key"]);
    expect(payload.anonymise).toContain("update auth.users set");
    expect(payload.anonymise).toContain("update public.clientes set");
    expect(payload.anonymise).toContain("delete from public.api_credentials;");
    expect(payload.settings).toContain("SNAPSHOT_HOST='ops'");
    expect(payload.settings).toContain("RESTIC_REPOSITORY='sftp://prod-ops-reader@");
  });

  it("is refused when it names no project, or this very stack", () => {
    const c = clone(prod);
    c["supafleet:tenants"][0].projects.push({ name: "ghost", subdomain: "ghost", slot: 9, placement: { worker: "w1" }, restoreFrom: { project: "nobody" } });
    c["supafleet:tenants"][0].projects.push({ name: "echo", subdomain: "echo", slot: 10, placement: { worker: "w1" }, restoreFrom: { project: "ops", stack: "test" } });
    const paths = check(c).issues.map((i) => `${i.path}: ${i.message}`);
    expect(paths).toContain('tenants[0].projects[2].restoreFrom.project: names "nobody", which is neither a project of this stack nor in backups.retired');
    expect(paths).toContain("tenants[0].projects[3].restoreFrom.stack: names this stack (test); leave stack out to restore from a project of this stack");
  });
});

describe("restore.sh's options for a seed", () => {
  const reader = { job: "ops", repository: "sftp://u1-sub1@u1.your-storagebox.de:23/ops", resticPassword: "r", sftpPassword: "s" };
  const args = { project: "ops-copy", dbContainer: "ops-copy-db", paths: ["/a"], sourcePaths: ["/b"], vaultKeyPath: "/k", reader, snapshot: "latest" };
  const options = (extra: Partial<SeedArgs>): string[] => (JSON.parse(payloadOf({ ...args, ...extra })) as { options: string[] }).options;

  it("take a snapshot as before: the latest by default, one by id, or the last one before a time", () => {
    expect(seedOptions({ snapshot: "latest" })).toEqual([]);
    expect(seedOptions({ snapshot: "ab12cd34" })).toEqual(["--snapshot", "ab12cd34"]);
    expect(seedOptions({ snapshot: "2026-11-20T03:00" })).toEqual(["--at", "2026-11-20 03:00"]);
    expect(options({})).toEqual([]);
  });

  it("restore to a moment with --time and the moment exactly, in place of the snapshot's options", () => {
    expect(seedOptions({ snapshot: "latest", time: "2026-12-06T14:31:00Z" })).toEqual(["--time", "2026-12-06T14:31:00Z"]);
    expect(options({ time: "2026-12-06T14:31:00Z" })).toEqual(["--time", "2026-12-06T14:31:00Z"]);
    // From another stack, the Vault key stays behind all the same.
    expect(options({ time: "2026-12-06T14:31:00Z", anonymise: [] })).toEqual(["--time", "2026-12-06T14:31:00Z", "--no-vault-key"]);
  });
});

describe("staging drills prod (backups.drillOf)", () => {
  it("installs one drill per prod job on the named staging worker, each reading through prod's read-only credential into a throwaway database", async () => {
    const s = await runDoc("staging", stackDoc("staging"));
    const cmd = s.resources.find((r) => r.name === "drill-prod-install")!;
    expect(cmd.parent).toBe("supafleet:index:BackupDrill::drill-prod");
    expect(JSON.stringify(cmd.inputs.connection)).toContain("10.110.0.2");
    expect(isSecretEnvelope(cmd.inputs.stdin)).toBe(true);
    const payload = JSON.parse((cmd.inputs.stdin as { value: string }).value) as { jobs: Record<string, string>; timer: string };
    const prodProjects = (stackDoc("prod") as Doc)["supafleet:tenants"].flatMap((t: Doc) => (t.projects ?? []).map((p: Doc) => `prod-${p.name}`));
    expect(Object.keys(payload.jobs).sort()).toEqual(prodProjects.sort());
    for (const [name, env] of Object.entries(payload.jobs)) {
      expect(env, name).toContain("READ_ONLY='1'");
      expect(env, name).toContain(`SNAPSHOT_HOST='${name.slice("prod-".length)}'`);
      expect(env, name).toMatch(/DRILL_IMAGE='supabase\/postgres:/);
      expect(env, name).not.toContain("DB_CONTAINER");
    }
    expect(payload.timer).toMatch(/OnCalendar=\*-\*-\d\d 06:00:00/);
  });
});

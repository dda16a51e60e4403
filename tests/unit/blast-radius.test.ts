import { describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { clone, kitaTenant, stackDoc } from "../helpers/stacks";
import { wireguardPublicKey } from "../../src/model/wireguard";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const prod = stackDoc("prod") as Doc;
let base: Snapshot;

const names = (changes: Change[], kind: Change["kind"]): string[] => changes.filter((c) => c.kind === kind).map((c) => c.name).sort();

/**
 * The monitoring changes a fleet change may make: the monitor set gains or
 * loses exactly the owners' monitors (and the digest of the secrets file
 * moves), and the secrets file on the master is rewritten.
 */
function expectOnlyMonitorsOf(changes: Change[], owners: RegExp): void {
  const reconcile = changes.find((c) => c.name === "monitoring-reconcile")!;
  expect(reconcile.kind).toBe("update");
  // The internal page of nightly backups lists every job's backup monitor, and the fleet page every monitor.
  const monitors = reconcile.paths.filter((p) => p !== "stdin.secretsDigest" && !/^stdin\.statusPages\[(supafleet-backups\]\.groups\[nightly backups\]\.monitors|supafleet-fleet\]\.groups)\[/.test(p));
  expect(monitors.length).toBeGreaterThan(0);
  for (const p of monitors) expect(p, p).toMatch(new RegExp(`^stdin\\.monitors\\[(${owners.source})[\\]/]`));
  expect(changes.find((c) => c.name === "monitoring-secrets")).toMatchObject({ kind: "update", paths: ["stdin"] });
}

/** A resource belongs to a project (or worker) when its name is that name or starts with it; its Studio on the master is in the Studio set. */
const belongsTo = (name: string, owner: string): boolean =>
  name === owner || name.startsWith(`${owner}-`) || name.startsWith(`edge-dns-${owner}`) || name.startsWith(`edge-app-${owner}-`) || name === `studios-${owner}` || name === `studios-${owner}-refresh` || name === `studios-${owner}-secrets`;

describe("blast radius in prod", () => {
  it("baseline renders", async () => {
    base = await runDoc("prod", prod);
    expect(base.error).toBeUndefined();
  });

  it("turning one project's WAL archiving off changes that project's compose file, backup settings and WAL monitor, and nothing else", async () => {
    const c = clone(prod);
    const project = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? [])[0];
    project.pitr = false;
    const changes = diffSnapshots(base, await runDoc("prod", c));
    const p = project.name as string;
    expect(names(changes, "create")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([`${p}-backup-wal-push-token`]);
    const updates = names(changes, "update");
    for (const n of updates) expect(belongsTo(n, p) || n.startsWith("monitoring-"), n).toBe(true);
    expect(updates).toEqual(expect.arrayContaining([`${p}-deploy`, `${p}-backup-enable`]));
    expectOnlyMonitorsOf(changes, new RegExp(`backup/${p}`));
  });

  it("adding a project on an existing worker adds only its resources and updates only the ingress", async () => {
    const c = clone(prod);
    c["supafleet:tenants"].push(kitaTenant());
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    const changes = diffSnapshots(base, head);

    const created = names(changes, "create");
    expect(created.length).toBeGreaterThan(10);
    for (const n of created) expect(belongsTo(n, "kita"), n).toBe(true);
    expect(created).toEqual(expect.arrayContaining(["kita", "kita-jwt-secret", "kita-backup-subaccount", "kita-rls-migrations", "edge-dns-kita", "edge-dns-kita-studio", "edge-app-kita-studio"]));
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    const updates = changes.filter((c) => c.kind === "update");
    expect(updates.map((u) => u.name)).toEqual(["edge-config", "monitoring-reconcile", "monitoring-secrets"]);
    expect(updates[0]!.paths).toEqual(["config.ingresses[kita-studio.techhilfepro.de]", "config.ingresses[kita.techhilfepro.de]"]);
    // Its monitors are added, and nobody else's change.
    expectOnlyMonitorsOf(changes, /project\/kita|tenant\/kita-sonnenschein|backup\/kita/);
    expect(updates[1]!.paths).toEqual(expect.arrayContaining(["stdin.monitors[project/kita/edge/rest]", "stdin.monitors[project/kita/wg/rest]", "stdin.monitors[backup/kita]"]));
  });

  it("rotating one project's JWT secret replaces only that secret and rewrites only that project's config and deploy", async () => {
    const c = clone(prod);
    const tenant = c["supafleet:tenants"].find((t: Doc) => (t.projects ?? []).some((p: Doc) => p.name !== c["supafleet:automations"]?.opsProject && p.placement.worker !== undefined));
    const project = tenant.projects.find((p: Doc) => p.name !== c["supafleet:automations"]?.opsProject && p.placement.worker !== undefined);
    project.rotate = { jwt: 1 };
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    const changes = diffSnapshots(base, head);
    // Its Studio on the master holds the keys too: its files are rewritten, and an awake Studio restarted.
    expect(names(changes, "replace")).toEqual([`${project.name}-jwt-secret`, `studios-${project.name}-refresh`]);
    expect(names(changes, "create")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    // Its config and deploy, and Kuma's secrets file: the project's monitors call its API with its anon key.
    expect(names(changes, "update")).toEqual([`${project.name}-config`, `${project.name}-deploy`, "monitoring-reconcile", "monitoring-secrets", `studios-${project.name}-secrets`].sort());
    // The deploy changes only in the digest of the secret files it carries, the monitors only in the secrets' digest.
    expect(changes.find((u) => u.name === `${project.name}-deploy`)!.paths).toEqual(["stdin"]);
    expect(changes.find((u) => u.name === "monitoring-reconcile")!.paths).toEqual(["stdin.secretsDigest"]);
  });

  it("rotating the opaque keys touches only those keys, that project's config and deploy", async () => {
    const c = clone(prod);
    const project = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).find((p: Doc) => (p.release ?? c["supafleet:supabase"].release) === "2026.08" && p.name !== c["supafleet:automations"]?.opsProject)!;
    project.rotate = { apiKeys: 1 };
    const changes = diffSnapshots(base, await runDoc("prod", c));
    // Its Studio on the master uses the service_role JWT, not the opaque keys: it is untouched.
    expect(names(changes, "replace")).toEqual([`${project.name}-publishable-key`, `${project.name}-secret-key`]);
    expect(names(changes, "update")).toEqual([`${project.name}-config`, `${project.name}-deploy`]);
  });

  it("rotating a worker Studio's dashboard password touches only that secret, that project's config and deploy, and its Studio monitor", async () => {
    const c = clone(prod);
    const project = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).find((p: Doc) => p.studio === "worker")!;
    project.rotate = { dashboard: 2 };
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(names(changes, "replace")).toEqual([`${project.name}-dashboard-password`]);
    expect(names(changes, "update")).toEqual([`${project.name}-config`, `${project.name}-deploy`, "monitoring-reconcile", "monitoring-secrets"].sort());
    expect(changes.find((u) => u.name === "monitoring-reconcile")!.paths).toEqual(["stdin.secretsDigest"]);
  });

  it("rotating a project's restic password adds the new round's password and rewrites only that job's settings", async () => {
    const c = clone(prod);
    const project = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? [])[0]!;
    project.rotate = { restic: 1 };
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(names(changes, "create")).toEqual([`${project.name}-backup-restic-password-r1`]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "update")).toEqual([`${project.name}-backup-enable`]);
  });

  it("rotating the master's restic password adds its new round and rewrites only its job's settings", async () => {
    const c = clone(prod);
    c["supafleet:backups"].master = { rotate: { restic: 1 } };
    const head = await runDoc("prod", c);
    const changes = diffSnapshots(base, head);
    expect(names(changes, "create")).toEqual(["master-backup-restic-password-r1"]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "update")).toEqual(["master-backup-enable"]);
    // The settings carry the new password and the previous one, which the enable step re-keys from.
    const settings = head.files.find((f) => f.path === "backups/master.env")!.content;
    expect(settings).toMatch(/^RESTIC_PREVIOUS_PASSWORD=/m);
  });

  it("adding Tactical RMM's node touches only itself, its DNS records and the hub's peers and firewall", async () => {
    const without = clone(prod);
    delete without["supafleet:rmm"];
    const changes = diffSnapshots(await runDoc("prod", without), base);
    const created = names(changes, "create");
    for (const n of created) expect(n, n).toMatch(/^rmm(-|$)/);
    expect(created).toEqual(expect.arrayContaining(["rmm", "rmm-server", "rmm-firewall", "rmm-dns-rmm-a", "rmm-dns-api-a", "rmm-dns-mesh-a", "rmm-prepare"]));
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    const updates = changes.filter((c) => c.kind === "update");
    expect(updates.map((u) => u.name).sort()).toEqual(["automations-n8n", "automations-reconcile", "master-hub-sync"]);
    // n8n gains its webhook gate on the mesh, and the TRMM workflow behind it; nothing else of n8n changes.
    expect(updates.find((u) => u.name === "automations-n8n")!.paths).toEqual(["stdin"]);
    expect(updates.find((u) => u.name === "automations-reconcile")!.paths).toEqual(["stdin.workflows[sfWfTrmmIngest01]"]);
  });

  it("adding a dedicated project adds its worker and updates only the ingress and the hub's peer set", async () => {
    const c = clone(prod);
    c["supafleet:tenants"].push({
      slug: "stadtwerke",
      name: "Stadtwerke Nord",
      contact: { name: "IT", email: "it@stadtwerke-nord.de" },
      plan: "enterprise",
      isolation: "dedicated",
      projects: [{ name: "stadtwerke", subdomain: "stadtwerke", slot: 8, placement: { dedicated: { serverType: "cx33", address: "10.100.0.21" } } }],
    });
    const changes = diffSnapshots(base, await runDoc("prod", c));
    for (const n of names(changes, "create")) expect(belongsTo(n, "stadtwerke"), n).toBe(true);
    expect(names(changes, "create")).toEqual(expect.arrayContaining(["stadtwerke-dedicated", "stadtwerke-dedicated-server", "stadtwerke-dedicated-wireguard-key"]));
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "update")).toEqual(["edge-config", "master-hub-sync", "monitoring-reconcile", "monitoring-secrets"]);
    const hub = changes.find((ch) => ch.name === "master-hub-sync")!;
    expect(hub.paths).toEqual(["stdin.nftables", "stdin.peers"]);
    expectOnlyMonitorsOf(changes, /project\/stadtwerke|tenant\/stadtwerke|backup\/stadtwerke|worker\/stadtwerke-dedicated/);
  });

  it("removing a project without retiring its backups is refused: its backup credentials are protected", async () => {
    const c = clone(prod);
    c["supafleet:tenants"] = c["supafleet:tenants"].filter((t: Doc) => t.slug !== "praxis-mueller");
    c["supafleet:workers"] = c["supafleet:workers"].filter((w: Doc) => w.name !== "w3");
    const changes = diffSnapshots(base, await runDoc("prod", c));
    // (prod's servers are protected too: w3-server is refused as well.)
    const refused = changes.filter((ch) => ch.protected && ch.name.startsWith("praxis")).map((ch) => ch.name).sort();
    expect(refused).toEqual(["praxis-backup-reader", "praxis-backup-reader-key", "praxis-backup-reader-subaccount-password", "praxis-backup-restic-password", "praxis-backup-subaccount", "praxis-backup-subaccount-password"]);
  });

  it("removing a worker and its project, with the project's backups retired, removes only theirs and keeps the backups", async () => {
    const c = clone(prod);
    c["supafleet:tenants"] = c["supafleet:tenants"].filter((t: Doc) => t.slug !== "praxis-mueller");
    c["supafleet:workers"] = c["supafleet:workers"].filter((w: Doc) => w.name !== "w3");
    c["supafleet:backups"].retired = ["praxis"];
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(changes.filter((ch) => ch.protected).map((ch) => ch.name)).toEqual(["w3-server"]);
    // The job stops running (its timers go with the enable command, its WAL monitor's token with its WAL archive);
    // its repository and credentials stay.
    expect(names(changes, "delete")).toContain("praxis-backup-enable");
    expect(names(changes, "delete").filter((n) => n.startsWith("praxis-backup")).sort()).toEqual(["praxis-backup-enable", "praxis-backup-wal-push-token"]);
    for (const n of names(changes, "delete")) expect(belongsTo(n, "praxis") || belongsTo(n, "w3"), n).toBe(true);
    expect(names(changes, "delete")).toEqual(expect.arrayContaining(["w3-server", "praxis-jwt-secret", "edge-dns-praxis"]));
    expect(names(changes, "create")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "update")).toEqual(["edge-config", "master-hub-sync", "monitoring-reconcile", "monitoring-secrets"]);
    expectOnlyMonitorsOf(changes, /project\/praxis|tenant\/praxis-mueller|backup\/praxis|worker\/w3/);
  });

  it("retiring a project whose restic password was rotated keeps every round only when the retired entry carries its counter", async () => {
    const rotated = clone(prod);
    const praxis = rotated["supafleet:tenants"].find((t: Doc) => t.slug === "praxis-mueller").projects.find((p: Doc) => p.name === "praxis");
    praxis.rotate = { restic: 2 };
    const before = await runDoc("prod", rotated);
    const retire = (entry: unknown): Doc => {
      const c = clone(rotated);
      c["supafleet:tenants"] = c["supafleet:tenants"].filter((t: Doc) => t.slug !== "praxis-mueller");
      c["supafleet:workers"] = c["supafleet:workers"].filter((w: Doc) => w.name !== "w3");
      c["supafleet:backups"].retired = [entry];
      return c;
    };
    const kept = diffSnapshots(before, await runDoc("prod", retire({ name: "praxis", rotate: { restic: 2 } })));
    expect(names(kept, "delete").filter((n) => n.startsWith("praxis-backup")).sort()).toEqual(["praxis-backup-enable", "praxis-backup-wal-push-token"]);
    // Retired by name alone, the later rounds would go: Pulumi refuses, as they are protected.
    const dropped = diffSnapshots(before, await runDoc("prod", retire("praxis")));
    expect(dropped.filter((ch) => ch.protected).map((ch) => ch.name).sort()).toEqual(["praxis-backup-restic-password-r1", "praxis-backup-restic-password-r2", "w3-server"]);
  });

  it("adding an operator updates keys and firewalls in place and replaces nothing", async () => {
    const c = clone(prod);
    c["supafleet:operators"].push({ ...clone(c["supafleet:operators"][1]), name: "lea", email: "lea@techhilfepro.de", sourceRanges: ["203.0.113.64/28"] });
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "create")).toEqual([]);
    // The new operator's email also joins the Access allow policy.
    expect(names(changes, "update")).toEqual(["edge-operators", "master-authorized-keys", "master-firewall", "master-hub-sync", ...["rmm", "surgir-dedicated", "w1", "w2", "w3"].map((w) => `${w}-authorized-keys`)].sort());
  });
});

describe("the settled resource tree", () => {
  it("carries no alias before the first pulumi up, nests each project's RLS under it, and keeps its backups beside it", () => {
    expect(base.resources.filter((r) => r.aliases !== undefined).map((r) => r.name)).toEqual([]);
    const byKey = new Map(base.resources.map((r) => [r.key, r]));
    const parentOf = (name: string): string | undefined => {
      const r = base.resources.find((x) => x.name === name)!;
      return r.parent === undefined ? undefined : byKey.get(r.parent)!.name;
    };
    for (const r of base.resources.filter((x) => x.type === "supafleet:index:RlsPolicySet")) expect(parentOf(r.name), r.name).toBe(r.name.replace(/-rls$/, ""));
    for (const r of base.resources.filter((x) => x.type === "supafleet:index:BackupSchedule")) expect(parentOf(r.name), r.name).toBeUndefined();
  });
});

describe("moving one project's Studio from its worker to the master", () => {
  const c = clone(prod);
  const project = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).find((p: Doc) => p.studio === "worker")!;
  delete project.studio;
  let changes: Change[];

  it("renders", async () => {
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    changes = diffSnapshots(base, head);
  });

  it("adds that project's Studio to the master's set and changes nothing of any other project", () => {
    expect(names(changes, "create")).toEqual([`studios-${project.name}`, `studios-${project.name}-refresh`, `studios-${project.name}-secrets`]);
    // Its dashboard password goes: a Studio on the master has none.
    expect(names(changes, "delete")).toEqual([`${project.name}-dashboard-password`]);
    expect(names(changes, "replace")).toEqual([]);
    // On the worker: the compose file loses Studio, Kong its dashboard route, the .env Studio's settings.
    expect(names(changes, "update")).toEqual([`${project.name}-config`, `${project.name}-deploy`, "edge-config", "monitoring-reconcile", "monitoring-secrets"].sort());
    // The tunnel sends only its Studio hostname to the master's loopback, where the waker listens.
    expect(changes.find((u) => u.name === "edge-config")!.paths).toEqual([`config.ingresses[${project.subdomain}-studio.techhilfepro.de].service`]);
    // Kuma stops calling its Studio with the dashboard password (that would wake it on every check).
    expectOnlyMonitorsOf(changes, new RegExp(`project/${project.name}`));
    for (const ch of changes) expect(belongsTo(ch.name, project.name) || /^(edge-config|monitoring-(reconcile|secrets))$/.test(ch.name), ch.name).toBe(true);
  });
});

describe("moving a project to another worker", () => {
  const c = clone(prod);
  const tenant = c["supafleet:tenants"].find((t: Doc) => (t.projects ?? []).some((p: Doc) => p.placement.worker !== undefined && p.name !== c["supafleet:automations"]?.opsProject));
  const project = tenant.projects.find((p: Doc) => p.placement.worker !== undefined && p.name !== c["supafleet:automations"]?.opsProject);
  const from: string = project.placement.worker;
  const to: string = c["supafleet:workers"].map((w: Doc) => w.name).find((n: string) => n !== from);
  project.placement = { worker: to };
  project.movedFrom = from;
  let head: Snapshot;

  it("renders", async () => {
    head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
  });

  it("adds the three move steps and changes only the project, its backup job, its ingress and its monitors", () => {
    const changes = diffSnapshots(base, head);
    expect(names(changes, "create")).toEqual([`${project.name}-move`, `${project.name}-move-cleanup`, `${project.name}-move-in`, `${project.name}-move-out`]);
    expect(names(changes, "delete")).toEqual([]);
    // Its Studio on the master now calls the new worker's gateway: an awake one restarts.
    expect(names(changes, "replace")).toEqual([`studios-${project.name}-refresh`]);
    const others = names(changes, "update").filter((n) => !belongsTo(n, project.name));
    // The tunnel's rules point at the new worker; Kuma's monitors and the workers' health agents follow.
    for (const n of others) expect(n, n).toMatch(/^(edge-config|monitoring-(reconcile|secrets)|w\d-health-agent|w\d-firewall)$/);
    expect(others).toContain("edge-config");
    const ingress = changes.find((u) => u.name === "edge-config")!;
    for (const p of ingress.paths) expect(p, p).toContain(project.subdomain);
  });

  it("runs in order: stop on the old worker, deploy on the new one, restore there, then switch the ingress and clean up the old one", () => {
    const byName = (n: string): Snapshot["resources"][number] => head.resources.find((r) => r.name === n)!;
    const keyOf = (n: string): string => byName(n).key;
    const deps = (n: string): string[] => byName(n).dependsOn ?? [];
    expect(deps(`${project.name}-deploy`)).toContain(keyOf(`${project.name}-move-out`));
    expect(deps(`${project.name}-move-in`)).toEqual(expect.arrayContaining([keyOf(`${project.name}-move-out`), keyOf(`${project.name}-deploy`), keyOf(`${project.name}-backup-enable`)]));
    expect(deps(`${project.name}-move-cleanup`)).toEqual([keyOf(`${project.name}-move-in`)]);
    // The ingress also waits for the Studios on the master to be installed.
    const studios = head.resources.filter((r) => /^studios-[a-z0-9-]+$/.test(r.name) && r.name !== "studios-tools" && !/-(refresh|secrets)$/.test(r.name)).map((r) => r.key);
    expect([...deps("edge-config")].sort()).toEqual([keyOf(`${project.name}-move-in`), ...studios].sort());
    // Out and cleanup run on the worker it leaves; in, on the one it goes to.
    // The connection holds the deploy key, so the whole of it is a secret.
    const host = (n: string): string => {
      const conn = byName(n).inputs.connection as { host?: string; value?: { host: string } };
      return conn.host ?? conn.value!.host;
    };
    const address = (w: string): string => c["supafleet:workers"].find((x: Doc) => x.name === w).address;
    expect([host(`${project.name}-move-out`), host(`${project.name}-move-cleanup`), host(`${project.name}-move-in`)]).toEqual([address(from), address(from), address(to)]);
    // Step 3 restores the snapshot step 1 printed.
    expect(byName(`${project.name}-move-in`).inputs.stdin).toBe(byName(`${project.name}-move-out`).outputs.stdout);
  });
});

describe("rotating the deploy SSH key in two steps", () => {
  const step1 = clone(prod);
  step1["supafleet:deploy"] = { keyRound: 1, previousKeyRetired: false };
  const step2 = clone(prod);
  step2["supafleet:deploy"] = { keyRound: 1, previousKeyRetired: true };
  let first: Snapshot;
  let second: Snapshot;
  const hosts = (s: Snapshot): string[] => s.resources.filter((r) => /^supafleet:index:(MasterNode|WorkerNode|RmmNode)$/.test(r.type)).map((r) => r.name);
  const authorized = (s: Snapshot, host: string): string => {
    const stdin = s.resources.find((r) => r.name === `${host}-authorized-keys`)!.inputs.stdin as string;
    return stdin;
  };
  const deployLines = (text: string): string[] => text.split("\n").filter((l) => l.endsWith(" supafleet-deploy"));
  const privateKeyOf = (s: Snapshot, name: string): unknown => s.resources.find((r) => r.name === name)!.outputs.privateKeyOpenssh;
  const connectionKey = (r: Snapshot["resources"][number]): unknown => {
    const conn = r.inputs.connection as { value?: { privateKey: unknown }; privateKey?: unknown };
    return (conn.value ?? conn).privateKey;
  };

  it("renders both steps", async () => {
    first = await runDoc("prod", step1);
    second = await runDoc("prod", step2);
    expect([first.error, second.error]).toEqual([undefined, undefined]);
  });

  it("step 1: every host accepts the new key beside the old, the program still signs in with the old, and no server is replaced", () => {
    const changes = diffSnapshots(base, first);
    expect(names(changes, "create")).toEqual(["master-deploy-key-r1", "master-sshkey-deploy-r1"]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "update")).toEqual(hosts(first).map((h) => `${h}-authorized-keys`).sort());
    for (const h of hosts(first)) expect(deployLines(authorized(first, h)), h).toHaveLength(2);
    const old = privateKeyOf(first, "master-deploy-key");
    for (const r of first.resources.filter((x) => x.type === "command:remote:Command")) expect(connectionKey(r), r.name).toBe(old);
  });

  it("step 2: the program signs in with the new key, every host drops the old one, and still no server is replaced", () => {
    const changes = diffSnapshots(first, second);
    expect(names(changes, "delete")).toEqual(["master-deploy-key", "master-sshkey-deploy"]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "create")).toEqual([]);
    const fresh = privateKeyOf(second, "master-deploy-key-r1");
    for (const r of second.resources.filter((x) => x.type === "command:remote:Command")) expect(connectionKey(r), r.name).toBe(fresh);
    for (const h of hosts(second)) {
      expect(deployLines(authorized(second, h)), h).toEqual([deployLines(authorized(first, h))[1]]);
    }
  });
});

describe("rotating a worker's WireGuard key in two steps", () => {
  const worker = (prod["supafleet:workers"] as Doc[])[0]!.name as string;
  const withKey = (key: Doc): Doc => {
    const c = clone(prod);
    c["supafleet:workers"].find((w: Doc) => w.name === worker).wireguard = key;
    return c;
  };
  let first: Snapshot;
  let second: Snapshot;
  const find = (s: Snapshot, name: string): Snapshot["resources"][number] => s.resources.find((r) => r.name === name)!;
  const unwrap = (v: unknown): string => (typeof v === "object" && v !== null && "value" in v ? (v as { value: string }).value : (v as string));
  const keyOf = (s: Snapshot, name: string): string => find(s, name).outputs.base64 as string;
  const hubPeers = (s: Snapshot): string => (JSON.parse(unwrap(find(s, "master-hub-sync").inputs.stdin)) as { peers: string }).peers;

  it("renders both steps", async () => {
    first = await runDoc("prod", withKey({ keyRound: 1, previousKeyRetired: false }));
    second = await runDoc("prod", withKey({ keyRound: 1, previousKeyRetired: true }));
    expect([first.error, second.error]).toEqual([undefined, undefined]);
  });

  it("step 1: only the new key and its staging on that worker; the hub, the server and every other host are untouched", () => {
    const changes = diffSnapshots(base, first);
    expect(names(changes, "create")).toEqual([`${worker}-wireguard-key-r1`, `${worker}-wireguard-next`]);
    expect(names(changes, "update")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    // What is staged: the worker's own config with the new private key, and the unit that switches to it.
    const payload = JSON.parse(unwrap(find(first, `${worker}-wireguard-next`).inputs.stdin)) as { files: Record<string, { content: string }>; enable: string[] };
    const staged = payload.files["/etc/wireguard/next/wg0.conf"]!.content;
    expect(staged).toContain(`PrivateKey = ${keyOf(first, `${worker}-wireguard-key-r1`)}`);
    expect(staged).not.toContain(keyOf(first, `${worker}-wireguard-key`));
    expect(payload.enable).toEqual(["supafleet-wireguard-rotate.service"]);
    expect(payload.files["/etc/systemd/system/supafleet-wireguard-rotate.service"]!.content).toContain("ExecStart=/usr/local/lib/supafleet/wireguard-rotate.sh 10.");
    expect(hubPeers(first)).toContain(wireguardPublicKey(keyOf(first, `${worker}-wireguard-key`)));
  });

  it("step 2: the hub gets the new public key, the old key goes, the switch is confirmed after hub-sync, and no server is replaced", () => {
    const changes = diffSnapshots(first, second);
    expect(names(changes, "delete")).toEqual([`${worker}-wireguard-key`]);
    expect(names(changes, "create")).toEqual([`${worker}-wireguard-confirm`]);
    expect(names(changes, "replace")).toEqual([]);
    // The server's boot data now holds the new key (for a server made from here on), and Pulumi ignores it.
    expect(names(changes, "update")).toEqual(["master-hub-sync"]);
    const fresh = wireguardPublicKey(keyOf(second, `${worker}-wireguard-key-r1`));
    const old = wireguardPublicKey(keyOf(first, `${worker}-wireguard-key`));
    expect(hubPeers(second)).toContain(fresh);
    expect(hubPeers(second)).not.toContain(old);
    // Every other peer of the hub is as it was.
    expect(hubPeers(second).replace(fresh, old)).toBe(hubPeers(first));
    const confirm = find(second, `${worker}-wireguard-confirm`);
    expect(confirm.inputs.create).toContain(`\nPUBLIC_KEY='${fresh}'\n`);
    expect(confirm.dependsOn).toEqual(expect.arrayContaining([find(second, "master-hub-sync").key, find(second, `${worker}-wireguard-next`).key]));
    expect(unwrap(find(second, `${worker}-server`).inputs.userData)).toContain(keyOf(second, `${worker}-wireguard-key-r1`));
  });

  it("Tactical RMM's node rotates the same way: step 1 adds only its new key and the staging on it", async () => {
    const c = clone(prod);
    c["supafleet:rmm"].wireguard = { keyRound: 1, previousKeyRetired: false };
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(names(changes, "create")).toEqual(["rmm-wireguard-key-r1", "rmm-wireguard-next"]);
    expect([...names(changes, "update"), ...names(changes, "replace"), ...names(changes, "delete")]).toEqual([]);
  });

  it("a step 2 without a step 1 is refused at round 0, naming the path", async () => {
    const refused = await runDoc("prod", withKey({ keyRound: 0, previousKeyRetired: false }));
    expect(refused.error).toContain("workers[0].wireguard.previousKeyRetired");
  });
});

describe("rotating the hub's WireGuard key in two steps", () => {
  const withHub = (rotation: Doc): Doc => {
    const c = clone(prod);
    c["supafleet:wireguard"] = { ...c["supafleet:wireguard"], hubRotation: rotation };
    return c;
  };
  let first: Snapshot;
  let second: Snapshot;
  const spokes = (s: Snapshot): string[] => s.resources.filter((r) => /^supafleet:index:(WorkerNode|RmmNode)$/.test(r.type)).map((r) => r.name).sort();
  const find = (s: Snapshot, name: string): Snapshot["resources"][number] => s.resources.find((r) => r.name === name)!;
  const unwrap = (v: unknown): string => (typeof v === "object" && v !== null && "value" in v ? (v as { value: string }).value : (v as string));
  const hubKey = (s: Snapshot, name: string): string => wireguardPublicKey(find(s, name).outputs.base64 as string);

  it("renders both steps", async () => {
    first = await runDoc("prod", withHub({ keyRound: 1, previousKeyRetired: false }));
    second = await runDoc("prod", withHub({ keyRound: 1, previousKeyRetired: true }));
    expect([first.error, second.error]).toEqual([undefined, undefined]);
  });

  it("step 1: the hub's new key, and on every spoke a staged config that names it; nothing live changes", () => {
    const changes = diffSnapshots(base, first);
    expect(names(changes, "create")).toEqual(["master-wireguard-key-r1", ...spokes(first).map((s) => `${s}-wireguard-next`)].sort());
    expect([...names(changes, "update"), ...names(changes, "replace"), ...names(changes, "delete")]).toEqual([]);
    const fresh = hubKey(first, "master-wireguard-key-r1");
    for (const s of spokes(first)) {
      const staged = (JSON.parse(unwrap(find(first, `${s}-wireguard-next`).inputs.stdin)) as { files: Record<string, { content: string }> }).files["/etc/wireguard/next/wg0.conf"]!.content;
      expect(staged, s).toContain(`PublicKey = ${fresh}`);
    }
  });

  it("step 2: the master stages and switches its key after hub-sync; every spoke confirms after the switch; nothing is replaced", () => {
    const changes = diffSnapshots(first, second);
    expect(names(changes, "delete")).toEqual(["master-wireguard-key"]);
    expect(names(changes, "create")).toEqual(["master-wireguard-next", "master-wireguard-switch", ...spokes(second).map((s) => `${s}-wireguard-confirm`)].sort());
    expect([...names(changes, "update"), ...names(changes, "replace")]).toEqual([]);
    const fresh = hubKey(second, "master-wireguard-key-r1");
    const switchCmd = find(second, "master-wireguard-switch");
    expect(switchCmd.dependsOn).toEqual(expect.arrayContaining([find(second, "master-wireguard-next").key, find(second, "master-hub-sync").key]));
    for (const s of spokes(second)) {
      const confirm = find(second, `${s}-wireguard-confirm`);
      expect(confirm.inputs.create, s).toContain(`\nHUB_PUBLIC_KEY='${fresh}'\n`);
      expect(confirm.dependsOn, s).toContain(switchCmd.key);
    }
  });

  it("is refused while a spoke's own rotation is between its steps, naming the spoke", async () => {
    const c = withHub({ keyRound: 1, previousKeyRetired: false });
    c["supafleet:workers"][0].wireguard = { keyRound: 1, previousKeyRetired: false };
    expect((await runDoc("prod", c)).error).toContain("workers[0].wireguard.previousKeyRetired: the hub's key rotation is between its steps");
  });
});

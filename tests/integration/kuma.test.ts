import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFleetConfig } from "../../src/config/load";
import { planFleet } from "../../src/plan/planFleet";
import { agentPushId, FLEET_STATUS_PAGE, kumaDesired, pushSecret, type KumaDesired } from "../../src/monitoring/kuma";
import { monitorsOf, readKuma } from "../../templates/console/kuma";
import { KumaClient, TestKuma, reconcile, type KumaMonitorJson } from "../helpers/kuma";
import { clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";

/**
 * The reconcile script against a real Uptime Kuma (the npm registry's 2.0
 * development build), started here on loopback with a fresh database.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const kuma = new TestKuma(23901);
const ADMIN = { username: "supafleet", password: "Adm1nPassw0rdForTests" };
let client: KumaClient;

function desiredFor(doc: Doc): KumaDesired {
  const { config } = loadFleetConfig(withDeclaredSecrets(validatorInput(doc, "staging")));
  return kumaDesired(planFleet("staging", config), { ntfy: { server: "http://127.0.0.1:9", topic: "fleet", token: true }, telegram: { chatId: "-100200" } });
}

/** A value for every `${secret:…}` the desired state names, as the secrets file on the master holds them. */
function secretsFor(d: KumaDesired): Record<string, string> {
  const names = [...JSON.stringify(d).matchAll(/\$\{secret:([^}]+)\}/g)].map((m) => m[1]!);
  return Object.fromEntries(names.map((n) => [n, n.startsWith("push:") ? `tok${Buffer.from(n).toString("hex")}`.slice(0, 32) : `value-of-${n}`]));
}

const run = (desired: KumaDesired | null, setup = false) => reconcile({ url: kuma.url, ...ADMIN, setup, desired, secrets: desired ? secretsFor(desired) : {} });

const managedIds = (monitors: KumaMonitorJson[]): string[] => monitors.flatMap((m) => m.tags.filter((t) => t.name === "supafleet").map((t) => t.value)).sort();

beforeAll(async () => {
  await kuma.start();
  // The install's first step: the admin account, before anything else.
  const r = run(null, true);
  expect(r.stderr).toContain('created the admin account "supafleet"');
  expect(r.status).toBe(0);
  client = await KumaClient.login(kuma.url, ADMIN.username, ADMIN.password);
}, 120_000);

afterAll(() => {
  client?.close();
  kuma.stop();
});

describe("reconciling Uptime Kuma with the staging fleet", () => {
  const doc = clone(stackDoc("staging")) as Doc;
  // One tenant asks for a public status page.
  doc["supafleet:tenants"].find((t: Doc) => t.projects?.some((p: Doc) => p.name === "smarteros")).statusPage = true;
  const desired = desiredFor(doc);
  let foreignId: number;

  it("a setup request after the admin account exists is refused", () => {
    const r = run(null, true);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain("created the admin account");
  });

  it("creates exactly the modelled monitors, with their groups, the supafleet tag and both notifications on each", async () => {
    // Someone's own monitor, made by hand in the UI: supafleet must never touch it.
    foreignId = (await client.call<{ monitorID: number }>("add", { type: "http", name: "hand-made", url: "http://127.0.0.1:9/", method: "GET", interval: 60, retryInterval: 60, maxretries: 0, accepted_statuscodes: ["200-299"], notificationIDList: {}, kafkaProducerBrokers: [], kafkaProducerSaslOptions: {} })).monitorID;

    const r = run(desired);
    expect(r.stderr).toMatch(/Kuma 2\.0\.0-dev\.0: \d+ created, 0 updated, 0 deleted, 0 unchanged/);
    expect(r.status).toBe(0);
    expect(r.summary.created.sort()).toEqual([...desired.monitors.map((m) => m.id), "supafleet/ntfy", "supafleet/telegram", ...desired.statusPages.map((p) => `status page ${p.slug}`)].sort());

    const monitors = await client.monitors();
    expect(managedIds(monitors)).toEqual(desired.monitors.map((m) => m.id).sort());
    const byKumaId = new Map(monitors.map((m) => [m.id, m]));
    const tagOf = (m: KumaMonitorJson | undefined): string | undefined => m?.tags.find((t) => t.name === "supafleet")?.value;
    const notifications = await client.notifications();
    expect(notifications.map((n) => n.name).sort()).toEqual(["supafleet/ntfy", "supafleet/telegram"]);
    const ours = notifications.map((n) => String(n.id)).sort();
    for (const want of desired.monitors) {
      const have = monitors.find((m) => tagOf(m) === want.id)!;
      expect(have.type, want.id).toBe(want.type);
      expect(have.name, want.id).toBe(want.name);
      expect(tagOf(byKumaId.get(have.parent ?? -1)), want.id).toBe(want.parent);
      expect(Object.keys(have.notificationIDList).sort(), want.id).toEqual(ours);
    }
    // Secrets are filled on the master: the anon key header and the push tokens are the real values.
    const rest = monitors.find((m) => tagOf(m) === "project/ops/edge/rest")!;
    expect(JSON.parse(rest.headers!)).toEqual({ apikey: "value-of-anonKey:ops" });
    expect(monitors.find((m) => tagOf(m) === "worker/w1/agent")!.pushToken).toMatch(/^tok/);
  });

  it("publishes the tenant's status page with its own projects' API checks and nothing else", async () => {
    const page = desired.statusPages[0]!;
    const res = await fetch(`${kuma.url}/api/status-page/${page.slug}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { config: { title: string }; publicGroupList: { name: string; monitorList: { name: string }[] }[] };
    expect(body.config.title).toBe(page.title);
    expect(body.publicGroupList.map((g) => g.name)).toEqual(["smarteros.techhilfe.dev"]);
    expect(body.publicGroupList[0]!.monitorList.map((m) => m.name).sort()).toEqual(["auth", "realtime", "rest", "storage"].map((s) => `smarteros · edge · ${s}`).sort());
  });

  it("keeps an internal page of every nightly backup for n8n's morning report, on no hostname", async () => {
    const res = await fetch(`${kuma.url}/api/status-page/supafleet-backups`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { publicGroupList: { monitorList: { name: string }[] }[] };
    // The nightly runs; a project's WAL archive (backup/<p>/wal) is watched, but is no nightly backup.
    const backups = desired.monitors.filter((m) => m.id.startsWith("backup/") && !m.id.endsWith("/wal")).map((m) => m.name);
    expect(backups.length).toBeGreaterThan(2);
    expect(body.publicGroupList.flatMap((g) => g.monitorList.map((m) => m.name)).sort()).toEqual(backups.sort());
    const config = await client.call<{ config: { domainNameList: string[] } }>("getStatusPage", "supafleet-backups");
    expect(config.config.domainNameList).toEqual([]);
  });

  it("the console reads the fleet status page: every monitor fleet.json names is there, and a worker's down push shows", async () => {
    const withConsole = clone(doc) as Doc;
    withConsole["supafleet:cloudflare"] = { ...withConsole["supafleet:cloudflare"], teamName: "techhilfepro" };
    withConsole["supafleet:console"] = { enabled: true };
    const view = planFleet("staging", loadFleetConfig(withDeclaredSecrets(validatorInput(withConsole, "staging"))).config).console!.fleet;
    const token = secretsFor(desired)[pushSecret(agentPushId(view.workers[0]!.name))]!;
    expect((await fetch(`${kuma.url}/api/push/${token}?status=down&msg=${encodeURIComponent("disk 95% used")}&ping=`)).status).toBe(200);
    const reading = await readKuma(kuma.url, FLEET_STATUS_PAGE);
    expect(reading.reachable).toBe(true);
    for (const named of [...view.workers.map((w) => w.monitors), ...view.tenants.flatMap((t) => t.projects.map((p) => p.links.monitors))]) {
      expect(monitorsOf(reading, named).map((m) => m.name).sort()).toEqual([...named].sort());
    }
    const agent = monitorsOf(reading, view.workers[0]!.monitors).find((m) => m.name.endsWith("health agent"))!;
    // A public status page's heartbeats carry no message (Kuma keeps monitors' messages private): the reason comes from the worker's own report.
    expect(agent.status).toBe("down");
  });

  it("a second reconcile changes nothing", () => {
    const r = run(desired);
    expect(r.status).toBe(0);
    expect(r.summary).toMatchObject({ created: [], updated: [], deleted: [], unchanged: desired.monitors.length });
  });

  it("puts back what someone changed by hand", async () => {
    const monitors = await client.monitors();
    const auth = monitors.find((m) => m.tags.some((t) => t.value === "project/ops/edge/auth"))!;
    await client.call("editMonitor", { ...auth, url: "https://example.invalid/", accepted_statuscodes: ["200-299"], kafkaProducerBrokers: [], kafkaProducerSaslOptions: {} });
    const r = run(desired);
    expect(r.summary.updated).toEqual(["project/ops/edge/auth (url)"]);
  });

  it("removing a project removes only its monitors, and never one supafleet did not create", async () => {
    const fewer = clone(doc);
    const t = fewer["supafleet:tenants"].find((x: Doc) => x.projects?.some((p: Doc) => p.name === "registry"));
    t.projects = t.projects.filter((p: Doc) => p.name !== "registry");
    const next = desiredFor(fewer);
    const gone = desired.monitors.map((m) => m.id).filter((id) => !next.monitors.some((m) => m.id === id));
    expect(gone).toEqual(expect.arrayContaining(["project/registry", "project/registry/edge/rest", "backup/registry", "backup/registry/wal"]));
    expect(gone.every((id) => id.startsWith("project/registry") || id === "backup/registry" || id === "backup/registry/wal")).toBe(true);

    const r = run(next);
    expect(r.status).toBe(0);
    expect(r.summary.deleted.sort()).toEqual(gone.sort());
    expect(r.summary.created).toEqual([]);
    // Kuma drops a deleted monitor from every page itself; only the fleet page changes, losing the project's empty group.
    expect(r.summary.updated).toEqual(["status page supafleet-fleet"]);
    const monitors = await client.monitors();
    expect(managedIds(monitors)).toEqual(next.monitors.map((m) => m.id).sort());
    expect(monitors.some((m) => m.id === foreignId && m.name === "hand-made")).toBe(true);
  });
});

describe("an alert, end to end", () => {
  let target: Server;
  let ntfy: Server;
  const posted: { title: string; topic: string }[] = [];

  beforeAll(async () => {
    target = createServer((_, res) => res.end("ok")).listen(0, "127.0.0.1");
    ntfy = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        posted.push(JSON.parse(body) as { title: string; topic: string });
        res.end("{}");
      });
    }).listen(0, "127.0.0.1");
    await Promise.all([target, ntfy].map((s) => new Promise((r) => s.once("listening", r))));
  });

  afterAll(() => {
    target.close();
    ntfy.close();
  });

  it("stopping a monitored listener takes its monitor down, and the alert reaches ntfy", async () => {
    const port = (target.address() as AddressInfo).port;
    const desired: KumaDesired = {
      tag: "supafleet",
      notifications: [{ name: "supafleet/ntfy", config: { type: "ntfy", ntfyserverurl: `http://127.0.0.1:${(ntfy.address() as AddressInfo).port}`, ntfytopic: "fleet", ntfyPriority: 4, ntfyAuthenticationMethod: "none" } }],
      monitors: [
        { id: "fleet", name: "fleet", type: "group", description: "g", interval: 20, retryInterval: 20, maxretries: 0 },
        { id: "fleet/listener", parent: "fleet", name: "local listener", type: "http", description: "d", url: `http://127.0.0.1:${port}/`, interval: 20, retryInterval: 20, maxretries: 0, acceptedStatusCodes: ["200-299"] },
      ],
      statusPages: [],
    };
    expect(run(desired).status).toBe(0);
    const id = (await client.monitors()).find((m) => m.tags.some((t) => t.value === "fleet/listener"))!.id;
    await client.heartbeat(id, (h) => h.status === 1);

    target.closeAllConnections();
    await new Promise((r) => target.close(r));
    const down = await client.heartbeat(id, (h) => h.status === 0);
    expect(down.msg).toMatch(/ECONNREFUSED/);
    for (let i = 0; i < 30 && !posted.some((p) => p.title.includes("Down")); i++) await new Promise((r) => setTimeout(r, 500));
    expect(posted).toContainEqual(expect.objectContaining({ topic: "fleet", title: "local listener Down [Uptime-Kuma]" }));
  }, 150_000);
});

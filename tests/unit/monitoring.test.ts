import { describe, expect, it } from "vitest";
import { loadFleetConfig } from "../../src/config/load";
import { planFleet } from "../../src/plan/planFleet";
import type { FleetPlan } from "../../src/plan/types";
import { FLEET_STATUS_PAGE, kumaDesired, renderMonitorList, type KumaDesired } from "../../src/monitoring/kuma";
import { ingressRules } from "../../src/render/ingress";
import { validateIngress } from "../../src/render/ingressValidate";
import { runDoc } from "../helpers/offline";
import { check, clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";
import type { ServiceName } from "../../src/model/services";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const modelOf = (doc: Doc, stack = "prod"): FleetPlan => planFleet(stack, loadFleetConfig(withDeclaredSecrets(validatorInput(doc, stack))).config);
const prod = modelOf(stackDoc("prod") as Doc);
const desired = kumaDesired(prod, { ntfy: { server: "https://ntfy.sh/", topic: "t", token: false }, telegram: { chatId: "-1" } });
const ids = desired.monitors.map((m) => m.id);

describe("the monitor set of prod", () => {
  it("gives every project its API checks through the edge and over WireGuard, and a backup heartbeat, in its tenant's group", () => {
    for (const p of prod.projects) {
      const g = `project/${p.name}`;
      expect(desired.monitors.find((m) => m.id === g)).toMatchObject({ type: "group", parent: `tenant/${p.tenant.slug}` });
      for (const s of ["auth", "rest", "storage", "realtime"].filter((s) => p.services.includes(s as ServiceName))) {
        expect(desired.monitors.find((m) => m.id === `${g}/edge/${s}`)).toMatchObject({ type: "http", parent: g, url: expect.stringMatching(new RegExp(`^https://${p.hostnames.api.replaceAll(".", "\\.")}/`)) });
        expect(desired.monitors.find((m) => m.id === `${g}/wg/${s}`)).toMatchObject({ type: "http", parent: g, url: expect.stringMatching(new RegExp(`^http://${p.worker.address.replaceAll(".", "\\.")}:${p.ports.gateway}/`)) });
      }
      expect(desired.monitors.find((m) => m.id === `${g}/edge/rest`)!.headers).toContain(`"apikey": "\${secret:anonKey:${p.name}}"`);
      expect(desired.monitors.find((m) => m.id === `backup/${p.name}`)).toMatchObject({ type: "push", parent: g, pushToken: `\${secret:push:backup/${p.name}}` });
    }
  });

  it("watches every worker (WireGuard ping, health agent heartbeat), n8n, cloudflared and the master's backup", () => {
    for (const w of prod.workers) {
      expect(desired.monitors.find((m) => m.id === `worker/${w.name}/wireguard`)).toMatchObject({ type: "ping", hostname: w.address });
      expect(desired.monitors.find((m) => m.id === `worker/${w.name}/agent`)).toMatchObject({ type: "push", interval: 120 });
    }
    expect(desired.monitors.find((m) => m.id === "fleet/n8n")!.url).toBe("https://n8n.techhilfepro.de/healthz");
    expect(desired.monitors.find((m) => m.id === "fleet/cloudflared")!.url).toBe("http://127.0.0.1:20241/ready");
    expect(ids).toContain("backup/master");
  });

  it("lists every monitor that checks something, once, on supafleet's own fleet page, which no hostname routes to", () => {
    const page = desired.statusPages.find((p) => p.slug === FLEET_STATUS_PAGE)!;
    expect(page.hostname).toBeUndefined();
    const listed = page.groups.flatMap((g) => g.monitors);
    expect([...listed].sort()).toEqual(desired.monitors.filter((m) => m.type !== "group").map((m) => m.id).sort());
  });

  it("has unique ids whose parents come first, and holds no secret: only references the master fills", () => {
    expect(new Set(ids).size).toBe(ids.length);
    for (const [i, m] of desired.monitors.entries()) if (m.parent !== undefined) expect(ids.indexOf(m.parent), m.id).toBeLessThan(i);
    const refs = [...JSON.stringify(desired).matchAll(/\$\{secret:([^}]+)\}/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(prod.projects.length * 3);
    expect(desired.notifications.map((n) => n.name)).toEqual(["supafleet/ntfy", "supafleet/telegram"]);
    expect(desired.notifications[1]!.config.telegramBotToken).toBe("${secret:telegramBotToken}");
  });

  it("writes a readable monitor list to the render", async () => {
    const s = await runDoc("prod", stackDoc("prod"));
    const list = s.files.find((f) => f.path === "monitoring/monitors.txt")!.content;
    expect(list).toBe(renderMonitorList(kumaDesired(prod, { ntfy: { server: "https://ntfy.sh", topic: "techhilfe-fleet-prod", token: true }, telegram: { chatId: "-1001234567890" } })));
    expect(list).toMatch(/^ {2}▸ project\/ops {2}\[group\]$/m);
    expect(list).toContain("status page smarteros at https://status-smarteros.techhilfepro.de/");
  });
});

describe("a tenant's status page", () => {
  const rules = ingressRules(prod);
  const host = "status-smarteros.techhilfepro.de";

  /** Where cloudflared sends a request: the first rule whose hostname and path match. */
  const routeOf = (hostname: string, path: string): string => rules.find((r) => (r.hostname === undefined || r.hostname === hostname) && (r.path === undefined || new RegExp(r.path).test(path)))!.service;

  it("is public on its own hostname, for its own page and the files it loads", () => {
    expect(validateIngress(rules.map((r) => ({ ...(r.hostname ? { hostname: r.hostname } : {}), ...(r.path ? { path: r.path } : {}), service: r.service })))).toEqual([]);
    for (const path of ["/", "/status/smarteros", "/api/status-page/smarteros", "/api/status-page/heartbeat/smarteros", "/assets/index-5b1c.js", "/icon.svg", "/upload/logo3.png"]) {
      expect(routeOf(host, path), path).toBe("http://10.100.0.1:3001");
    }
  });

  it("reaches nothing else of Kuma: not its login, socket, setup, metrics, pushes or another tenant's page", () => {
    for (const path of ["/dashboard", "/socket.io/?EIO=4&transport=websocket", "/setup", "/setup-database", "/metrics", "/api/push/abc", "/status/ops", "/api/status-page/ops", "/api/badge/1/status", "/upload/../kuma.db", "/status/smarteros/../../dashboard"]) {
      expect(routeOf(host, path), path).toBe("http_status:404");
    }
  });

  it("is off unless the tenant asks, and then the stack refuses a project subdomain that would take its hostname", () => {
    expect(prod.tenants.filter((t) => t.statusPage).map((t) => t.slug)).toEqual(["smarteros"]);
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:tenants"][0].projects[0].subdomain = "status-ops";
    expect(check(c).issues).toContainEqual({ path: "tenants[0].projects[0].subdomain", message: 'must not start with "status-", which tenants\' status pages use' });
  });
});

describe("monitors follow each project's services and where its Studio runs", () => {
  // In prod, registry leaves out Realtime and functions, praxis keeps its Studio on its worker, and the rest run everything with Studio on the master.
  const of = (d: KumaDesired, project: string): string[] =>
    d.monitors
      .filter((m) => m.parent === `project/${project}`)
      .map((m) => m.id)
      .sort();
  const api = (project: string, services: string[]): string[] => [...services.flatMap((s) => [`project/${project}/edge/${s}`, `project/${project}/wg/${s}`]), `backup/${project}`, `backup/${project}/wal`];

  it("watches each service a project runs and nothing it left out: registry has no Realtime route, so no Realtime monitor", () => {
    expect(of(desired, "ops")).toEqual(api("ops", ["auth", "rest", "storage", "realtime"]).sort());
    expect(of(desired, "registry")).toEqual(api("registry", ["auth", "rest", "storage"]).sort());
  });

  it("signs in to a Studio on its worker (Access service token, then the dashboard password), and polls no Studio on the master", () => {
    expect(of(desired, "praxis")).toEqual([...api("praxis", ["auth", "rest", "storage", "realtime"]), "project/praxis/studio"].sort());
    const praxis = prod.projects.find((p) => p.name === "praxis")!;
    expect(desired.monitors.find((m) => m.id === "project/praxis/studio")).toMatchObject({
      url: `https://${praxis.hostnames.studio}/`,
      headers: expect.stringContaining('"CF-Access-Client-Secret": "${secret:accessClientSecret}"'),
      basicAuth: { user: "supafleet", pass: "${secret:dashboardPassword:praxis}" }, // the gateway's consumer (DASHBOARD_USERNAME)
    });
    // With the team name, cloudflared checks Access's token and Kong asks no password: the monitor sends none.
    const checked = kumaDesired({ ...prod, edge: { ...prod.edge, teamName: "techhilfe" } }, {}).monitors.find((m) => m.id === "project/praxis/studio")!;
    expect(checked.basicAuth).toBeUndefined();
    expect(checked.description).toBe("Studio on the worker, through Cloudflare Access (service token)");
    // Any request that reached a master Studio would wake it, and one a minute would keep it from ever sleeping.
    const onMaster = prod.projects.filter((p) => p.studio === "master");
    expect(onMaster.length).toBeGreaterThan(3);
    for (const p of onMaster) {
      expect(
        desired.monitors.filter((m) => (m.url ?? "").includes(p.hostnames.studio)),
        p.name,
      ).toEqual([]);
    }
    const passwords = [...JSON.stringify(desired).matchAll(/\$\{secret:(dashboardPassword:[^}]+)\}/g)].map((m) => m[1]);
    expect(passwords).toEqual(["dashboardPassword:praxis"]);
  });

  it("leaves a project without Storage without Storage monitors, on its tenant's public status page too", () => {
    const doc = clone(stackDoc("prod")) as Doc;
    const chat = (doc["supafleet:tenants"] as Doc[]).find((t) => t.slug === "smarteros")!.projects.find((p: Doc) => p.name === "smarteros-chat");
    chat.services = { storage: false, imgproxy: false, realtime: false };
    const d = kumaDesired(modelOf(doc), {});
    expect(of(d, "smarteros-chat")).toEqual(api("smarteros-chat", ["auth", "rest"]).sort());
    const page = d.statusPages.find((p) => p.slug === "smarteros")!;
    expect(page.groups.find((g) => g.name === "smarteros-chat.techhilfepro.de")!.monitors).toEqual(["project/smarteros-chat/edge/auth", "project/smarteros-chat/edge/rest"]);
    expect(page.groups.find((g) => g.name === "smarteros.techhilfepro.de")!.monitors).toHaveLength(4);
    // The fleet page lists exactly the monitors there are.
    const fleet = d.statusPages.find((p) => p.slug === FLEET_STATUS_PAGE)!.groups.flatMap((g) => g.monitors);
    expect(fleet.filter((id) => id.startsWith("project/smarteros-chat/")).sort()).toEqual(api("smarteros-chat", ["auth", "rest"]).filter((id) => id.startsWith("project/")).sort());
  });

  it("hands the master's Kuma exactly the secrets its monitors name: a dashboard password only for a worker Studio", async () => {
    const s = await runDoc("prod", stackDoc("prod"));
    const stdin = s.resources.find((r) => r.name === "monitoring-secrets")!.inputs.stdin as { value: string };
    const held = Object.keys((JSON.parse(stdin.value) as { values: Record<string, string> }).values).sort();
    // What the program renders for the reconcile, with prod's own alerting (its ntfy has a token).
    const rendered = s.files.find((f) => f.path === "monitoring/kuma-desired.json")!.content;
    const named = [...new Set([...rendered.matchAll(/\$\{secret:([^}]+)\}/g)].map((m) => m[1]!))].sort();
    expect(held).toEqual(named);
    expect(held.filter((k) => k.startsWith("dashboardPassword:"))).toEqual(["dashboardPassword:praxis"]);
  });
});

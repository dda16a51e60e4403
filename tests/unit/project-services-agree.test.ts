import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kumaDesired } from "../../src/monitoring/kuma";
import { projectPorts } from "../../src/model/ports";
import { workerServices, type ProjectShape } from "../../src/model/projectServices";
import { RELEASES } from "../../src/model/releases";
import { projectBackupPaths } from "../../src/plan/backups";
import { absentCheckName, GATEWAY_PATHS, type GatewayService } from "../../src/probe/checks/absent";
import { projectChecks } from "../../src/probe/run";
import { ProbeTargetSchema, targetServices } from "../../src/probe/target";
import { projectCompose, type ComposeFile } from "../../src/supabase/compose";
import { kongConfig, type KongConfig } from "../../src/supabase/kong";

/**
 * One project's choice of services, as every part of the program that looks at it sees it: the
 * containers on its worker (Compose), the gateway's routes (Kong), Uptime Kuma's monitors, the e2e
 * probe's checks and the backup's paths. Each is derived from the same ProjectPlan-like value, as
 * the program derives them, and each must tell the same story for any choice the validator accepts.
 */
const API = "crm.example.org";
const STUDIO = "crm-studio.example.org";
const WORKER = { name: "w1", address: "10.100.0.11" };
const GATEWAY = ["realtime", "storage", "functions"] as const satisfies readonly GatewayService[];

/** Valid choices: the validator refuses imgproxy without Storage (src/config/projectShape.ts). */
const shapes: fc.Arbitrary<ProjectShape> = fc.record({
  services: fc.record({ realtime: fc.boolean(), storage: fc.boolean(), imgproxy: fc.boolean(), functions: fc.boolean() }).map((s) => ({ ...s, imgproxy: s.imgproxy && s.storage })),
  studio: fc.constantFrom("master" as const, "worker" as const),
});

/** The parts of a ProjectPlan these views read. */
function planOf(shape: ProjectShape) {
  return { name: "crm", services: workerServices(shape), studio: shape.studio, worker: WORKER, ports: projectPorts(1), hostnames: { api: API, studio: STUDIO }, tenant: { slug: "t" }, pooledTenants: [] };
}

/** Which Kong service a request reaches: the longest matching path among routes whose hosts allow it (none: any host). */
function routed(kong: KongConfig, host: string, path: string): { name: string; upstream: string } | undefined {
  let best: { name: string; upstream: string; length: number } | undefined;
  for (const s of kong.services)
    for (const r of s.routes) {
      if (r.hosts !== undefined && !r.hosts.includes(host)) continue;
      for (const p of r.paths) if (path.startsWith(p) && (best === undefined || p.length > best.length)) best = { name: s.name, upstream: new URL(s.url).hostname, length: p.length };
    }
  return best;
}

/** Whether a host name reaches a container of the compose file: a service's own name or one of its aliases. */
const resolves = (c: ComposeFile, host: string): boolean =>
  Object.entries(c.services).some(([name, s]) => name === host || ((s as { networks?: { default?: { aliases?: string[] } } }).networks?.default?.aliases ?? []).includes(host));

function views(shape: ProjectShape) {
  const plan = planOf(shape);
  const compose = projectCompose({ project: plan.name, release: RELEASES["2026.08"]!, bindAddress: WORKER.address, ports: plan.ports, accessTokenHook: true, services: plan.services });
  const kong = kongConfig({ anonKey: "anon", serviceRoleKey: "service", dashboardPassword: "dashboard" }, { services: plan.services, studioHostname: STUDIO });
  const kuma = kumaDesired(
    { env: "test", domain: "example.org", hostnames: { n8n: "n8n.example.org" }, master: { name: "master" }, workers: [WORKER], projects: [plan], tenants: [{ slug: "t", name: "T", statusPage: true }], edge: {} },
    {},
  );
  const monitors = kuma.monitors.filter((m) => m.parent === "project/crm");
  const target = ProbeTargetSchema.shape.projects.element.parse({
    name: plan.name,
    apiUrl: `https://${API}`,
    studioUrl: `https://${STUDIO}`,
    anonKey: "anon",
    serviceKey: "service",
    worker: { name: WORKER.name, meshAddress: WORKER.address },
    tenants: [{ slug: "t", id: "00000000-0000-4000-8000-000000000001" }],
    mspOps: true,
    functions: plan.services.includes("functions") ? ["hello"] : [],
    services: targetServices(plan.services),
  });
  return { plan, compose, kong, kuma, monitors, checks: projectChecks(target), backup: projectBackupPaths(plan.name, plan.services) };
}

describe("a project's services, as Compose, Kong, Kuma, the probe and the backup see them", () => {
  it("agree for any choice: a service runs, is routed, is watched and is used exactly when the project keeps it", () => {
    fc.assert(
      fc.property(shapes, (shape) => {
        const v = views(shape);
        const runs = (s: string): boolean => s in v.compose.services;
        for (const s of GATEWAY) {
          const keeps = shape.services[s];
          const route = routed(v.kong, API, `${GATEWAY_PATHS[s]}x`);
          expect({ s, runs: runs(s), routed: route !== undefined }).toEqual({ s, runs: keeps, routed: keeps });
          // The probe uses what is kept; for what is left out it expects the gateway's "no Route matched", which it then is.
          expect({ s, left: v.checks.includes(absentCheckName(s)) }).toEqual({ s, left: !keeps });
        }
        expect(v.checks.includes("realtime")).toBe(shape.services.realtime);
        expect(v.checks.includes("storage")).toBe(shape.services.storage);
        expect(v.checks.includes("function hello")).toBe(shape.services.functions);
        // Kuma watches Storage and Realtime exactly when they run, through the edge and over WireGuard alike.
        for (const s of ["storage", "realtime"] as const) {
          expect(v.monitors.filter((m) => m.id.endsWith(`/${s}`)).map((m) => m.id).sort()).toEqual(shape.services[s] ? [`project/crm/edge/${s}`, `project/crm/wg/${s}`] : []);
        }
        // The backup names a storage volume only when there is one.
        expect(v.backup.some((p) => p.includes("crm-storage"))).toBe(shape.services.storage);
        expect(Object.keys(v.compose.volumes).includes("crm-storage")).toBe(shape.services.storage);
        // imgproxy only with Storage, and Storage transforms images only with it.
        expect(runs("imgproxy")).toBe(shape.services.imgproxy);
        if (shape.services.storage) expect(v.compose.services.storage!.environment!.ENABLE_IMAGE_TRANSFORMATION).toBe(String(shape.services.imgproxy));
      }),
      { numRuns: 100 },
    );
  });

  it("agree on where Studio runs: only a worker Studio has a container, a route, a password consumer and a monitor; nothing polls one on the master", () => {
    fc.assert(
      fc.property(shapes, (shape) => {
        const v = views(shape);
        const onWorker = shape.studio === "worker";
        expect("studio" in v.compose.services).toBe(onWorker);
        expect(routed(v.kong, STUDIO, "/")?.name).toBe(onWorker ? "dashboard" : undefined);
        expect(v.kong.consumers.some((c) => c.username === "DASHBOARD")).toBe(onWorker);
        expect(v.monitors.filter((m) => (m.url ?? "").includes(STUDIO)).map((m) => m.id)).toEqual(onWorker ? ["project/crm/studio"] : []);
        expect(JSON.stringify(v.kuma).includes("${secret:dashboardPassword:crm}")).toBe(onWorker);
      }),
      { numRuns: 50 },
    );
  });

  it("never watch what is not there: every monitor's request is routed by the gateway to a container the project runs", () => {
    fc.assert(
      fc.property(shapes, (shape) => {
        const v = views(shape);
        for (const m of v.monitors.filter((x) => x.type === "http")) {
          const u = new URL(m.url!);
          const route = routed(v.kong, u.hostname, u.pathname);
          expect(route, m.id).toBeDefined();
          expect(resolves(v.compose, route!.upstream), `${m.id} → ${route!.upstream}`).toBe(true);
        }
        // A tenant's public page lists only monitors there are.
        const ids = new Set(v.kuma.monitors.map((m) => m.id));
        for (const page of v.kuma.statusPages) for (const id of page.groups.flatMap((g) => g.monitors)) expect(ids.has(id), `${page.slug}: ${id}`).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});

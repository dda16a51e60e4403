import type { FleetConfig, ProjectConfig, TenantConfig } from "../config/schema";
import { walArchiveOf, type WalArchive } from "../model/walArchive";
import { smtpPasswordKey } from "../config/secrets";
import { apiHostname, dedicatedWorkerName, studioHostname } from "../model/naming";
import { projectPorts } from "../model/ports";
import { workerServices } from "../model/projectServices";
import { projectRateLimits } from "../supabase/rateLimit";
import { dedicatedWorker } from "./nodes";
import type { ProjectPlan, TenantPlan, WorkerPlan } from "./types";

export function planTenant(t: TenantConfig): TenantPlan {
  return { slug: t.slug, name: t.name, isolation: t.isolation, plan: t.plan, statusPage: t.statusPage };
}

/**
 * Every project in stack-file order, each on its worker: a shared one by name,
 * or its own dedicated worker, which joins the fleet's workers after the shared ones.
 */
export function planProjects(cfg: FleetConfig, shared: readonly WorkerPlan[]): { projects: ProjectPlan[]; dedicated: WorkerPlan[] } {
  const byName = new Map(shared.map((w) => [w.name, w]));
  const tenants = new Map(cfg.tenants.map((t) => [t.slug, planTenant(t)]));
  const dedicated: WorkerPlan[] = [];
  const projects: ProjectPlan[] = [];
  for (const tenant of cfg.tenants) {
    for (const p of tenant.projects) {
      const worker = placeWorker(p, byName);
      if (worker.dedicatedTo !== undefined) dedicated.push(worker);
      const pooled = cfg.tenants.filter((t) => t.isolation === "pooled" && t.pool === p.name).map((t) => tenants.get(t.slug)!);
      projects.push(planProject(cfg, tenants.get(tenant.slug)!, p, worker, pooled, byName));
    }
  }
  return { projects, dedicated };
}

function placeWorker(p: ProjectConfig, byName: ReadonlyMap<string, WorkerPlan>): WorkerPlan {
  if ("dedicated" in p.placement) return dedicatedWorker(dedicatedWorkerName(p.name), p.name, p.placement.dedicated);
  const worker = byName.get(p.placement.worker);
  if (worker === undefined) throw new Error(`project ${p.name}: worker ${p.placement.worker} was validated but is missing`);
  return worker;
}

function planProject(cfg: FleetConfig, tenant: TenantPlan, p: ProjectConfig, worker: WorkerPlan, pooledTenants: TenantPlan[], shared: ReadonlyMap<string, WorkerPlan>): ProjectPlan {
  const movedFrom = p.movedFrom !== undefined ? shared.get(p.movedFrom) : undefined;
  if (p.movedFrom !== undefined && movedFrom === undefined) throw new Error(`worker ${p.movedFrom} was validated but is missing`);
  return {
    name: p.name,
    tenant,
    worker,
    slot: p.slot,
    ports: projectPorts(p.slot),
    release: p.release ?? cfg.supabase.release,
    schemaPacks: p.schemaPacks,
    pooledTenants,
    hostnames: { api: apiHostname(p.subdomain, cfg.domain), studio: studioHostname(p.subdomain, cfg.domain) },
    studio: p.studio,
    services: workerServices(p),
    smtp: p.smtp ?? cfg.smtp,
    smtpPasswordKey: p.smtp ? smtpPasswordKey(p.name) : smtpPasswordKey(),
    auth: { ...p.auth, siteUrl: p.auth.siteUrl ?? `https://${apiHostname(p.subdomain, cfg.domain)}` },
    customDomains: p.domains.map((hostname) => ({ hostname, kind: hostname.endsWith(`.${cfg.domain}`) ? "zone" : "saas" })),
    buckets: p.buckets,
    ...(p.registry !== undefined ? { registry: p.registry } : {}),
    ...(p.functions !== undefined ? { functions: p.functions } : {}),
    ...(p.realtime !== undefined ? { realtimeTables: p.realtime.tables } : {}),
    ...(p.restoreFrom !== undefined ? { restoreFrom: p.restoreFrom } : {}),
    ...withWalArchive(walArchiveOf(cfg.backups, p)),
    ...(movedFrom !== undefined ? { movedFrom } : {}),
    rotate: { jwt: p.rotate?.jwt ?? 0, apiKeys: p.rotate?.apiKeys ?? 0, dashboard: p.rotate?.dashboard ?? 0, restic: p.rotate?.restic ?? 0 },
    rateLimits: projectRateLimits(cfg.plans, tenant, pooledTenants),
  };
}

const withWalArchive = (w: WalArchive | undefined): { walArchive?: WalArchive } => (w !== undefined ? { walArchive: w } : {});

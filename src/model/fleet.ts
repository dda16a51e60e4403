import type { FleetConfig, OperatorConfig, ProjectConfig, SchemaPack, SmtpConfig, TenantConfig } from "../config/schema";
import { smtpPasswordKey } from "../config/secrets";
import { hubAddress, parseIpv4Cidr } from "./net";
import { apiHostname, dedicatedWorkerName, MASTER_NAME, RMM_NAME, studioHostname } from "./naming";
import { projectPorts, type ProjectPorts } from "./ports";

/**
 * The fleet as the components see it: every name, address, port and hostname
 * resolved once from validated config, so components never re-derive them.
 */
export interface FleetModel {
  readonly env: string;
  readonly domain: string;
  readonly protect: boolean;
  readonly config: FleetConfig;
  readonly wireguard: { readonly subnet: string; readonly prefix: number; readonly hub: string; readonly port: number; readonly allowWorkerToWorker: boolean };
  readonly master: { readonly name: string; readonly serverType: string };
  readonly workers: readonly WorkerModel[];
  readonly projects: readonly ProjectModel[];
  readonly operators: readonly OperatorConfig[];
  /** Hostnames of the master's own services. */
  readonly hostnames: { readonly n8n: string; readonly status: string };
  /** Tactical RMM's own server, when the stack file declares one. */
  readonly rmm?: RmmModel;
}

export interface RmmModel {
  readonly name: string;
  readonly serverType: string;
  readonly address: string;
  readonly release: string;
  readonly nats: boolean;
  /** Fully qualified: rmm (the web UI), api (agents and the UI's API) and mesh (MeshCentral). */
  readonly hostnames: { readonly rmm: string; readonly api: string; readonly mesh: string };
  /** Its WireGuard key's round, as a worker's. */
  readonly wireguardKey: WorkerModel["wireguardKey"];
}

export interface WorkerModel {
  readonly name: string;
  readonly serverType: string;
  readonly address: string;
  /** Set when the worker exists for one dedicated project. */
  readonly dedicatedTo?: string;
  /** Its WireGuard key's round, and whether the hub has moved on from the previous round. */
  readonly wireguardKey: { readonly round: number; readonly previousRetired: boolean };
}

const keyRound = (w: { keyRound: number; previousKeyRetired: boolean } | undefined): WorkerModel["wireguardKey"] => ({ round: w?.keyRound ?? 0, previousRetired: w?.previousKeyRetired ?? true });

export interface ProjectModel {
  readonly name: string;
  readonly tenant: TenantConfig;
  readonly worker: WorkerModel;
  readonly slot: number;
  readonly ports: ProjectPorts;
  readonly release: string;
  readonly schemaPacks: readonly SchemaPack[];
  /** Tenants whose rows live in this project, kept apart by RLS. */
  readonly pooledTenants: readonly TenantConfig[];
  readonly hostnames: { readonly api: string; readonly studio: string };
  readonly smtp: SmtpConfig;
  readonly smtpPasswordKey: string;
  /** Seeded once from another project's backup (this stack's, or another stack's). */
  readonly restoreFrom?: { readonly project: string; readonly stack?: string; readonly snapshot: string };
  /** The worker the project is leaving: its data comes across through a final backup. */
  readonly movedFrom?: WorkerModel;
  /** Rotation counters: a raised one replaces that secret. */
  readonly rotate: { readonly jwt: number; readonly apiKeys: number; readonly dashboard: number; readonly restic: number };
}

export function buildFleetModel(env: string, cfg: FleetConfig): FleetModel {
  const subnet = parseIpv4Cidr(cfg.wireguard.subnet);
  if (subnet === undefined) throw new Error("wireguard.subnet was validated but does not parse");
  const named = cfg.workers.map((w): WorkerModel => ({ name: w.name, serverType: w.serverType, address: w.address, wireguardKey: keyRound(w.wireguard) }));
  const byName = new Map(named.map((w) => [w.name, w]));
  const dedicated: WorkerModel[] = [];
  const projects: ProjectModel[] = [];
  for (const tenant of cfg.tenants) {
    for (const p of tenant.projects) {
      const worker = placeWorker(p, byName);
      if (worker.dedicatedTo) dedicated.push(worker);
      projects.push(projectModel(cfg, tenant, p, worker));
    }
  }
  return {
    env,
    domain: cfg.domain,
    protect: cfg.protect,
    config: cfg,
    wireguard: { subnet: cfg.wireguard.subnet, prefix: subnet.prefix, hub: hubAddress(subnet), port: cfg.wireguard.port, allowWorkerToWorker: cfg.wireguard.allowWorkerToWorker },
    master: { name: MASTER_NAME, serverType: cfg.hetzner.masterServerType },
    workers: [...named, ...dedicated],
    projects,
    operators: cfg.operators,
    hostnames: { n8n: `${cfg.hostnames.n8n}.${cfg.domain}`, status: `${cfg.hostnames.status}.${cfg.domain}` },
    ...(cfg.rmm !== undefined ? { rmm: rmmModel(cfg) } : {}),
  };
}

function rmmModel(cfg: FleetConfig): RmmModel {
  const r = cfg.rmm!;
  const fq = (label: string): string => `${label}.${cfg.domain}`;
  return {
    name: RMM_NAME,
    serverType: r.serverType,
    address: r.address,
    wireguardKey: keyRound(r.wireguard),
    release: r.release,
    nats: r.nats,
    hostnames: { rmm: fq(r.hostnames.rmm), api: fq(r.hostnames.api), mesh: fq(r.hostnames.mesh) },
  };
}

function placeWorker(p: ProjectConfig, byName: ReadonlyMap<string, WorkerModel>): WorkerModel {
  if ("dedicated" in p.placement) {
    const d = p.placement.dedicated;
    return { name: dedicatedWorkerName(p.name), serverType: d.serverType, address: d.address, dedicatedTo: p.name, wireguardKey: keyRound(d.wireguard) };
  }
  const worker = byName.get(p.placement.worker);
  if (worker === undefined) throw new Error(`project ${p.name}: worker ${p.placement.worker} was validated but is missing`);
  return worker;
}

function projectModel(cfg: FleetConfig, tenant: TenantConfig, p: ProjectConfig, worker: WorkerModel): ProjectModel {
  return {
    name: p.name,
    tenant,
    worker,
    slot: p.slot,
    ports: projectPorts(p.slot),
    release: p.release ?? cfg.supabase.release,
    schemaPacks: p.schemaPacks,
    pooledTenants: cfg.tenants.filter((t) => t.isolation === "pooled" && t.pool === p.name),
    hostnames: { api: apiHostname(p.subdomain, cfg.domain), studio: studioHostname(p.subdomain, cfg.domain) },
    smtp: p.smtp ?? cfg.smtp,
    smtpPasswordKey: p.smtp ? smtpPasswordKey(p.name) : smtpPasswordKey(),
    ...(p.restoreFrom !== undefined ? { restoreFrom: p.restoreFrom } : {}),
    ...(p.movedFrom !== undefined ? { movedFrom: byNameOf(cfg, p.movedFrom) } : {}),
    rotate: { jwt: p.rotate?.jwt ?? 0, apiKeys: p.rotate?.apiKeys ?? 0, dashboard: p.rotate?.dashboard ?? 0, restic: p.rotate?.restic ?? 0 },
  };
}

function byNameOf(cfg: FleetConfig, name: string): WorkerModel {
  const w = cfg.workers.find((x) => x.name === name);
  if (w === undefined) throw new Error(`worker ${name} was validated but is missing`);
  return { name: w.name, serverType: w.serverType, address: w.address, wireguardKey: keyRound(w.wireguard) };
}

import { RELEASES } from "../model/releases";
import { checkHardening } from "./hardening";
import { checkProjectShape } from "./projectShape";
import { checkBuckets } from "./buckets";
import { checkRegistries } from "./registry";
import type { ConfigIssue } from "./issues";
import { retiredName, type FleetConfig, type ProjectConfig, type TenantConfig } from "./schema";
import { broadcastAddress, cidrPrefix, containsIpv4, hubAddress, networkAddress, parseIpv4Cidr } from "../model/net";
import { checkMasterMemory, checkWorkerMemory } from "./capacity";
import { SERVER_TYPES } from "../model/serverTypes";
import { walArchiveOf } from "../model/walArchive";
import { FALLBACK_ORIGIN_LABEL, MASTER_NAME, RMM_NAME, STATUS_PAGE_PREFIX, STUDIO_SUFFIX, dedicatedWorkerName } from "../model/naming";
import { checkDomains } from "./domains";
import { checkRegistryProject } from "./registryProject";

/** Hostnames under the fleet's domain that supafleet or its neighbours (TRMM, mail) use. */
export const RESERVED_SUBDOMAINS: ReadonlySet<string> = new Set([
  "studio", "n8n", "status", "console", "api", "www", "kuma", "uptime", "admin", "dashboard", "auth",
  "mail", "smtp", "imap", "pop", "mx", "autodiscover", "autoconfig", "ftp", "ssh", "vpn", "wg",
  "rmm", "mesh", "nats", "webhook", "webhooks", "hooks", "mcp", "cdn", "static", "assets", "ns1", "ns2",
  FALLBACK_ORIGIN_LABEL,
]);

interface Placed {
  readonly project: ProjectConfig;
  readonly tenant: TenantConfig;
  readonly path: string;
}

/**
 * Cross-field rules that a schema cannot express. Works on whatever sections
 * parsed, so a broken section never hides the problems of a sound one. A
 * section the schema refused is absent from cfg: a rule that needs it says
 * nothing, rather than reading it as left out (its own issues say why).
 */
export function validateFleet(cfg: Partial<FleetConfig>, stack?: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const projects = listProjects(cfg.tenants ?? []);
  issues.push(...checkBackupSources(cfg, projects, stack));
  if (cfg.tenants) issues.push(...checkTenants(cfg.tenants, projects));
  issues.push(...checkProjects(projects));
  if (cfg.tenants) issues.push(...checkRegistries(cfg.tenants));
  issues.push(...checkDomains(cfg, projects, RESERVED_SUBDOMAINS));
  if (cfg.workers) issues.push(...checkWorkers(cfg, projects));
  issues.push(...checkKeyRounds(cfg, projects));
  issues.push(...checkMasterMemory(cfg, projects));
  if (cfg.wireguard) issues.push(...checkAddresses(cfg, projects));
  if (cfg.operators) issues.push(...checkOperators(cfg.operators));
  if (cfg.operators && cfg.tenants) issues.push(...checkDatabaseAccess(cfg.operators, projects));
  issues.push(...checkAutomations(cfg, projects));
  issues.push(...checkHardening(cfg, stack));
  issues.push(...checkConsole(cfg));
  return issues;
}

/** The console checks Access's JWT itself, against the team's keys: it needs the team's name. */
function checkConsole(cfg: Partial<FleetConfig>): ConfigIssue[] {
  if (cfg.console?.enabled !== true || cfg.cloudflare === undefined || cfg.cloudflare.teamName !== undefined) return [];
  return [{ path: "console.enabled", message: "the console verifies Cloudflare Access's JWT against the team's keys: set cloudflare.teamName (the <team> in <team>.cloudflareaccess.com)" }];
}

/** Restores from other projects, retired jobs and the drill of another stack: every name must lead somewhere. */
function checkBackupSources(cfg: Partial<FleetConfig>, projects: readonly Placed[], stack: string | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Set(projects.map((p) => p.project.name));
  const retired = (cfg.backups?.retired ?? []).map(retiredName);
  retired.forEach((job, i) => {
    if (names.has(job)) issues.push({ path: `backups.retired[${i}]`, message: `"${job}" is a project of this stack; only a project that is gone can be retired` });
    if (job === "master") issues.push({ path: `backups.retired[${i}]`, message: "the master's backups cannot be retired" });
  });
  issues.push(...unique(retired.map((job, i) => ({ job, i })), (x) => x.job, (x) => `backups.retired[${x.i}]`, "retired job"));
  if (cfg.deploy !== undefined && cfg.deploy.keyRound === 0 && !cfg.deploy.previousKeyRetired) {
    issues.push({ path: "deploy.previousKeyRetired", message: "there is no previous deploy key at keyRound 0; raise keyRound to rotate" });
  }
  if (cfg.deploy?.via === "mesh" && cfg.operators !== undefined && !cfg.operators.some((o) => o.wireguard !== undefined)) {
    issues.push({ path: "deploy.via", message: "mesh needs an operator on the mesh (operators[].wireguard) to run pulumi up from" });
  }
  for (const p of projects) {
    // Rotating keys a release does not have would change nothing and read as if it did.
    const release = p.project.release ?? cfg.supabase?.release;
    if ((p.project.rotate?.apiKeys ?? 0) > 0 && release !== undefined && RELEASES[release] !== undefined && !RELEASES[release]!.opaqueKeys) {
      issues.push({ path: `${p.path}.rotate.apiKeys`, message: `release ${release} has no opaque API keys (sb_publishable_/sb_secret_); rotate jwt instead` });
    }
    const from = p.project.restoreFrom;
    if (from === undefined) continue;
    const at = `${p.path}.restoreFrom`;
    if (from.stack !== undefined && from.stack === stack) {
      issues.push({ path: `${at}.stack`, message: `names this stack (${stack}); leave stack out to restore from a project of this stack` });
    } else if (from.stack === undefined) {
      if (from.project === p.project.name) issues.push({ path: `${at}.project`, message: "names the project itself; a project is seeded from another one's backup" });
      else if (!names.has(from.project) && !retired.includes(from.project)) {
        issues.push({ path: `${at}.project`, message: `names "${from.project}", which is neither a project of this stack nor in backups.retired` });
      }
      if (from.time !== undefined && from.project !== p.project.name) issues.push(...checkPitrSource(cfg, projects, from.project, `${at}.time`));
    }
  }
  const drill = cfg.backups?.drillOf;
  if (drill !== undefined) {
    if (drill.stack === stack) issues.push({ path: "backups.drillOf.stack", message: `names this stack (${stack}); its own backups are drilled already` });
    const workers = new Set((cfg.workers ?? []).map((w) => w.name));
    if (cfg.workers !== undefined && !workers.has(drill.worker)) {
      issues.push({ path: "backups.drillOf.worker", message: `names worker "${drill.worker}", which is not declared (workers: ${[...workers].join(", ") || "none"})` });
    }
  }
  return issues;
}

/**
 * A point-in-time restore replays the source's WAL archive: a source of this stack that archives none
 * has nothing to replay. Another stack's project, or a retired one, is not known here; restore.sh says.
 */
function checkPitrSource(cfg: Partial<FleetConfig>, projects: readonly Placed[], source: string, path: string): ConfigIssue[] {
  const found = projects.find((p) => p.project.name === source);
  // Without backups parsed, whether the fleet archives is unknown; its own issues say why.
  if (found === undefined || cfg.backups === undefined || walArchiveOf(cfg.backups, found.project) !== undefined) return [];
  const why = found.project.pitr === false ? `${found.path}.pitr is false` : "backups.pitr.enabled is false and it does not set pitr: true";
  return [{ path, message: `a point-in-time restore needs the source's WAL archive, and "${source}" archives none (${why}); restore a snapshot instead, or turn its archiving on first` }];
}

function listProjects(tenants: readonly TenantConfig[]): Placed[] {
  return tenants.flatMap((tenant, t) =>
    tenant.projects.map((project, p) => ({ project, tenant, path: `tenants[${t}].projects[${p}]` })),
  );
}

/** Reports each repeat of a value, naming where it was first used. */
function unique<T>(items: readonly T[], value: (t: T) => string | undefined, path: (t: T) => string, what: string): ConfigIssue[] {
  const seen = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const item of items) {
    const v = value(item);
    if (v === undefined) continue;
    const first = seen.get(v);
    if (first === undefined) seen.set(v, path(item));
    else issues.push({ path: path(item), message: `${what} "${v}" is already used by ${first}` });
  }
  return issues;
}

function checkTenants(tenants: readonly TenantConfig[], projects: readonly Placed[]): ConfigIssue[] {
  const issues = unique(tenants.map((t, i) => ({ t, i })), (x) => x.t.slug, (x) => `tenants[${x.i}].slug`, "tenant slug");
  const byName = new Map(projects.map((p) => [p.project.name, p]));
  tenants.forEach((tenant, i) => {
    const at = `tenants[${i}]`;
    if (tenant.isolation === "pooled") {
      if (tenant.projects.length > 0) {
        issues.push({ path: `${at}.projects`, message: "a pooled tenant has no projects of its own; its rows live in the project named by pool" });
      }
      if (tenant.pool === undefined) {
        issues.push({ path: `${at}.pool`, message: "is required for a pooled tenant: name the project whose rows it shares" });
      } else {
        const host = byName.get(tenant.pool);
        if (host === undefined) {
          issues.push({ path: `${at}.pool`, message: `names project "${tenant.pool}", which is not declared` });
        } else if (host.tenant.isolation === "dedicated") {
          issues.push({ path: `${at}.pool`, message: `project "${tenant.pool}" belongs to dedicated tenant ${host.tenant.slug}; another tenant's rows never live on a dedicated customer's server` });
        } else if (!host.project.acceptsPooledTenants) {
          issues.push({ path: `${at}.pool`, message: `project "${tenant.pool}" does not accept pooled tenants (set acceptsPooledTenants: true at ${host.path})` });
        }
      }
      return;
    }
    if (tenant.pool !== undefined) {
      issues.push({ path: `${at}.pool`, message: `only pooled tenants name a pool; this tenant is ${tenant.isolation}` });
    }
    if (tenant.projects.length === 0) {
      issues.push({ path: `${at}.projects`, message: `a ${tenant.isolation} tenant needs at least one project` });
    }
    tenant.projects.forEach((project, p) => {
      const dedicated = "dedicated" in project.placement;
      if (tenant.isolation === "shared" && dedicated) {
        issues.push({ path: `${at}.projects[${p}].placement`, message: "a shared tenant's projects run on a named worker: use { worker: <name> }" });
      }
      if (tenant.isolation === "dedicated" && project.acceptsPooledTenants) {
        issues.push({ path: `${at}.projects[${p}].acceptsPooledTenants`, message: "a dedicated tenant's project holds only that tenant's rows; it cannot accept pooled tenants" });
      }
      if (tenant.isolation === "dedicated" && !dedicated) {
        issues.push({ path: `${at}.projects[${p}].placement`, message: "a dedicated tenant's projects get their own server: use { dedicated: { serverType, address } }" });
      }
    });
  });
  return issues;
}

function checkProjects(projects: readonly Placed[]): ConfigIssue[] {
  const issues = [
    ...unique(projects, (p) => p.project.name, (p) => `${p.path}.name`, "project name"),
    ...unique(projects, (p) => String(p.project.slot), (p) => `${p.path}.slot`, "slot"),
    // Studio lives at <subdomain>-studio; the suffix rule below keeps the two namespaces apart.
    ...unique(projects, (p) => p.project.subdomain, (p) => `${p.path}.subdomain`, "subdomain"),
  ];
  for (const p of projects) {
    const { subdomain } = p.project;
    if (RESERVED_SUBDOMAINS.has(subdomain)) {
      issues.push({ path: `${p.path}.subdomain`, message: `"${subdomain}" is reserved for fleet services; reserved: ${[...RESERVED_SUBDOMAINS].join(", ")}` });
    }
    if (subdomain.endsWith(STUDIO_SUFFIX)) {
      issues.push({ path: `${p.path}.subdomain`, message: `must not end in "${STUDIO_SUFFIX}", which Studio hostnames use` });
    }
    if (subdomain.startsWith(STATUS_PAGE_PREFIX)) {
      issues.push({ path: `${p.path}.subdomain`, message: `must not start with "${STATUS_PAGE_PREFIX}", which tenants' status pages use` });
    }
    issues.push(...checkProjectShape(p.project, p.path));
    issues.push(...checkBuckets(p.project.buckets, p.project.services.storage, p.path));
    if (p.project.acceptsPooledTenants && p.project.schemaPacks.length === 0) {
      issues.push({ path: `${p.path}.schemaPacks`, message: "a project that accepts pooled tenants needs a schema pack, whose row-level security keeps them apart" });
    }
  }
  return issues;
}

function checkWorkers(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const workers = cfg.workers ?? [];
  const issues = unique(workers.map((w, i) => ({ w, i })), (x) => x.w.name, (x) => `workers[${x.i}].name`, "worker name");
  const dedicatedNames = new Set(projects.filter((p) => "dedicated" in p.project.placement).map((p) => dedicatedWorkerName(p.project.name)));
  workers.forEach((w, i) => {
    if (w.name === MASTER_NAME || w.name === RMM_NAME || dedicatedNames.has(w.name)) {
      issues.push({ path: `workers[${i}].name`, message: `"${w.name}" is the name of a server supafleet creates itself` });
    }
  });
  const index = new Map(workers.map((w, i) => [w.name, i]));
  for (const p of projects) {
    const placement = p.project.placement;
    const from = p.project.movedFrom;
    if (from !== undefined) {
      const at = `${p.path}.movedFrom`;
      if (!("worker" in placement)) issues.push({ path: at, message: "a move goes from one shared worker to another: placement must be { worker: <name> }" });
      else if (from === placement.worker) issues.push({ path: at, message: `names the worker the project is placed on (${from}); movedFrom is the worker it leaves` });
      if (!index.has(from)) issues.push({ path: at, message: `names worker "${from}", which is not declared; the worker a project leaves must stay until the move has run` });
    }
    if ("worker" in placement && !index.has(placement.worker)) {
      const known = workers.map((w) => w.name).join(", ") || "none";
      // Most often a worker taken out of the stack file while it still holds this project.
      issues.push({
        path: `${p.path}.placement.worker`,
        message: `names worker "${placement.worker}", which is not declared (workers: ${known}); a worker that still holds projects stays until they have moved (docs/operations.md, "Move a project")`,
      });
    }
  }
  issues.push(...checkWorkerMemory(cfg, projects));
  return issues;
}

/** A rotation step that has nothing to rotate from reads as if it did something. */
function checkKeyRounds(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const keys = [
    ...(cfg.workers ?? []).map((w, i) => ({ key: w.wireguard, path: `workers[${i}].wireguard` })),
    ...projects.map((p) => ({ key: "dedicated" in p.project.placement ? p.project.placement.dedicated.wireguard : undefined, path: `${p.path}.placement.dedicated.wireguard` })),
    { key: cfg.rmm?.wireguard, path: "rmm.wireguard" },
  ];
  const hub = { key: cfg.wireguard?.hubRotation, path: "wireguard.hubRotation" };
  const issues = [...keys, hub]
    .filter((k) => k.key !== undefined && k.key.keyRound === 0 && !k.key.previousKeyRetired)
    .map((k) => ({ path: `${k.path}.previousKeyRetired`, message: "there is no previous WireGuard key at keyRound 0; raise keyRound to rotate" }));
  // A spoke tries its staged config when the hub stops answering; with both sides staged, neither could tell which moved.
  const between = (k: typeof hub.key): boolean => k !== undefined && k.keyRound > 0 && !k.previousKeyRetired;
  if (between(hub.key)) {
    for (const k of keys.filter((x) => between(x.key))) issues.push({ path: `${k.path}.previousKeyRetired`, message: "the hub's key rotation is between its steps (wireguard.hubRotation); finish it before rotating this key" });
  }
  return issues;
}

function checkAddresses(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const wg = cfg.wireguard!;
  // The schema accepts only a usable subnet (meshSubnet.ts); this is for the type checker.
  const subnet = parseIpv4Cidr(wg.subnet);
  if (subnet === undefined) return [];
  const issues: ConfigIssue[] = [];

  const addresses = [
    ...(cfg.workers ?? []).map((w, i) => ({ address: w.address, path: `workers[${i}].address` })),
    ...projects.flatMap((p) =>
      "dedicated" in p.project.placement ? [{ address: p.project.placement.dedicated.address, path: `${p.path}.placement.dedicated.address` }] : [],
    ),
    ...(cfg.operators ?? []).flatMap((o, i) => (o.wireguard ? [{ address: o.wireguard.address, path: `operators[${i}].wireguard.address` }] : [])),
    ...(cfg.rmm !== undefined ? [{ address: cfg.rmm.address, path: "rmm.address" }] : []),
  ];
  const hub = hubAddress(subnet);
  for (const a of addresses) {
    if (!containsIpv4(subnet, a.address)) {
      issues.push({ path: a.path, message: `${a.address} is outside the WireGuard subnet ${wg.subnet} (wireguard.subnet)` });
    } else if (a.address === hub) {
      issues.push({ path: a.path, message: `${a.address} is the hub's own address (the master); pick another` });
    } else if (a.address === networkAddress(subnet) || a.address === broadcastAddress(subnet)) {
      issues.push({ path: a.path, message: `${a.address} is the subnet's network or broadcast address` });
    }
  }
  issues.push(...unique(addresses, (a) => a.address, (a) => a.path, "WireGuard address"));
  return issues;
}

function checkOperators(operators: NonNullable<FleetConfig["operators"]>): ConfigIssue[] {
  const issues = unique(operators.map((o, i) => ({ o, i })), (x) => x.o.name, (x) => `operators[${x.i}].name`, "operator name");
  operators.forEach((o, i) =>
    o.sourceRanges.forEach((range, r) => {
      if (cidrPrefix(range) === 0) {
        issues.push({ path: `operators[${i}].sourceRanges[${r}]`, message: `${range} would open SSH to the whole internet; list the operator's own ranges` });
      }
    }),
  );
  // Several ranges can add up to the internet too: hardening.ts checks their union.
  return issues;
}

/** The ops project must hold the msp-ops functions; TRMM needs x86 and its own names. */
function checkAutomations(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ops = cfg.automations?.opsProject;
  // When tenants did not parse, their own errors say why; a missing project here would only echo them.
  if (ops !== undefined && cfg.tenants !== undefined) {
    const found = projects.find((p) => p.project.name === ops);
    if (found === undefined) issues.push({ path: "automations.opsProject", message: `no project is named "${ops}"` });
    else if (!found.project.schemaPacks.includes("msp-ops")) {
      issues.push({ path: "automations.opsProject", message: `project ${ops} lacks the msp-ops schema pack, which holds the functions the workflows call (${found.path}.schemaPacks)` });
    }
  }
  issues.push(...checkRegistryProject(cfg, projects));
  if (cfg.automations?.billing !== undefined && ops === undefined) {
    issues.push({ path: "automations.billing", message: "billing reads the msp-ops outbox: set automations.opsProject as well" });
  }
  issues.push(...checkMasterHostnames(cfg, projects));
  const rmm = cfg.rmm;
  if (rmm !== undefined) {
    if (SERVER_TYPES[rmm.serverType]?.arch !== "x86") issues.push({ path: "rmm.serverType", message: `${rmm.serverType} is ARM; Tactical RMM runs on x86 only (cx, cpx or ccx)` });
    else if ((SERVER_TYPES[rmm.serverType]?.memoryMiB ?? 0) < 4096) issues.push({ path: "rmm.serverType", message: `${rmm.serverType} has less than the 4 GB Tactical RMM needs` });
    const labels = Object.entries(rmm.hostnames);
    issues.push(...unique(labels, ([, l]) => l, ([k]) => `rmm.hostnames.${k}`, "TRMM hostname"));
    for (const [k, label] of labels) {
      const clash = projects.find((p) => p.project.subdomain === label || `${p.project.subdomain}${STUDIO_SUFFIX}` === label);
      if (clash !== undefined) issues.push({ path: `rmm.hostnames.${k}`, message: `${label} is already ${clash.path}.subdomain's hostname` });
    }
  }
  return issues;
}

/** The master's hostnames, when renamed, must not take a project's, a Studio's or a status page's name. */
function checkMasterHostnames(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const labels = Object.entries(cfg.hostnames ?? {});
  const issues = unique(labels, ([, l]) => l, ([k]) => `hostnames.${k}`, "master hostname");
  for (const [k, label] of labels) {
    const clash = projects.find((p) => p.project.subdomain === label || `${p.project.subdomain}${STUDIO_SUFFIX}` === label);
    if (clash !== undefined) issues.push({ path: `hostnames.${k}`, message: `${label} is already ${clash.path}.subdomain's hostname` });
    if (label.startsWith(STATUS_PAGE_PREFIX)) issues.push({ path: `hostnames.${k}`, message: `must not start with "${STATUS_PAGE_PREFIX}", which tenants' status pages use` });
  }
  return issues;
}

/** A direct database grant names a project of this stack, and the operator must be on the mesh to use it. */
function checkDatabaseAccess(operators: NonNullable<FleetConfig["operators"]>, projects: readonly Placed[]): ConfigIssue[] {
  const names = new Set(projects.map((p) => p.project.name));
  return operators.flatMap((o, i) =>
    o.databaseAccess.flatMap((project, j) => {
      const path = `operators[${i}].databaseAccess[${j}]`;
      if (!names.has(project)) return [{ path, message: `names project "${project}", which is not declared` }];
      if (o.wireguard === undefined) return [{ path, message: `${o.name} is not on the mesh (no wireguard address), so a database grant could not be used; add operators[${i}].wireguard` }];
      return [];
    }),
  );
}

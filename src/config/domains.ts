import type { ConfigIssue } from "./issues";
import type { FleetConfig, ProjectConfig, TenantConfig } from "./schema";
import { STATUS_PAGE_PREFIX, STUDIO_SUFFIX, apiHostname, fallbackOriginHostname, statusPageHostname, studioHostname } from "../model/naming";

interface PlacedProject {
  readonly project: ProjectConfig;
  readonly tenant: TenantConfig;
  readonly path: string;
}

/**
 * A project's custom domains (`domains`): each names one project only, is none of the fleet's own
 * hostnames, and one under the fleet's domain is a single label deep (Universal SSL covers one
 * level) that no fleet service or naming rule claims. `reserved` is validate.ts's RESERVED_SUBDOMAINS.
 */
export function checkDomains(cfg: Partial<FleetConfig>, projects: readonly PlacedProject[], reserved: ReadonlySet<string>): ConfigIssue[] {
  const fleet = cfg.domain !== undefined ? fleetHostnames(cfg, projects, cfg.domain) : new Map<string, string>();
  const owner = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const p of projects) {
    const own = new Map<string, number>();
    p.project.domains.forEach((domain, j) => {
      const path = `${p.path}.domains[${j}]`;
      const twice = own.get(domain);
      if (twice !== undefined) return issues.push({ path, message: `"${domain}" is listed twice (first at domains[${twice}])` });
      own.set(domain, j);
      const other = owner.get(domain);
      if (other !== undefined) return issues.push({ path, message: `"${domain}" is already a custom domain of ${other}; a hostname serves one project` });
      owner.set(domain, p.path);
      const problem = cfg.domain !== undefined ? domainProblem(domain, cfg, cfg.domain, fleet, reserved) : undefined;
      if (problem !== undefined) issues.push({ path, message: problem });
    });
  }
  return issues;
}

/** Every hostname the fleet itself serves or keeps, with what it is. */
function fleetHostnames(cfg: Partial<FleetConfig>, projects: readonly PlacedProject[], domain: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const p of projects) {
    names.set(apiHostname(p.project.subdomain, domain), `the API hostname of ${p.path}`);
    names.set(studioHostname(p.project.subdomain, domain), `the Studio hostname of ${p.path}`);
  }
  // Every tenant's, shown or not: turning a status page on must not take a project's domain.
  (cfg.tenants ?? []).forEach((t, i) => names.set(statusPageHostname(t.slug, domain), `the status page hostname of tenants[${i}]`));
  for (const [key, label] of Object.entries(cfg.hostnames ?? { n8n: "n8n", status: "status" })) names.set(`${label}.${domain}`, `the master's ${key} hostname (hostnames.${key})`);
  for (const [key, label] of Object.entries(cfg.rmm?.hostnames ?? {})) names.set(`${label}.${domain}`, `Tactical RMM's ${key} hostname (rmm.hostnames.${key})`);
  names.set(fallbackOriginHostname(domain), "the fallback origin that clients' own domains point at");
  return names;
}

function domainProblem(hostname: string, cfg: Partial<FleetConfig>, domain: string, fleet: ReadonlyMap<string, string>, reserved: ReadonlySet<string>): string | undefined {
  if (hostname === domain) return `"${hostname}" is the fleet's own domain (domain)`;
  const taken = fleet.get(hostname);
  if (taken !== undefined) return `"${hostname}" is already ${taken}`;
  const first = hostname.split(".")[0]!;
  if (hostname.endsWith(`.${domain}`)) {
    const label = hostname.slice(0, -(domain.length + 1));
    if (label.includes(".")) {
      return `"${hostname}" is ${label.split(".").length} levels under ${domain}; Universal SSL covers one level only: use a single label, such as ${label.replaceAll(".", "-")}.${domain}`;
    }
    if (reserved.has(label)) return `"${label}" under ${domain} is reserved for fleet services; reserved: ${[...reserved].join(", ")}`;
    if (label.startsWith(STATUS_PAGE_PREFIX)) return `"${label}" under ${domain} starts with "${STATUS_PAGE_PREFIX}", which tenants' status pages use`;
  }
  // The policy pack asks for Access on these first labels (src/offline/policyConfig.ts); an API has none.
  const hostnames = cfg.hostnames ?? { n8n: "n8n", status: "status", console: "console" };
  if (first.endsWith(STUDIO_SUFFIX) || first === hostnames.n8n || first === hostnames.status || first === hostnames.console) {
    return `"${hostname}" starts with "${first}", which the policy pack reserves for hostnames behind Cloudflare Access (Studio, n8n, status, console); an API is not behind Access: pick another first label`;
  }
  return undefined;
}

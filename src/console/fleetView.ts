import type { ConsoleFleet, ConsoleProject } from "../../templates/console/fleet";
import { statusPageHostname } from "../model/naming";
import type { KumaMonitor } from "../monitoring/kuma";
import { FLEET_STATUS_PAGE, projectGroupId, workerGroupId } from "../monitoring/kuma";

/** The console's port on the hub's WireGuard address, and the agent's on each worker's. */
export const CONSOLE_PORT = 3002;
export const AGENT_PORT = 7081;
/** Health agents run every minute (templates/worker/systemd/supafleet-health-agent.timer). */
export const REPORT_INTERVAL_SECONDS = 60;

/** What fleet.json is made from: the plan's view of the fleet, narrowed. */
export interface ConsoleFleetInput {
  readonly env: string;
  readonly domain: string;
  readonly hub: string;
  readonly kumaUrl: string;
  /** Kuma's public hostname (status.<domain>). */
  readonly kumaHostname: string;
  readonly master: { readonly name: string };
  readonly workers: readonly { readonly name: string; readonly address: string; readonly dedicatedTo?: string }[];
  readonly tenants: readonly { readonly slug: string; readonly name: string; readonly isolation: string; readonly statusPage: boolean }[];
  readonly projects: readonly {
    readonly name: string;
    readonly tenant: { readonly slug: string };
    readonly pooledTenants: readonly { readonly slug: string }[];
    readonly worker: { readonly name: string };
    readonly release: string;
    readonly services: readonly string[];
    readonly hostnames: { readonly api: string; readonly studio: string };
    readonly walArchive?: unknown;
  }[];
  /** Kuma's monitors as planned: their names are what the status page shows. */
  readonly monitors: readonly KumaMonitor[];
}

/** Everything of fleet.json that the plan knows; the Access audience and the infra release come at build time. */
export type ConsoleFleetView = Omit<ConsoleFleet, "access" | "infraRelease">;

const namesUnder = (monitors: readonly KumaMonitor[], parent: string): string[] => monitors.filter((m) => m.type !== "group" && m.parent === parent).map((m) => m.name);

/**
 * fleet.json, as the stack file declares the fleet. Tenants and projects keep
 * the stack file's order; a project is listed under its own tenant.
 */
export function consoleFleetView(f: ConsoleFleetInput): ConsoleFleetView {
  const project = (p: ConsoleFleetInput["projects"][number], isolation: string, statusPage: string | undefined): ConsoleProject => ({
    name: p.name,
    worker: p.worker.name,
    isolation,
    release: p.release,
    services: [...p.services],
    // Every project is backed up (the policy pack insists); PITR only when it archives WAL.
    backups: true,
    pitr: p.walArchive !== undefined,
    links: {
      api: `https://${p.hostnames.api}`,
      studio: `https://${p.hostnames.studio}`,
      ...(statusPage !== undefined ? { statusPage } : {}),
      monitors: namesUnder(f.monitors, projectGroupId(p.name)),
    },
  });
  return {
    env: f.env,
    domain: f.domain,
    master: { name: f.master.name, address: f.hub },
    workers: f.workers.map((w) => ({
      name: w.name,
      address: w.address,
      agentPort: AGENT_PORT,
      dedicated: w.dedicatedTo !== undefined,
      monitors: namesUnder(f.monitors, workerGroupId(w.name)),
    })),
    tenants: f.tenants.map((t) => {
      const statusPage = t.statusPage ? `https://${statusPageHostname(t.slug, f.domain)}/` : undefined;
      const pool = f.projects.find((p) => p.pooledTenants.some((x) => x.slug === t.slug) && p.tenant.slug !== t.slug);
      return {
        slug: t.slug,
        name: t.name,
        ...(statusPage !== undefined ? { statusPage } : {}),
        projects: f.projects.filter((p) => p.tenant.slug === t.slug).map((p) => project(p, t.isolation, statusPage)),
        ...(pool !== undefined ? { pooledIn: pool.name } : {}),
      };
    }),
    kuma: { url: f.kumaUrl, fleetStatusPage: FLEET_STATUS_PAGE, dashboardUrl: `https://${f.kumaHostname}` },
    reportIntervalSeconds: REPORT_INTERVAL_SECONDS,
  };
}

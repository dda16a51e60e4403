import { backupView, type BackupView } from "./backupStatus";
import type { ConsoleFleet, ConsoleProject } from "./fleet";
import { monitorsOf, type KumaMonitorState, type KumaReading } from "./kuma";
import type { ReceivedReport } from "./reports";
import type { AgentReading } from "./watch";

export type HealthState = "healthy" | "unhealthy" | "silent" | "waiting";

export interface Health {
  readonly state: HealthState;
  readonly problems: readonly string[];
}

export interface WorkerView {
  readonly name: string;
  readonly address: string;
  readonly dedicated: boolean;
  readonly health: Health;
  readonly lastReportAt?: string;
  readonly diskUsedPct?: number;
  readonly memoryAvailablePct?: number;
  readonly monitors: readonly KumaMonitorState[];
  readonly agent: { readonly reachable: boolean; readonly checkedAt?: string; readonly error?: string };
}

export interface ProjectView {
  readonly name: string;
  readonly tenant: string;
  readonly worker: string;
  readonly isolation: string;
  readonly release: string;
  readonly services: readonly string[];
  readonly links: ConsoleProject["links"];
  readonly health: Health;
  readonly monitors: readonly KumaMonitorState[];
  readonly backups: BackupView;
}

export interface TenantView {
  readonly slug: string;
  readonly name: string;
  readonly statusPage?: string;
  readonly pooledIn?: string;
  readonly projects: readonly ProjectView[];
}

export interface FleetView {
  readonly env: string;
  readonly domain: string;
  readonly infraRelease: string;
  readonly generatedAt: string;
  readonly reportIntervalSeconds: number;
  readonly kuma: { readonly reachable: boolean; readonly error?: string; readonly dashboardUrl: string };
  readonly workers: readonly WorkerView[];
  readonly tenants: readonly TenantView[];
}

export interface FleetReadings {
  readonly lastReport: (worker: string) => ReceivedReport | undefined;
  readonly kuma: KumaReading;
  readonly agents: ReadonlyMap<string, AgentReading>;
  /** When the console started (unix ms): before two intervals have passed, no report yet is not silence. */
  readonly startedAt: number;
}

function workerHealth(last: ReceivedReport | undefined, intervalS: number, startedAt: number, now: number): Health {
  const silentAfter = 2 * intervalS * 1000;
  if (last === undefined) {
    return now - startedAt < silentAfter ? { state: "waiting", problems: ["no report yet"] } : { state: "silent", problems: [`no report since the console started ${Math.round((now - startedAt) / 1000)} s ago`] };
  }
  const quiet = now - last.receivedAt;
  if (quiet >= silentAfter) return { state: "silent", problems: [`no report for ${Math.round(quiet / 1000)} s`] };
  return last.report.ok ? { state: "healthy", problems: [] } : { state: "unhealthy", problems: last.report.problems };
}

/** Kuma's monitors that are down are problems too: a healthy report does not hide them. */
function withMonitors(h: Health, monitors: readonly KumaMonitorState[]): Health {
  const down = monitors.filter((m) => m.status === "down").map((m) => `Kuma: ${m.name} is down${m.message ? ` (${m.message})` : ""}`);
  if (down.length === 0) return h;
  return { state: h.state === "healthy" ? "unhealthy" : h.state, problems: [...h.problems, ...down] };
}

function projectHealth(p: ConsoleProject, worker: Health, last: ReceivedReport | undefined): Health {
  if (worker.state === "silent" || worker.state === "waiting") return { state: worker.state, problems: [`worker ${p.worker}: ${worker.problems.join("; ")}`] };
  const reported = last?.report.projects[p.name];
  if (reported === undefined) return { state: "unhealthy", problems: [`${p.worker}'s health agent does not report it`] };
  return { state: reported.ok ? "healthy" : "unhealthy", problems: reported.problems };
}

/** The fleet as the page and GET /api/fleet show it: fleet.json merged with what was last heard. */
export function fleetView(fleet: ConsoleFleet, r: FleetReadings, now = Date.now()): FleetView {
  // A project inherits its worker's silence, from the reports alone (not from the worker's own Kuma monitors).
  const reportHealth = new Map(fleet.workers.map((w) => [w.name, workerHealth(r.lastReport(w.name), fleet.reportIntervalSeconds, r.startedAt, now)]));
  const workers = fleet.workers.map((w): WorkerView => {
    const last = r.lastReport(w.name);
    const agent = r.agents.get(w.name);
    const monitors = monitorsOf(r.kuma, w.monitors);
    return {
      name: w.name,
      address: w.address,
      dedicated: w.dedicated,
      health: withMonitors(reportHealth.get(w.name)!, monitors),
      ...(last !== undefined ? { lastReportAt: new Date(last.receivedAt).toISOString() } : {}),
      ...(last?.report.disk !== undefined ? { diskUsedPct: last.report.disk.usedPct } : {}),
      ...(last?.report.memory !== undefined ? { memoryAvailablePct: last.report.memory.availablePct } : {}),
      monitors,
      agent: agent === undefined ? { reachable: false, error: "not asked yet" } : { reachable: agent.reachable, checkedAt: new Date(agent.at).toISOString(), ...(agent.reachable ? {} : { error: agent.error }) },
    };
  });
  const tenants = fleet.tenants.map(
    (t): TenantView => ({
      slug: t.slug,
      name: t.name,
      ...(t.statusPage !== undefined ? { statusPage: t.statusPage } : {}),
      ...(t.pooledIn !== undefined ? { pooledIn: t.pooledIn } : {}),
      projects: t.projects.map((p): ProjectView => {
        const monitors = monitorsOf(r.kuma, p.links.monitors);
        const agent = r.agents.get(p.worker);
        const status = agent?.reachable ? agent.projects.find((s) => s.name === p.name) : undefined;
        const backups = backupView(status?.backup, p.backups, p.pitr, agent?.at ?? now, now);
        return {
          name: p.name,
          tenant: t.slug,
          worker: p.worker,
          isolation: p.isolation,
          release: p.release,
          services: p.services,
          links: p.links,
          health: withMonitors(projectHealth(p, reportHealth.get(p.worker)!, r.lastReport(p.worker)), monitors),
          monitors,
          backups: agent !== undefined && !agent.reachable && p.backups ? { ...backups, unknown: agent.error } : backups,
        };
      }),
    }),
  );
  return {
    env: fleet.env,
    domain: fleet.domain,
    infraRelease: fleet.infraRelease,
    generatedAt: new Date(now).toISOString(),
    reportIntervalSeconds: fleet.reportIntervalSeconds,
    kuma: {
      ...(r.kuma.reachable ? { reachable: true } : { reachable: false, error: r.kuma.error }),
      dashboardUrl: fleet.kuma.dashboardUrl,
    },
    workers,
    tenants,
  };
}

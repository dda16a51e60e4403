import { statusPageHostname } from "../model/naming";
import type { StudioLayout } from "../model/projectServices";
import type { ServiceName } from "../model/services";
import { MASTER_SERVICE_PORTS } from "../render/ingress";
import { DASHBOARD_USERNAME } from "../supabase/env";

/** What the monitors are made from: the fleet's nodes, projects and tenants. */
export interface KumaFleet {
  readonly env: string;
  readonly domain: string;
  readonly hostnames: { readonly n8n: string };
  readonly master: { readonly name: string };
  readonly workers: readonly { readonly name: string; readonly address: string }[];
  readonly projects: readonly KumaProject[];
  readonly tenants: readonly { readonly slug: string; readonly name: string; readonly statusPage: boolean }[];
  /** With the team name, cloudflared checks Access's token for a worker's Studio and Kong asks no password. */
  readonly edge: { readonly teamName?: string };
}

export interface KumaProject {
  readonly name: string;
  readonly worker: { readonly name: string; readonly address: string };
  readonly ports: { readonly gateway: number };
  readonly hostnames: { readonly api: string; readonly studio: string };
  readonly tenant: { readonly slug: string };
  readonly pooledTenants: readonly { readonly slug: string }[];
  /** Where its Studio runs, and the containers on its worker: a monitor watches only what runs. */
  readonly studio: StudioLayout;
  readonly services: readonly ServiceName[];
  /** Its WAL archive, when it has one: wal.sh pushes its state every minute. */
  readonly walArchive?: { readonly alertAfterSeconds: number };
}

/**
 * What Uptime Kuma must hold, derived from the fleet plan alone: the monitor
 * tree (fleet, workers, then tenant → project), the notifications and the
 * tenants' status pages. Secrets appear only as `${secret:<name>}`
 * references; the reconciler fills them on the master from a root-only file,
 * so this document is safe to render, diff and review.
 */
export interface KumaDesired {
  readonly tag: string;
  readonly notifications: readonly KumaNotification[];
  readonly monitors: readonly KumaMonitor[];
  readonly statusPages: readonly KumaStatusPage[];
}

export type MonitorKind = "group" | "http" | "ping" | "push";

export interface KumaMonitor {
  /** Stable identity, kept in the monitor's supafleet tag; never a list position. */
  readonly id: string;
  readonly name: string;
  readonly type: MonitorKind;
  /** The id of the group monitor it sits in. */
  readonly parent?: string;
  readonly description: string;
  readonly interval: number;
  readonly retryInterval: number;
  readonly maxretries: number;
  readonly url?: string;
  readonly hostname?: string;
  /** JSON text of request headers, with secret references. */
  readonly headers?: string;
  readonly basicAuth?: { readonly user: string; readonly pass: string };
  readonly acceptedStatusCodes?: readonly string[];
  readonly pushToken?: string;
}

export interface KumaNotification {
  /** Kuma has no tags on notifications: supafleet's own are known by this name. */
  readonly name: string;
  readonly config: Readonly<Record<string, string | number | boolean>>;
}

export interface KumaStatusPage {
  readonly slug: string;
  readonly title: string;
  /** A tenant's public hostname; none for supafleet's own pages, which only the mesh and Access reach. */
  readonly hostname?: string;
  /** Public groups, each listing monitor ids. */
  readonly groups: readonly { readonly name: string; readonly monitors: readonly string[] }[];
}

export const KUMA_TAG = "supafleet";
/** supafleet's own status page of every backup job, for the morning report. */
export const BACKUP_STATUS_PAGE = "supafleet-backups";
/** supafleet's own page of every monitor, which the e2e probe reads over the mesh (docs/e2e.md). */
export const FLEET_STATUS_PAGE = "supafleet-fleet";
export const KUMA_PORT = MASTER_SERVICE_PORTS.status;
/** cloudflared's metrics server on the master; `/ready` answers 200 once a tunnel connection is up. */
export const CLOUDFLARED_METRICS = "127.0.0.1:20241";

/** The secret a reference names, filled on the master; see src/monitoring/secrets.ts. */
export const secretRef = (name: string): string => `\${secret:${name}}`;

export const pushSecret = (id: string): string => `push:${id}`;
/** The dashboard password a worker Studio's monitor signs in with; no monitor names a master Studio's. */
export const dashboardPasswordSecret = (project: string): string => `dashboardPassword:${project}`;

/** How often each kind of check runs, in seconds. */
const EVERY = { probe: 60, agent: 120, backup: 26 * 3600 } as const;

const headers = (h: Record<string, string>): string => JSON.stringify(h, null, 1);

function http(id: string, parent: string, name: string, description: string, url: string, extra: Partial<KumaMonitor> = {}): KumaMonitor {
  return { id, parent, name, description, type: "http", url, interval: EVERY.probe, retryInterval: 30, maxretries: 2, acceptedStatusCodes: ["200-299"], ...extra };
}

function push(id: string, parent: string, name: string, description: string, interval: number): KumaMonitor {
  return { id, parent, name, description, type: "push", interval, retryInterval: 60, maxretries: 0, pushToken: secretRef(pushSecret(id)) };
}

function ping(id: string, parent: string, name: string, description: string, hostname: string): KumaMonitor {
  return { id, parent, name, description, type: "ping", hostname, interval: EVERY.probe, retryInterval: 30, maxretries: 2 };
}

const group = (id: string, name: string, parent?: string): KumaMonitor => ({
  id,
  name,
  type: "group",
  description: "managed by supafleet",
  interval: EVERY.probe,
  retryInterval: EVERY.probe,
  maxretries: 0,
  ...(parent !== undefined ? { parent } : {}),
});

/**
 * The checks of one Supabase service, as a client reaches it: through the gateway with the anon key.
 * Each watches the container it names; a project that leaves that service out has no route to it
 * (Kong answers 404), so it gets no such monitor rather than one that is down for good.
 */
const SERVICE_CHECKS = [
  { key: "auth", path: "/auth/v1/health", what: "Auth (GoTrue) health" },
  { key: "rest", path: "/rest/v1/", what: "REST (PostgREST) with the anon key" },
  { key: "storage", path: "/storage/v1/status", what: "Storage status" },
  { key: "realtime", path: "/realtime/v1/api/ping", what: "Realtime ping" },
] as const satisfies readonly { key: ServiceName; path: string; what: string }[];

/** The service checks that apply to a project: those of the services it runs. */
export const serviceChecks = (p: Pick<KumaProject, "services">): (typeof SERVICE_CHECKS)[number][] => SERVICE_CHECKS.filter((s) => p.services.includes(s.key));

export const projectGroupId = (project: string): string => `project/${project}`;
export const tenantGroupId = (tenant: string): string => `tenant/${tenant}`;
export const workerGroupId = (worker: string): string => `worker/${worker}`;
export const backupPushId = (job: string): string => `backup/${job}`;
export const walPushId = (job: string): string => `${backupPushId(job)}/wal`;
export const agentPushId = (worker: string): string => `worker/${worker}/agent`;

function projectMonitors(p: KumaProject, studioPassword: boolean): KumaMonitor[] {
  const g = projectGroupId(p.name);
  const key = headers({ apikey: secretRef(`anonKey:${p.name}`) });
  const wg = `http://${p.worker.address}:${p.ports.gateway}`;
  const checks = serviceChecks(p);
  return [
    group(g, `${p.name} (${p.hostnames.api})`, tenantGroupId(p.tenant.slug)),
    ...checks.map((s) =>
      http(`${g}/edge/${s.key}`, g, `${p.name} · edge · ${s.key}`, `${s.what} through Cloudflare and the tunnel: https://${p.hostnames.api}${s.path}`, `https://${p.hostnames.api}${s.path}`, { headers: key }),
    ),
    ...checks.map((s) =>
      http(`${g}/wg/${s.key}`, g, `${p.name} · worker ${p.worker.name} · ${s.key}`, `${s.what} straight to the gateway over WireGuard: ${wg}${s.path}`, `${wg}${s.path}`, { headers: key }),
    ),
    // A Studio on the master gets no monitor. It is woken by any request that reaches it and sleeps when idle,
    // so a monitor that reached it would keep it awake for good. One that stops at Cloudflare Access cannot
    // tell Access from Studio either: Kuma follows redirects (templates/master/kuma-reconcile.cjs), so both
    // end in a 200 page, and were Access gone it would wake Studio every minute while showing green.
    // That Studio is behind Access is the e2e probe's access check (src/probe/checks/access.ts), which
    // does not follow the redirect and never reaches the origin.
    ...(p.studio === "worker"
      ? [
          http(
            `${g}/studio`,
            g,
            `${p.name} · studio`,
            `Studio on the worker, through Cloudflare Access (service token)${studioPassword ? " and the dashboard password" : ""}`,
            `https://${p.hostnames.studio}/`,
            {
              headers: headers({ "CF-Access-Client-Id": secretRef("accessClientId"), "CF-Access-Client-Secret": secretRef("accessClientSecret") }),
              ...(studioPassword ? { basicAuth: { user: DASHBOARD_USERNAME, pass: secretRef(dashboardPasswordSecret(p.name)) } } : {}),
            },
          ),
        ]
      : []),
    push(backupPushId(p.name), g, `${p.name} · nightly backup`, `Pushed by the backup job after each run; silent for 26 h means no backup ran`, EVERY.backup),
    // Up from every minute's ship, down once a problem outlasts alertAfter; silence (the worker or its timer gone) is down too.
    ...(p.walArchive !== undefined
      ? [push(walPushId(p.name), g, `${p.name} · WAL archive`, `Pushed by the WAL shipper every minute with the archive's age; down when archiving or shipping has failed for ${p.walArchive.alertAfterSeconds} s`, Math.max(180, p.walArchive.alertAfterSeconds + 120))]
      : []),
  ];
}

export function kumaDesired(fleet: KumaFleet, alerting: { ntfy?: { server: string; topic: string; token: boolean }; telegram?: { chatId: string } }): KumaDesired {
  const accessHeaders = headers({ "CF-Access-Client-Id": secretRef("accessClientId"), "CF-Access-Client-Secret": secretRef("accessClientSecret") });
  const fleetMonitors: KumaMonitor[] = [
    group("fleet", `Fleet ${fleet.env}: master and workers`),
    http("fleet/n8n", "fleet", "n8n", "n8n's health endpoint through Cloudflare Access (service token)", `https://${fleet.hostnames.n8n}/healthz`, { headers: accessHeaders }),
    http("fleet/cloudflared", "fleet", "cloudflared", "the tunnel connector on the master: /ready is 200 while it holds a connection to Cloudflare", `http://${CLOUDFLARED_METRICS}/ready`),
    push(backupPushId(fleet.master.name), "fleet", "master · nightly backup", "Pushed by the master's backup job after each run", EVERY.backup),
    ...fleet.workers.flatMap((w) => [
      group(workerGroupId(w.name), `worker ${w.name} (${w.address})`, "fleet"),
      ping(`${workerGroupId(w.name)}/wireguard`, workerGroupId(w.name), `${w.name} · WireGuard`, `ping over the mesh to ${w.address}`, w.address),
      push(agentPushId(w.name), workerGroupId(w.name), `${w.name} · health agent`, "Pushed every minute by the worker's health agent: containers, disk, memory, WireGuard; silence means the worker is dead", EVERY.agent),
    ]),
  ];
  const tenants = fleet.tenants.filter((t) => fleet.projects.some((p) => p.tenant.slug === t.slug));
  const tenantMonitors = tenants.flatMap((t) => [group(tenantGroupId(t.slug), `tenant ${t.name}`), ...fleet.projects.filter((p) => p.tenant.slug === t.slug).flatMap((p) => projectMonitors(p, fleet.edge.teamName === undefined))]);

  const statusPages: KumaStatusPage[] = fleet.tenants
    .filter((t) => t.statusPage)
    .map((t) => {
      // A pooled tenant's service is its pool's project.
      const projects = fleet.projects.filter((p) => p.tenant.slug === t.slug || p.pooledTenants.some((x) => x.slug === t.slug));
      return {
        slug: t.slug,
        title: t.name,
        hostname: statusPageHostname(t.slug, fleet.domain),
        groups: projects.map((p) => ({ name: p.hostnames.api, monitors: serviceChecks(p).map((s) => `${projectGroupId(p.name)}/edge/${s.key}`) })),
      };
    });

  // Read by n8n's morning backup report over the mesh; no hostname routes to it.
  statusPages.push({ slug: BACKUP_STATUS_PAGE, title: "supafleet: nightly backups", groups: [{ name: "nightly backups", monitors: [...fleet.projects.map((p) => p.name), fleet.master.name].map(backupPushId) }] });

  // Every monitor that checks something, under the group it sits in; no hostname routes to it either.
  const monitors = [...fleetMonitors, ...tenantMonitors];
  const groups = monitors.filter((m) => m.type === "group");
  statusPages.push({
    slug: FLEET_STATUS_PAGE,
    title: "supafleet: every monitor",
    groups: groups
      .map((g) => ({ name: g.name, monitors: monitors.filter((m) => m.type !== "group" && m.parent === g.id).map((m) => m.id) }))
      .filter((g) => g.monitors.length > 0),
  });

  const notifications: KumaNotification[] = [];
  if (alerting.ntfy !== undefined) {
    notifications.push({
      name: "supafleet/ntfy",
      config: {
        type: "ntfy",
        ntfyserverurl: alerting.ntfy.server.replace(/\/+$/, ""),
        ntfytopic: alerting.ntfy.topic,
        ntfyPriority: 4,
        ntfyAuthenticationMethod: alerting.ntfy.token ? "accessToken" : "none",
        ...(alerting.ntfy.token ? { ntfyaccesstoken: secretRef("ntfyToken") } : {}),
      },
    });
  }
  if (alerting.telegram !== undefined) {
    notifications.push({ name: "supafleet/telegram", config: { type: "telegram", telegramBotToken: secretRef("telegramBotToken"), telegramChatID: alerting.telegram.chatId } });
  }
  return { tag: KUMA_TAG, notifications, monitors, statusPages };
}

/** The monitor set as a reviewer reads it in out/<env>/monitoring/monitors.txt: one line each, indented by group. */
export function renderMonitorList(d: KumaDesired): string {
  const children = new Map<string | undefined, KumaMonitor[]>();
  for (const m of d.monitors) children.set(m.parent, [...(children.get(m.parent) ?? []), m]);
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const m of children.get(parent) ?? []) {
      const target = m.url ?? m.hostname ?? (m.type === "push" ? `push, silent after ${m.interval} s` : "");
      lines.push(`${"  ".repeat(depth)}${m.type === "group" ? "▸" : "-"} ${m.id}  [${m.type}]${target ? `  ${target}` : ""}`);
      walk(m.id, depth + 1);
    }
  };
  walk(undefined, 0);
  const pages = d.statusPages.map((p) => `status page ${p.slug} ${p.hostname !== undefined ? `at https://${p.hostname}/` : "(mesh only)"}: ${p.groups.flatMap((g) => g.monitors).join(", ")}`);
  const notes = d.notifications.map((n) => `notification ${n.name} (${String(n.config.type)}), on every monitor above`);
  return [`# Uptime Kuma: ${d.monitors.length} monitors, tagged "${d.tag}"`, ...lines, "", ...notes, ...pages, ""].join("\n");
}

import { describe, expect, it } from "vitest";
import { backupView } from "../../templates/console/backupStatus";
import type { ConsoleFleet } from "../../templates/console/fleet";
import type { KumaReading } from "../../templates/console/kuma";
import type { HealthReport, ReceivedReport } from "../../templates/console/reports";
import { fleetView, type FleetReadings } from "../../templates/console/view";
import type { AgentReading } from "../../templates/console/watch";

/** The merge behind the page and GET /api/fleet: fleet.json, the last reports, Kuma and the agents' status. */
const fleet: ConsoleFleet = {
  env: "prod",
  domain: "example.test",
  infraRelease: "2026.12.1",
  master: { name: "master", address: "10.100.0.1" },
  workers: [{ name: "w1", address: "10.100.0.2", agentPort: 7081, dedicated: false, monitors: ["w1 · WireGuard"] }],
  tenants: [
    {
      slug: "acme",
      name: "Acme",
      projects: [{ name: "acme", worker: "w1", isolation: "shared", release: "2025.11", services: ["db"], backups: true, pitr: true, links: { api: "https://a", studio: "https://s", monitors: ["acme · rest"] } }],
    },
  ],
  kuma: { url: "http://10.100.0.1:3001", fleetStatusPage: "supafleet-fleet", dashboardUrl: "https://status.example.test" },
  access: { teamName: "t", aud: "a" },
  reportIntervalSeconds: 60,
};

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const healthy: HealthReport = { worker: "w1", at: T0 / 1000, interval: 60, ok: true, problems: [], projects: { acme: { ok: true, problems: [] } } };
const noKuma: KumaReading = { reachable: false, error: "Uptime Kuma at http://10.100.0.1:3001 is unreachable (ECONNREFUSED)" };

function view(report: ReceivedReport | undefined, now: number, more: Partial<FleetReadings> = {}): ReturnType<typeof fleetView> {
  return fleetView(fleet, { lastReport: () => report, kuma: noKuma, agents: new Map(), startedAt: T0, ...more }, now);
}

describe("health in the fleet view", () => {
  it("waits for a first report, then calls a worker that never reported silent after two intervals", () => {
    expect(view(undefined, T0 + 119_000).workers[0]!.health.state).toBe("waiting");
    expect(view(undefined, T0 + 120_000).workers[0]!.health).toEqual({ state: "silent", problems: ["no report since the console started 120 s ago"] });
  });

  it("is healthy or unhealthy by the last report, and silent two intervals after it, for the worker and its projects", () => {
    const sick: ReceivedReport = { receivedAt: T0, report: { ...healthy, ok: false, problems: ["disk 97 % used"], projects: { acme: { ok: false, problems: ["acme-db restarted 3 times"] } } } };
    expect(view({ receivedAt: T0, report: healthy }, T0 + 1000).tenants[0]!.projects[0]!.health).toEqual({ state: "healthy", problems: [] });
    const v = view(sick, T0 + 119_999);
    expect(v.workers[0]!.health).toEqual({ state: "unhealthy", problems: ["disk 97 % used"] });
    expect(v.tenants[0]!.projects[0]!.health).toEqual({ state: "unhealthy", problems: ["acme-db restarted 3 times"] });
    const later = view(sick, T0 + 120_000);
    expect(later.workers[0]!.health).toEqual({ state: "silent", problems: ["no report for 120 s"] });
    expect(later.tenants[0]!.projects[0]!.health).toEqual({ state: "silent", problems: ["worker w1: no report for 120 s"] });
  });

  it("counts a project the report leaves out, and a Kuma monitor that is down, as problems", () => {
    const without: ReceivedReport = { receivedAt: T0, report: { ...healthy, projects: {} } };
    expect(view(without, T0).tenants[0]!.projects[0]!.health).toEqual({ state: "unhealthy", problems: ["w1's health agent does not report it"] });
    const kuma: KumaReading = {
      reachable: true,
      monitors: [
        { id: "7", name: "acme · rest", status: "down", message: "502 Bad Gateway" },
        { id: "8", name: "w1 · WireGuard", status: "up" },
      ],
    };
    const v = view({ receivedAt: T0, report: healthy }, T0, { kuma });
    expect(v.tenants[0]!.projects[0]!.health).toEqual({ state: "unhealthy", problems: ["Kuma: acme · rest is down (502 Bad Gateway)"] });
    expect(v.tenants[0]!.projects[0]!.monitors.map((m) => m.id)).toEqual(["7"]);
    expect(v.workers[0]!.health.state).toBe("healthy");
    expect(v.kuma).toEqual({ reachable: true, dashboardUrl: "https://status.example.test" });
    expect(view(undefined, T0).kuma).toEqual({ ...noKuma, dashboardUrl: "https://status.example.test" });
  });
});

describe("backups in the fleet view", () => {
  const status = {
    project: "acme",
    snapshots: { database: { id: "1a2b3c4d", time: "x", at: T0 / 1000 - 7200, size: 5_242_880, labels: ["manual"] }, roles: { id: "9", at: T0 / 1000 - 7200, size: 10, labels: [] } },
    lastRun: { at: T0 / 1000 - 86_400, ok: false, message: "the database dump failed (exit 1)" },
    copy: null,
    drill: { at: T0 / 1000 - 3600, ok: true, rpoMinutes: 12, rtoSeconds: 41, message: "restored snapshot 1a2b3c4d", pointInTime: null },
    wal: { lastShipped: "000000010000000000000003", lastShippedAgeSeconds: 30, waiting: 0, alerted: false, problems: [] },
  };

  it("shows the last snapshot's age and size, the last run, the drill's RPO and RTO and the WAL archive's age", () => {
    expect(backupView(status, true, true, T0 - 10_000, T0)).toEqual({
      enabled: true,
      pitr: true,
      lastSnapshot: { at: new Date(T0 - 7_200_000).toISOString(), ageSeconds: 7200, sizeBytes: 5_242_880, labels: ["manual"] },
      lastRun: { at: new Date(T0 - 86_400_000).toISOString(), ok: false, message: "the database dump failed (exit 1)" },
      lastDrill: { at: new Date(T0 - 3_600_000).toISOString(), ok: true, message: "restored snapshot 1a2b3c4d", rpoSeconds: 720, rtoSeconds: 41 },
      // 30 s when the agent was read, 10 s before the page.
      walArchiveAgeSeconds: 40,
    });
  });

  it("says when nothing is known, and shows no WAL archive for a project without point-in-time recovery", () => {
    expect(backupView(null, true, false, T0, T0)).toEqual({ enabled: true, pitr: false, unknown: "no backup status from the worker yet" });
    expect(backupView(status, false, false, T0, T0)).toEqual({ enabled: false, pitr: false });
    expect(backupView(status, true, false, T0, T0).walArchiveAgeSeconds).toBeUndefined();
  });

  it("takes a project's status from its worker's agent, or says why there is none", () => {
    const agents = new Map<string, AgentReading>([["w1", { reachable: true, at: T0, projects: [{ name: "acme", services: [], backup: status }] }]]);
    expect(view(undefined, T0, { agents }).tenants[0]!.projects[0]!.backups.lastSnapshot?.ageSeconds).toBe(7200);
    const down = new Map<string, AgentReading>([["w1", { reachable: false, at: T0, error: "the agent is unreachable (ECONNREFUSED)" }]]);
    const v = view(undefined, T0, { agents: down });
    expect(v.tenants[0]!.projects[0]!.backups.unknown).toBe("the agent is unreachable (ECONNREFUSED)");
    expect(v.workers[0]!.agent).toEqual({ reachable: false, checkedAt: new Date(T0).toISOString(), error: "the agent is unreachable (ECONNREFUSED)" });
  });
});

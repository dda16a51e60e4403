import type { FleetModel } from "../model/fleet";
import { statusPageHostname, statusPageRules } from "../monitoring/statusPages";

/**
 * Master services cloudflared reaches: n8n on the master's loopback; Uptime
 * Kuma on the hub's WireGuard address, where the workers' health pushes reach it too.
 */
export const MASTER_SERVICE_PORTS = { n8n: 5678, status: 3001 } as const;

/** Defaults for every origin: WireGuard origins are IPv4 and close by, Realtime holds WebSockets open. */
export const ORIGIN_DEFAULTS = {
  connectTimeout: 10,
  tlsTimeout: 10,
  tcpKeepAlive: 30,
  keepAliveTimeout: 90,
  keepAliveConnections: 100,
  noHappyEyeballs: true,
} as const;

export type HostnameKind = "api" | "studio" | "n8n" | "status" | "status-page";

/** One ingress rule, in the provider's shape plus what it is for. */
export interface IngressRule {
  readonly hostname?: string;
  readonly path?: string;
  readonly service: string;
  /** Which project or master service the rule belongs to; not sent to Cloudflare. */
  readonly owner?: string;
  readonly kind?: HostnameKind;
}

export const CATCH_ALL: IngressRule = { service: "http_status:404" };

/**
 * Every public hostname of the fleet, with where it goes. Sorted by hostname
 * so that adding a project inserts its rules without reordering the others;
 * the catch-all is always last.
 */
export function ingressRules(fleet: FleetModel): IngressRule[] {
  const rules: IngressRule[] = fleet.projects.flatMap((p) => [
    { hostname: p.hostnames.api, service: `http://${p.worker.address}:${p.ports.gateway}`, owner: p.name, kind: "api" as const },
    // Studio sits behind the gateway too, on a route that matches its hostname only.
    { hostname: p.hostnames.studio, service: `http://${p.worker.address}:${p.ports.gateway}`, owner: p.name, kind: "studio" as const },
  ]);
  const kuma = `http://${fleet.wireguard.hub}:${MASTER_SERVICE_PORTS.status}`;
  rules.push(
    { hostname: fleet.hostnames.n8n, service: `http://127.0.0.1:${MASTER_SERVICE_PORTS.n8n}`, owner: "master", kind: "n8n" },
    { hostname: fleet.hostnames.status, service: kuma, owner: "master", kind: "status" },
    ...fleet.config.tenants.filter((t) => t.statusPage).flatMap((t) => statusPageRules(t.slug, statusPageHostname(t.slug, fleet.domain), kuma)),
  );
  rules.sort((a, b) => (a.hostname ?? "").localeCompare(b.hostname ?? ""));
  return [...rules, CATCH_ALL];
}

/** The rules as the Cloudflare provider takes them. */
export function providerIngress(rules: readonly IngressRule[]): { hostname?: string; path?: string; service: string }[] {
  return rules.map((r) => ({
    ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
    ...(r.path !== undefined ? { path: r.path } : {}),
    service: r.service,
  }));
}

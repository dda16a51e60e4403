import { studioPorts } from "../model/ports";
import type { StudioLayout } from "../model/projectServices";
import { statusPageHostname } from "../model/naming";
import { statusPageRules } from "../monitoring/statusPages";
import type { IngressRule } from "./ingressRule";

export type { HostnameKind, IngressRule } from "./ingressRule";

/**
 * Master services cloudflared reaches: n8n on the master's loopback; Uptime
 * Kuma on the hub's WireGuard address, where the workers' health pushes reach it too.
 */
export const MASTER_SERVICE_PORTS = { n8n: 5678, status: 3001, console: 3002 } as const;

/** Defaults for every origin: WireGuard origins are IPv4 and close by, Realtime holds WebSockets open. */
export const ORIGIN_DEFAULTS = {
  connectTimeout: 10,
  tlsTimeout: 10,
  tcpKeepAlive: 30,
  keepAliveTimeout: 90,
  keepAliveConnections: 100,
  noHappyEyeballs: true,
} as const;

/** What the ingress is made from: the projects' gateways, the master's services, the tenants' status pages. */
export interface IngressFleet {
  readonly domain: string;
  readonly wireguard: { readonly hub: string };
  /** `console` only when the operator console is enabled. */
  readonly hostnames: { readonly n8n: string; readonly status: string; readonly console?: string };
  readonly projects: readonly {
    readonly name: string;
    readonly slot: number;
    readonly worker: { readonly address: string };
    readonly ports: { readonly gateway: number };
    readonly hostnames: { readonly api: string; readonly studio: string };
    readonly studio: StudioLayout;
    /** The client's own hostnames for its API (plan.customDomains); none when left out. */
    readonly customDomains?: readonly { readonly hostname: string; readonly kind: "zone" | "saas" }[];
  }[];
  readonly tenants: readonly { readonly slug: string; readonly statusPage: boolean }[];
}

export const CATCH_ALL: IngressRule = { service: "http_status:404" };

/**
 * Every public hostname of the fleet, with where it goes. Sorted by hostname
 * so that adding a project inserts its rules without reordering the others;
 * the catch-all is always last.
 */
export function ingressRules(fleet: IngressFleet): IngressRule[] {
  const rules: IngressRule[] = fleet.projects.flatMap((p) => [
    { hostname: p.hostnames.api, service: `http://${p.worker.address}:${p.ports.gateway}`, owner: p.name, kind: "api" as const },
    // A Studio on the master: its waker's socket on loopback, which cloudflared (on the master) reaches.
    // On the worker it sits behind the gateway, on a route that matches its hostname only.
    {
      hostname: p.hostnames.studio,
      service: p.studio === "master" ? `http://127.0.0.1:${studioPorts(p.slot).listen}` : `http://${p.worker.address}:${p.ports.gateway}`,
      owner: p.name,
      kind: "studio" as const,
    },
    // The same gateway answers on any Host: Kong routes the API by path (src/supabase/kong.ts).
    ...(p.customDomains ?? []).map((d) => ({
      hostname: d.hostname,
      service: `http://${p.worker.address}:${p.ports.gateway}`,
      owner: p.name,
      kind: d.kind === "zone" ? ("custom-domain" as const) : ("custom-hostname" as const),
    })),
  ]);
  const kuma = `http://${fleet.wireguard.hub}:${MASTER_SERVICE_PORTS.status}`;
  rules.push(
    { hostname: fleet.hostnames.n8n, service: `http://127.0.0.1:${MASTER_SERVICE_PORTS.n8n}`, owner: "master", kind: "n8n" },
    { hostname: fleet.hostnames.status, service: kuma, owner: "master", kind: "status" },
    ...(fleet.hostnames.console !== undefined
      ? [{ hostname: fleet.hostnames.console, service: `http://${fleet.wireguard.hub}:${MASTER_SERVICE_PORTS.console}`, owner: "master", kind: "console" as const }]
      : []),
    ...fleet.tenants.filter((t) => t.statusPage).flatMap((t) => statusPageRules(t.slug, statusPageHostname(t.slug, fleet.domain), kuma)),
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

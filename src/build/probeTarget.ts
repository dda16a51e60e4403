import * as pulumi from "@pulumi/pulumi";
import { PROJECT_FUNCTIONS } from "../../components/SupabaseProject";
import { FLEET_STATUS_PAGE, KUMA_PORT } from "../monitoring/kuma";
import { tenantUuid } from "../rls/tenants";
import { targetServices, type ProbeTarget } from "../probe/target";
import type { Fleet } from "./fleet";

/**
 * The stack output `probeTarget`: what scripts/probe.ts needs to probe this
 * stack as a client would. Only the keys in it are secrets.
 */
/** A value whose leaves may still be outputs, as a stack output may be. */
type Leaves<T> = T extends string | number | boolean ? pulumi.Input<T> : T extends readonly (infer U)[] ? Leaves<U>[] : { [K in keyof T]: Leaves<T[K]> };

export function probeTarget(fleet: Fleet): Leaves<ProbeTarget> {
  const m = fleet.plan;
  return {
    stack: m.env,
    projects: m.projects.map((p) => {
      const project = fleet.projects.get(p.name)!;
      return {
        name: p.name,
        apiUrl: project.apiUrl,
        studioUrl: project.studioUrl,
        // Secrets of their own, so the rest reads in the clear in `pulumi stack output`.
        anonKey: project.anonKey,
        serviceKey: project.serviceRoleKey,
        worker: { name: p.worker.name, meshAddress: p.worker.address },
        // The owner first, then the pooled tenants whose rows share its database.
        tenants: [p.tenant, ...p.pooledTenants].map((t) => ({ slug: t.slug, id: tenantUuid(t.slug) })),
        mspOps: p.schemaPacks.includes("msp-ops"),
        // A project's own functions are the client's: calling one may do anything, so only the default hello is probed.
        functions: p.services.includes("functions") && p.functions === undefined ? [...PROJECT_FUNCTIONS] : [],
        services: targetServices(p.services),
        customDomains: p.customDomains.map((d) => `https://${d.hostname}`),
        auth: {
          siteUrl: p.auth.siteUrl,
          redirectUrls: [...p.auth.redirectUrls],
          emailSignup: p.auth.signup !== false && p.auth.signup.email,
          emailConfirm: p.auth.emailConfirm,
          providers: Object.entries(p.auth.providers).map(([name, c]) => ({ name, clientId: c.clientId })),
        },
      };
    }),
    accessProtected: [`https://${m.hostnames.n8n}/`, `https://${m.hostnames.status}/`],
    hosts: {
      master: { ipv4: fleet.master.ipv4Address, meshAddress: m.wireguard.hub },
      workers: [...fleet.workers].map(([name, w]) => ({ name, ipv4: w.server.ipv4Address })),
    },
    kuma: { url: `http://${m.wireguard.hub}:${KUMA_PORT}`, statusPages: [FLEET_STATUS_PAGE] },
  };
}

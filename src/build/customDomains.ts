import { CustomDomains } from "../../components/CustomDomains";
import type { TunnelIngress } from "../../components/TunnelIngress";
import type { FleetPlan } from "../plan/types";

/** Clients' own zones' hostnames (Cloudflare for SaaS); none, and no fallback origin, while no project has one. */
export function buildCustomDomains(plan: FleetPlan, tunnel: TunnelIngress): CustomDomains | undefined {
  const e = plan.edge;
  if (e.fallbackOrigin === undefined) return undefined;
  return new CustomDomains("custom-domains", { env: plan.env, zoneId: e.zoneId, tunnelId: tunnel.tunnel.id, fallbackHostname: e.fallbackOrigin, hostnames: e.customHostnames });
}

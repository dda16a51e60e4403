import { fallbackOriginHostname } from "../model/naming";
import type { EdgePlan, ProjectPlan } from "./types";

/** The edge's share of clients' own zones: their hostnames, and the fallback origin only while there is one. */
export function planCustomHostnames(projects: readonly ProjectPlan[], domain: string): Pick<EdgePlan, "customHostnames" | "fallbackOrigin"> {
  const customHostnames = projects.flatMap((p) => p.customDomains.filter((d) => d.kind === "saas").map((d) => ({ hostname: d.hostname, project: p.name })));
  return customHostnames.length > 0 ? { customHostnames, fallbackOrigin: fallbackOriginHostname(domain) } : { customHostnames };
}

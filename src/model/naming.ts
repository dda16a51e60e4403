/** Studio is reached at <subdomain>-studio.<domain>: one level deep, so Universal SSL covers it. */
export const STUDIO_SUFFIX = "-studio";

export function apiHostname(subdomain: string, domain: string): string {
  return `${subdomain}.${domain}`;
}

export function studioHostname(subdomain: string, domain: string): string {
  return `${subdomain}${STUDIO_SUFFIX}.${domain}`;
}

/** The server a dedicated project gets is named after the project, so it is stable. */
export function dedicatedWorkerName(project: string): string {
  return `${project}-dedicated`;
}

export const MASTER_NAME = "master";

/** Tactical RMM's server. */
export const RMM_NAME = "rmm";

/** A tenant's public status page lives on its own hostname, one level deep like every other. */
export const STATUS_PAGE_PREFIX = "status-";

export function statusPageHostname(tenant: string, domain: string): string {
  return `${STATUS_PAGE_PREFIX}${tenant}.${domain}`;
}

/**
 * Cloudflare for SaaS sends a client's own hostname to this fleet hostname (the zone's fallback
 * origin), and the client's CNAME points at it too: one name for every client, one level deep.
 */
export const FALLBACK_ORIGIN_LABEL = "custom-domains";

export function fallbackOriginHostname(domain: string): string {
  return `${FALLBACK_ORIGIN_LABEL}.${domain}`;
}

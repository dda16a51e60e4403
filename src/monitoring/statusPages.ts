import type { IngressRule } from "../render/ingressRule";


/**
 * The only paths of Kuma a tenant's status page hostname reaches: the page
 * itself (Kuma maps the hostname to it at `/`), its two JSON endpoints, and
 * the static files the page loads. Kuma's socket API, login and every other
 * page get the hostname's own 404, so nothing else of Kuma is public.
 */
export function statusPageRules(tenant: string, hostname: string, kuma: string): IngressRule[] {
  const esc = tenant.replaceAll("-", "\\-");
  const paths = [
    "^/$",
    `^/status/${esc}/?$`,
    `^/api/status-page/(heartbeat/)?${esc}$`,
    `^/api/status-page/${esc}/manifest\\.json$`,
    "^/assets/[A-Za-z0-9._-]+$",
    "^/upload/logo[0-9]+\\.png$",
    "^/(favicon\\.ico|icon\\.svg|icon\\.png|icon-192x192\\.png|icon-512x512\\.png|apple-touch-icon(-precomposed)?\\.png)$",
  ];
  return [
    ...paths.map((path): IngressRule => ({ hostname, path, service: kuma, owner: tenant, kind: "status-page" })),
    { hostname, service: "http_status:404", owner: tenant, kind: "status-page" },
  ];
}

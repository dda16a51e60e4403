/**
 * What a hostname is for. A client's own domain serves a project's API: `custom-domain` is in the
 * fleet's zone (a DNS record there), `custom-hostname` in the client's (Cloudflare for SaaS, no record).
 */
export type HostnameKind = "api" | "studio" | "n8n" | "status" | "console" | "status-page" | "custom-domain" | "custom-hostname";

/** One ingress rule, in the provider's shape plus what it is for. */
export interface IngressRule {
  readonly hostname?: string;
  readonly path?: string;
  readonly service: string;
  /** Which project or master service the rule belongs to; not sent to Cloudflare. */
  readonly owner?: string;
  readonly kind?: HostnameKind;
}

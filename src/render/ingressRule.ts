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

import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import { FleetComponent } from "../src/resources/component";

export interface CustomDomainsArgs {
  readonly env: string;
  readonly zoneId: string;
  /** The tunnel the fallback origin's record points at. */
  readonly tunnelId: pulumi.Input<string>;
  /** The fleet hostname Cloudflare sends clients' hostnames to, and that clients CNAME to. */
  readonly fallbackHostname: string;
  /** Hostnames in clients' own zones, each with the project it serves. */
  readonly hostnames: readonly { readonly hostname: string; readonly project: string }[];
}

/** What a client adds, or can add, in their own zone; read back from Cloudflare on every `pulumi up`. */
export interface CustomHostnameValidation {
  readonly project: string;
  /** The CNAME the client adds: their hostname → this target. */
  readonly cnameTarget: string;
  /** The hostname's activation: "pending" until the CNAME (or the ownership TXT record) is seen, then "active". */
  readonly status?: string;
  /** A TXT record that proves ownership before traffic moves (pre-validation); the CNAME alone proves it too. */
  readonly ownership?: { readonly type?: string; readonly name?: string; readonly value?: string };
  readonly certificate: {
    readonly method: string;
    readonly status?: string;
    /** Each record the certificate authority checks; with HTTP validation Cloudflare serves them itself once the CNAME is in place. */
    readonly records: readonly Record<string, string>[];
    readonly errors: readonly string[];
  };
}

/** HTTP validation: once the client's CNAME points here, Cloudflare answers the CA itself, now and at every renewal. */
const SSL = { method: "http", type: "dv" } as const;

/** A validation record's fields that hold something; the API leaves the others empty. */
function filled(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== ""));
}

/**
 * Clients' own hostnames through Cloudflare for SaaS: a custom hostname each in the fleet's zone,
 * and once per zone the fallback origin they all reach, a proxied record to the tunnel, where
 * the tunnel's ingress sends each hostname to its project's gateway.
 */
export class CustomDomains extends FleetComponent {
  readonly fallbackOrigin: cloudflare.CustomHostnameFallbackOrigin;
  readonly customHostnames: ReadonlyMap<string, cloudflare.CustomHostname>;
  /** By hostname: what its client must add, with the state Cloudflare reports. */
  readonly validation: pulumi.Output<Record<string, CustomHostnameValidation>>;

  constructor(name: string, args: CustomDomainsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:CustomDomains", name, opts);
    const child = { parent: this };
    const { zoneId } = args;
    const record = new cloudflare.DnsRecord(
      `${name}-fallback-dns`,
      { zoneId, name: args.fallbackHostname, type: "CNAME", content: pulumi.interpolate`${args.tunnelId}.cfargotunnel.com`, proxied: true, ttl: 1, comment: `supafleet ${args.env}: clients' own domains` },
      child,
    );
    // Cloudflare takes only a proxied record of the zone as the fallback origin.
    this.fallbackOrigin = new cloudflare.CustomHostnameFallbackOrigin(`${name}-fallback-origin`, { zoneId, origin: args.fallbackHostname }, { ...child, dependsOn: [record] });

    const hostnames = new Map<string, cloudflare.CustomHostname>();
    const validation: Record<string, pulumi.Output<CustomHostnameValidation>> = {};
    for (const h of args.hostnames) {
      // Named by hostname alone: moving a domain to another project keeps its certificate.
      const ch = new cloudflare.CustomHostname(
        `${name}-${h.hostname}`,
        { zoneId, hostname: h.hostname, ssl: SSL },
        { ...child, dependsOn: [this.fallbackOrigin] },
      );
      hostnames.set(h.hostname, ch);
      // The resource does not carry its certificate's validation records; the data source does.
      const read = cloudflare.getCustomHostnameOutput({ zoneId, customHostnameId: ch.id }, child);
      // The read is fresh on every run; the resource's own state is as it was at creation.
      validation[h.hostname] = pulumi.all([ch.status, ch.ownershipVerification, read]).apply(([created, createdOwnership, r]) => {
        const status = r.status || created;
        const ownership = r.ownershipVerification ?? createdOwnership;
        return {
          project: h.project,
          cnameTarget: args.fallbackHostname,
          ...(status ? { status } : {}),
          ...(ownership ? { ownership: filled({ ...ownership }) } : {}),
          certificate: {
            method: SSL.method,
            ...(r.ssl?.status ? { status: r.ssl.status } : {}),
            records: (r.ssl?.validationRecords ?? []).map((v) => filled({ ...v })),
            errors: (r.ssl?.validationErrors ?? []).map((e) => e.message),
          },
        };
      });
    }
    this.customHostnames = hostnames;
    this.validation = pulumi.output(validation);
    this.registerOutputs({ fallbackOrigin: args.fallbackHostname, validation: this.validation });
  }
}

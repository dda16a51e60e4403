import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { masterConnection, type SshPath } from "../src/resources/connections";
import { renderPlain } from "../src/render/artifact";
import { ORIGIN_DEFAULTS, providerIngress, type HostnameKind, type IngressRule } from "../src/render/ingress";
import { validateIngress } from "../src/render/ingressValidate";
import { renderScript } from "../src/render/script";
import { toYaml } from "../src/render/yaml";
import { accessSignIn, identityProviderName, type IdentityProviderConfig } from "../src/config/identityProviders";

export const CLOUDFLARED_IMAGE = "cloudflare/cloudflared:2025.11.1";

export interface TunnelIngressArgs {
  readonly env: string;
  /** In prod the tunnel is protected: deleting it takes every hostname down and changes the connector's token. */
  readonly protect: boolean;
  /** What the ingress waits for: a moved project's restore, so its hostnames never point at an empty project. */
  readonly ingressAfter?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  readonly accountId: string;
  readonly zoneId: string;
  readonly teamName?: string;
  readonly rules: readonly IngressRule[];
  readonly access: {
    readonly emails: readonly string[];
    readonly emailDomains: readonly string[];
    readonly sessionDuration: string;
    readonly webhookSources: readonly string[];
    readonly identityProviders?: readonly IdentityProviderConfig[];
    readonly oneTimePin?: boolean;
  };
  /** By identity provider name: its client secret (secure config). */
  readonly identityProviderSecrets?: ReadonlyMap<string, pulumi.Input<string>>;
  /** n8n's hostname: its /webhook path gets its own application. */
  readonly n8nHostname: string;
  readonly master: { readonly ssh: SshPath; readonly ready: pulumi.Resource };
}

/** `ops-studio.example.com` → `ops-studio`: a stable, readable resource name per hostname. */
const label = (hostname: string): string => hostname.split(".")[0]!;

/**
 * The fleet's only way in: one Cloudflare Tunnel ending on the master, a DNS
 * record per hostname, and Access in front of everything that is not an API.
 */
export class TunnelIngress extends FleetComponent {
  readonly tunnel: cloudflare.ZeroTrustTunnelCloudflared;
  readonly tunnelConfig: cloudflare.ZeroTrustTunnelCloudflaredConfig;
  readonly tunnelToken: pulumi.Output<string>;
  readonly serviceTokenId: pulumi.Output<string>;
  readonly serviceTokenSecret: pulumi.Output<string>;
  readonly hostnames: string[];

  private readonly apps = new Map<string, cloudflare.ZeroTrustAccessApplication>();

  /** The audience tag of a protected hostname's Access application: what its JWTs carry as `aud`. */
  accessAudience(hostname: string): pulumi.Output<string> {
    const app = this.apps.get(hostname);
    if (app === undefined) throw new pulumi.ResourceError(`${hostname} has no Access application`, this);
    return app.aud;
  }

  constructor(name: string, args: TunnelIngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:TunnelIngress", name, opts);
    const child = { parent: this };
    const { accountId } = args;
    const provided = providerIngress(args.rules);
    const invalid = validateIngress(provided);
    if (invalid.length > 0) throw new pulumi.ResourceError(`tunnel ingress rules would be refused by cloudflared:\n  ${invalid.join("\n  ")}`, this);

    const secret = new random.RandomBytes(`${name}-tunnel-secret`, { length: 32 }, child);
    this.tunnel = new cloudflare.ZeroTrustTunnelCloudflared(
      `${name}-tunnel`,
      { accountId, name: `supafleet-${args.env}`, configSrc: "cloudflare", tunnelSecret: secret.base64 },
      { ...child, protect: args.protect },
    );

    // Access: how operators sign in, who may pass, and the token automations use instead of a login.
    const signIn = this.identityProviders(name, args);
    const operators = new cloudflare.ZeroTrustAccessPolicy(
      `${name}-operators`,
      {
        accountId,
        name: `supafleet ${args.env}: operators`,
        decision: "allow",
        includes: [
          ...args.access.emails.map((email) => ({ email: { email } })),
          ...args.access.emailDomains.map((domain) => ({ emailDomain: { domain } })),
          ...signIn.includes,
        ],
        sessionDuration: args.access.sessionDuration,
      },
      child,
    );
    const serviceToken = new cloudflare.ZeroTrustAccessServiceToken(
      `${name}-automation-token`,
      { accountId, name: `supafleet ${args.env}: automation`, duration: "8760h" },
      child,
    );
    this.serviceTokenId = serviceToken.clientId;
    this.serviceTokenSecret = pulumi.secret(serviceToken.clientSecret);
    const automation = new cloudflare.ZeroTrustAccessPolicy(
      `${name}-automation`,
      { accountId, name: `supafleet ${args.env}: automation`, decision: "non_identity", includes: [{ serviceToken: { tokenId: serviceToken.id } }] },
      child,
    );
    const allow = [
      { id: operators.id, precedence: 1 },
      { id: automation.id, precedence: 2 },
    ];

    // APIs (on fleet or client hostnames) are protected by their keys; a tenant's status page is public by the tenant's choice.
    const open = new Set<HostnameKind | undefined>(["api", "custom-domain", "custom-hostname", "status-page"]);
    const protectedRules = args.rules.filter((r) => r.hostname !== undefined && !open.has(r.kind));
    const apps = this.apps;
    for (const r of protectedRules) {
      apps.set(
        r.hostname!,
        new cloudflare.ZeroTrustAccessApplication(
          `${name}-app-${label(r.hostname!)}`,
          { accountId, name: `supafleet ${args.env}: ${r.hostname}`, type: "self_hosted", domain: r.hostname, sessionDuration: args.access.sessionDuration, policies: allow, ...signIn.app },
          child,
        ),
      );
    }
    // Webhook callers cannot log in: they send the service token, or come from a listed range.
    const webhookPolicies = [{ id: automation.id, precedence: 1 }];
    if (args.access.webhookSources.length > 0) {
      const sources = new cloudflare.ZeroTrustAccessPolicy(
        `${name}-webhook-sources`,
        { accountId, name: `supafleet ${args.env}: webhook sources`, decision: "bypass", includes: args.access.webhookSources.map((ip) => ({ ip: { ip } })) },
        child,
      );
      webhookPolicies.push({ id: sources.id, precedence: 2 });
    }
    new cloudflare.ZeroTrustAccessApplication(
      `${name}-app-n8n-webhook`,
      { accountId, name: `supafleet ${args.env}: n8n webhooks`, type: "self_hosted", domain: `${args.n8nHostname}/webhook`, sessionDuration: args.access.sessionDuration, policies: webhookPolicies, ...signIn.app },
      child,
    );

    const ingresses = provided.map((r) => {
      const app = r.hostname !== undefined ? apps.get(r.hostname) : undefined;
      if (app === undefined || args.teamName === undefined) return r;
      // Defence in depth: cloudflared itself refuses requests without a valid Access token.
      return { ...r, originRequest: { access: { required: true, teamName: args.teamName, audTags: [app.aud] } } };
    });
    this.tunnelConfig = new cloudflare.ZeroTrustTunnelCloudflaredConfig(
      `${name}-config`,
      { accountId, tunnelId: this.tunnel.id, source: "cloudflare", config: { ingresses, originRequest: { ...ORIGIN_DEFAULTS } } },
      { ...child, ...(args.ingressAfter !== undefined ? { dependsOn: args.ingressAfter } : {}) },
    );
    this.keep(renderPlain("edge/ingress.yaml", pulumi.output(toYaml({ originRequest: ORIGIN_DEFAULTS, ingress: provided }))));

    // A hostname may have several path rules; it gets one record. A client's own zone holds its record (components/CustomDomains.ts).
    this.hostnames = [...new Set(args.rules.flatMap((r) => (r.hostname !== undefined ? [r.hostname] : [])))];
    const clientZone = new Set(args.rules.filter((r) => r.kind === "custom-hostname").map((r) => r.hostname));
    for (const hostname of this.hostnames.filter((h) => !clientZone.has(h))) {
      new cloudflare.DnsRecord(
        `${name}-dns-${label(hostname)}`,
        { zoneId: args.zoneId, name: hostname, type: "CNAME", content: pulumi.interpolate`${this.tunnel.id}.cfargotunnel.com`, proxied: true, ttl: 1, comment: `supafleet ${args.env}` },
        child,
      );
    }

    this.tunnelToken = pulumi.secret(cloudflare.getZeroTrustTunnelCloudflaredTokenOutput({ accountId, tunnelId: this.tunnel.id }, child).token);
    new command.remote.Command(
      `${name}-cloudflared`,
      { connection: masterConnection(args.master.ssh), create: renderScript("host/cloudflared-install.sh", { IMAGE: CLOUDFLARED_IMAGE }), stdin: this.tunnelToken },
      { ...child, dependsOn: [args.master.ready, this.tunnelConfig] },
    );

    this.registerOutputs({ tunnelId: this.tunnel.id, tunnelToken: this.tunnelToken, hostnames: this.hostnames });
  }

  /**
   * The stack's identity providers, what every application says of them, and the operators' rules
   * each kind needs. Google Workspace admits its domain only (appsDomain), so its members pass by
   * that domain; GitHub admits any account, so the rule names the organisation. An OIDC provider
   * adds no rule: its users pass by access.emails and access.emailDomains like everyone else.
   */
  private identityProviders(name: string, args: TunnelIngressArgs): { app: { allowedIdps?: pulumi.Output<string>[]; autoRedirectToIdentity?: boolean }; includes: cloudflare.types.input.ZeroTrustAccessPolicyInclude[] } {
    const signIn = accessSignIn(args.access);
    if (!signIn.managed) return { app: {}, includes: [] };
    const child = { parent: this };
    const { accountId } = args;
    const secret = (p: IdentityProviderConfig): pulumi.Output<string> => {
      const value = args.identityProviderSecrets?.get(identityProviderName(p));
      if (value === undefined) throw new pulumi.ResourceError(`the ${identityProviderName(p)} identity provider has no client secret`, this);
      return pulumi.secret(value);
    };
    const includes: cloudflare.types.input.ZeroTrustAccessPolicyInclude[] = [];
    const ids: pulumi.Output<string>[] = [];
    for (const p of signIn.providers) {
      const idp = new cloudflare.ZeroTrustAccessIdentityProvider(`${name}-idp-${identityProviderName(p)}`, { accountId, name: `supafleet ${args.env}: ${displayName(p)}`, ...providerSettings(p, secret(p)) }, child);
      ids.push(idp.id);
      if (p.type === "google" && !args.access.emailDomains.includes(p.domain)) includes.push({ emailDomain: { domain: p.domain } });
      if (p.type === "github") includes.push({ githubOrganization: { name: p.organization, identityProviderId: idp.id } });
    }
    if (signIn.oneTimePin) {
      ids.push(new cloudflare.ZeroTrustAccessIdentityProvider(`${name}-idp-onetimepin`, { accountId, name: `supafleet ${args.env}: one-time PIN`, type: "onetimepin", config: {} }, child).id);
    }
    // With one way in, the login page is a detour: Access goes straight to the provider.
    return { app: { allowedIdps: ids, ...(ids.length === 1 ? { autoRedirectToIdentity: true } : {}) }, includes };
  }
}

/** What the login page shows for a provider. */
function displayName(p: IdentityProviderConfig): string {
  if (p.type === "google") return `Google Workspace (${p.domain})`;
  if (p.type === "github") return `GitHub (${p.organization})`;
  return p.name;
}

/** The provider's type and config, as the Cloudflare provider takes them. */
function providerSettings(p: IdentityProviderConfig, clientSecret: pulumi.Output<string>): Pick<cloudflare.ZeroTrustAccessIdentityProviderArgs, "type" | "config"> {
  if (p.type === "google") return { type: "google-apps", config: { appsDomain: p.domain, clientId: p.clientId, clientSecret } };
  if (p.type === "github") return { type: "github", config: { clientId: p.clientId, clientSecret } };
  return { type: "oidc", config: { clientId: p.clientId, clientSecret, authUrl: p.authUrl, tokenUrl: p.tokenUrl, certsUrl: p.certsUrl, scopes: [...p.scopes], pkceEnabled: true } };
}

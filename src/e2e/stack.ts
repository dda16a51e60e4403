import { z } from "zod";
import { stringify } from "yaml";
import { E2E_STACK_PREFIX } from "../config/hardening";

/**
 * The e2e stack: the smallest fleet that still shows every promise (one master,
 * one worker, one shared project and one tenant pooled into it), unprotected,
 * with the run id in its stack name and in every hostname, so two runs never
 * collide and `pulumi destroy` takes all of it. Built as a typed object and
 * written with `yaml`, like every structured file here.
 */
export const E2eInputSchema = z.strictObject({
  /** The workflow run (run id and attempt): lowercase letters, digits and dashes. */
  run: z.string().regex(/^[a-z0-9][a-z0-9-]{0,20}$/, "must be up to 21 lowercase letters, digits or dashes, such as 12345-1"),
  /** A Cloudflare zone kept for e2e runs; hostnames stay one level under it (Universal SSL). */
  domain: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, "must be a domain such as e2e.example.com"),
  zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be the zone's 32-hex id"),
  accountId: z.string().regex(/^[0-9a-f]{32}$/, "must be the account's 32-hex id"),
  /** Who may pass Access in front of Studio, n8n and the status page. */
  accessEmail: z.email(),
  /** The runner's own key pair, made for this run: the probe's backup check signs in with it. */
  sshPublicKey: z.string().regex(/^ssh-ed25519 [A-Za-z0-9+/=]+( .*)?$/, "must be an ssh-ed25519 public key"),
  /** The runner's public address: the first `pulumi up` reaches the master over SSH from it. */
  runnerIp: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "must be the runner's public IPv4 address"),
  location: z.enum(["fsn1", "nbg1", "hel1"]).default("nbg1"),
});
export type E2eInput = z.input<typeof E2eInputSchema>;

export function e2eStackName(run: string): string {
  return `${E2E_STACK_PREFIX}${run}`;
}

/** The whole Pulumi.<stack>.yaml. Its secrets (tokens, SMTP password) are set with `pulumi config set --secret`. */
export function renderE2eStackFile(input: E2eInput): { stack: string; text: string } {
  const i = E2eInputSchema.parse(input);
  const stack = e2eStackName(i.run);
  const tag = `r${i.run}`;
  const config = {
    "supafleet:domain": i.domain,
    "supafleet:protect": false,
    "supafleet:hostnames": { n8n: `n8n-${tag}`, status: `kuma-${tag}` },
    "supafleet:hetzner": { location: i.location, image: "debian-13", masterServerType: "cx23" },
    "supafleet:cloudflare": { accountId: i.accountId, zoneId: i.zoneId },
    "supafleet:operators": [
      {
        name: "ci",
        email: i.accessEmail,
        sshPublicKey: `${i.sshPublicKey.split(" ").slice(0, 2).join(" ")} supafleet-e2e-${i.run}`,
        sourceRanges: [`${i.runnerIp}/32`],
        wireguard: { address: "10.120.0.250" },
      },
    ],
    "supafleet:access": { emails: [i.accessEmail], sessionDuration: "1h" },
    "supafleet:wireguard": { subnet: "10.120.0.0/24" },
    "supafleet:workers": [{ name: "w1", serverType: "cx23", address: "10.120.0.2" }],
    "supafleet:supabase": { release: "2026.08" },
    // No mail leaves an e2e run: the probe confirms its users with the admin API.
    "supafleet:smtp": { host: `smtp.${i.domain}`, port: 587, user: `e2e@${i.domain}`, adminEmail: i.accessEmail, senderName: "supafleet e2e" },
    "supafleet:tenants": [
      {
        // Tenant slugs never reach the zone or the account (no status page), so they need no run id.
        slug: "e2e",
        name: `supafleet e2e ${i.run}`,
        contact: { name: "supafleet e2e", email: i.accessEmail },
        plan: "starter",
        isolation: "shared",
        projects: [
          {
            name: "shared",
            subdomain: `shared-${tag}`,
            slot: 1,
            placement: { worker: "w1" },
            schemaPacks: ["msp-ops"],
            acceptsPooledTenants: true,
            // A custom domain the probe checks. In the e2e zone: a client's zone would need the zone's one fallback origin, which runs would share.
            domains: [`client-${tag}.${i.domain}`],
            // An allow-list entry of its own, so the probe's redirect check meets a real one (the app need not exist: only GoTrue's redirect is read).
            auth: { redirectUrls: [`https://app-${tag}.${i.domain}/**`] },
          },
        ],
      },
      { slug: "e2e-pooled", name: `supafleet e2e ${i.run} (pooled)`, contact: { name: "supafleet e2e", email: i.accessEmail }, plan: "starter", isolation: "pooled", pool: "shared" },
    ],
    "supafleet:backups": { retention: { daily: 7, weekly: 4, monthly: 6 }, storageBox: { type: "bx11", location: i.location === "hel1" ? "hel1" : "fsn1" }, disposable: true },
    "supafleet:alerting": { ntfy: { topic: `supafleet-e2e-${i.run}` } },
  };
  const header = [
    `# The e2e stack of run ${i.run}, written by scripts/e2e-stack.ts; .github/workflows/e2e.yml makes it,`,
    "# probes it and destroys it in one run (docs/e2e.md). Not for keeping: nothing in it is protected.",
  ].join("\n");
  return { stack, text: `${header}\n${stringify({ config })}` };
}

import { z } from "zod";

/**
 * What the probe needs to know about a running stack: the program exports it
 * as the secret stack output `probeTarget`, and a user can also write one by
 * hand for any stack (docs/e2e.md). Everything is as a client sees it: public
 * hostnames, public addresses, and the mesh addresses a peer on the mesh reaches.
 */
const url = z.url({ protocol: /^https?$/ });
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "must be an IPv4 address");
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a UUID");

export const ProbeTargetSchema = z.strictObject({
  stack: z.string().min(1),
  projects: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        /** https://<subdomain>.<domain>: Kong, through the tunnel. */
        apiUrl: url,
        /** Studio's hostname: behind Cloudflare Access. */
        studioUrl: url,
        anonKey: z.string().min(1),
        serviceKey: z.string().min(1),
        /** The worker it runs on, and that worker's mesh address (for the backup check over SSH). */
        worker: z.strictObject({ name: z.string().min(1), meshAddress: ipv4 }),
        /** Tenants whose rows live in this project: its owner, and pooled tenants. Two or more make the isolation check possible. */
        tenants: z.array(z.strictObject({ slug: z.string().min(1), id: uuid })).min(1),
        /** Whether the msp-ops pack is applied (the row, isolation and realtime checks use its tables). */
        mspOps: z.boolean(),
        /** Edge functions the probe calls: the default hello of a project without a functions folder of its own. */
        functions: z.array(z.string().min(1)),
        /**
         * Which services a client can reach through the gateway: the probe uses each one it runs, and
         * confirms the gateway has no route to one it left out. A target written before projects could
         * leave services out has none of these, and every project then runs them all.
         */
        services: z
          .strictObject({ realtime: z.boolean().default(true), storage: z.boolean().default(true), functions: z.boolean().default(true) })
          .default({ realtime: true, storage: true, functions: true }),
        /** https://<hostname> of each of the client's own domains, which must answer as apiUrl does; none when left out. */
        customDomains: z.array(url).optional(),
        /**
         * Its Auth settings as the stack declares them, for the sign-up, redirect and provider checks. A target
         * written before projects had their own has none: GoTrue's defaults then (e-mail sign-up with confirmation,
         * the API URL as site URL, no allow-list, no provider).
         */
        auth: z
          .strictObject({
            siteUrl: url,
            /** GoTrue's allow-list patterns (`*`, `**` globs). */
            redirectUrls: z.array(z.string().min(1)),
            emailSignup: z.boolean(),
            emailConfirm: z.boolean(),
            providers: z.array(z.strictObject({ name: z.string().min(1), clientId: z.string().min(1) })),
          })
          .optional(),
      }),
    )
    .min(1),
  /** Hostnames that must answer only behind Access: n8n, the status page, every Studio. */
  accessProtected: z.array(url),
  hosts: z.strictObject({
    master: z.strictObject({ ipv4, meshAddress: ipv4 }),
    workers: z.array(z.strictObject({ name: z.string().min(1), ipv4 })),
  }),
  /** Uptime Kuma on the hub, reached over the mesh; its status pages list every monitor. */
  kuma: z.strictObject({ url, statusPages: z.array(z.string().min(1)) }),
});

export type ProbeTarget = z.infer<typeof ProbeTargetSchema>;

/** What a target says of a project's services, from the containers it runs on its worker (workerServices()). */
export function targetServices(running: readonly string[]): ProbeTarget["projects"][number]["services"] {
  return { realtime: running.includes("realtime"), storage: running.includes("storage"), functions: running.includes("functions") };
}

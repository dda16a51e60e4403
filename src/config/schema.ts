import { z } from "zod";
import { isCidr, isIpv4 } from "../model/net";
import { MAX_SLOT } from "../model/ports";
import { IMAGES, imageProblem, LOCATIONS, SERVER_TYPE_NAMES, STORAGE_BOX_LOCATIONS, STORAGE_BOX_TYPES } from "../model/serverTypes";
import { withoutHostBits } from "../model/ranges";
import { meshSubnetProblem } from "./meshSubnet";
import { sshKeyProblem } from "./sshKey";
import { RELEASE_NAMES } from "../model/releases";
import { FULL_SERVICES } from "../model/projectServices";
import { AUTH_DEFAULT, AuthSchema } from "./auth";
import { BucketSchema } from "./buckets";
import { RegistrySchema } from "./registry";
import { FunctionsSchema } from "./functions";
import { PLANS_DEFAULT, PlansSchema } from "./rateLimits";
import { ACCESS_SIGN_IN_FIELDS, refineSignIn } from "./identityProviders";

/**
 * The shape of a stack file. Each top-level key here is one `supafleet:<key>`
 * entry in Pulumi.<stack>.yaml. Cross-field rules (uniqueness, references,
 * capacity) live in validate.ts so that every problem is reported at once.
 */

const dnsLabel = z
  .string()
  .max(56, "must be at most 56 characters (the Studio hostname adds '-studio')")
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits and inner '-'");

const slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/, "must be 2-24 characters: lowercase letters, digits and inner '-', starting with a letter");

const fqdn = z
  .string()
  .max(200)
  .regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lowercase domain name such as example.com");

const ipv4 = z.string().refine(isIpv4, "must be an IPv4 address such as 10.100.0.2");
// A zone id (fe80::1%eth0) names an interface of one machine: no firewall takes it as a source range.
const cidr = z
  .string()
  .refine((v) => isCidr(v) && !v.includes("%"), { error: "must be a CIDR range such as 198.51.100.0/24", abort: true })
  .superRefine((v, ctx) => {
    const meant = isCidr(v) ? withoutHostBits(v) : undefined;
    if (meant !== undefined) ctx.addIssue({ code: "custom", message: `${v} has host bits set; did you mean ${meant}?` });
  });

/**
 * Free text that lands in env files, headers and mail: bounded, on one line,
 * with no control characters that could end a header or start a new variable.
 */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\u0000-\u001f\u007f]*$/, "must be one line with no control characters");

/** Mail providers anyone can sign up with: as an Access domain they would let the whole world in. */
export const PUBLIC_EMAIL_DOMAINS: ReadonlySet<string> = new Set([
  "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com",
  "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de",
  "proton.me", "protonmail.com", "pm.me", "tutanota.com", "yandex.ru", "yandex.com", "mail.ru", "zoho.com", "mail.com",
]);

/** Sessions to Studio, n8n and Kuma end within a working day, so a revoked operator is out by the next. */
const MAX_SESSION_HOURS = 24;
const hex32 = z.string().regex(/^[0-9a-f]{32}$/, "must be the 32-character hex id shown in the Cloudflare dashboard");
const email = z.email("must be an email address");
const serverType = z.enum(SERVER_TYPE_NAMES, {
  error: () => `must be a current Hetzner server type: ${SERVER_TYPE_NAMES.join(", ")}`,
});
const release = z.enum(RELEASE_NAMES, { error: () => `must be a known Supabase release: ${RELEASE_NAMES.join(", ")}` });
const port = z.number().int().min(1).max(65535);

const sshPublicKey = z
  .string()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( \S.*)?$/,
    { error: "must be an OpenSSH public key line such as 'ssh-ed25519 AAAA… name'", abort: true },
  )
  .superRefine((v, ctx) => {
    const problem = /^\S+ \S+/.test(v) && !/[\u0000-\u001f\u007f]/.test(v) ? sshKeyProblem(v) : undefined;
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });
const wireguardPublicKey = z
  .string()
  .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, "must be a WireGuard public key (44 base64 characters)");

export const HetznerSchema = z.strictObject({
  location: z.enum(LOCATIONS, { error: () => `must be one of ${LOCATIONS.join(", ")}` }),
  image: z.enum(IMAGES, { error: (i) => imageProblem(i.input) }),
  masterServerType: serverType,
});

export const CloudflareSchema = z.strictObject({
  accountId: hex32,
  zoneId: hex32,
  /** The Zero Trust team name; when set, cloudflared also checks the Access token itself. */
  teamName: z.string().regex(/^[a-z0-9-]{1,63}$/, "must be the Zero Trust team name (the <team> in <team>.cloudflareaccess.com)").optional(),
});

export const OperatorSchema = z
  .strictObject({
    name: slug,
    email,
    sshPublicKey,
    /** Where the operator's SSH to the master comes from; none for a peer that only ever comes over the mesh (CI). */
    sourceRanges: z.array(cidr).default([]),
    /** A WireGuard peer of the hub. Without a publicKey the program makes the key pair and exports the whole client config. */
    wireguard: z.strictObject({ address: ipv4, publicKey: wireguardPublicKey.optional() }).optional(),
    /** Projects whose Postgres this operator may reach directly over the mesh; none by default. */
    databaseAccess: z.array(slug).default([]),
  })
  .refine((o) => o.sourceRanges.length > 0 || o.wireguard !== undefined, {
    path: ["sourceRanges"],
    error: "must list at least one address range, unless the operator is on the mesh (wireguard)",
  });

export const AccessSchema = z.strictObject({
  emails: z.array(email).default([]),
  emailDomains: z
    .array(fqdn.refine((d) => !PUBLIC_EMAIL_DOMAINS.has(d), { error: (i) => `${String(i.input)} is a public mail provider: anyone can get an address there; list people in access.emails instead` }))
    .default([]),
  sessionDuration: z
    .string()
    .regex(/^\d+(m|h)$/, { error: "must be a duration such as 12h or 30m", abort: true })
    .refine((d) => Number.parseInt(d, 10) * (d.endsWith("h") ? 60 : 1) <= MAX_SESSION_HOURS * 60 && Number.parseInt(d, 10) > 0, `must be more than 0 and at most ${MAX_SESSION_HOURS}h`)
    .default("12h"),
  /** Callers of n8n webhooks that cannot send a service token (e.g. the TRMM host). */
  webhookSources: z.array(cidr).default([]),
  ...ACCESS_SIGN_IN_FIELDS,
}).superRefine(refineSignIn);

/**
 * A worker's WireGuard key, by round: raising `keyRound` makes a new key and
 * stages it on the worker while the hub still knows the old one;
 * `previousKeyRetired: true` then gives the hub the new key, and the worker
 * switches to it (docs/operations.md, "Rotate a worker's WireGuard key").
 */
const NodeWireguardSchema = z.strictObject({
  keyRound: z.number().int("must be a whole number").min(0, "must be 0 or more").default(0),
  previousKeyRetired: z.boolean().default(true),
});
const wireguard = NodeWireguardSchema.optional();

export const WireguardSchema = z.strictObject({
  subnet: z.string().superRefine((v, ctx) => {
    const problem = meshSubnetProblem(v);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }),
  port: port.default(51820),
  allowWorkerToWorker: z.boolean().default(false),
  /** The hub's own key, rotated in two steps like a worker's (docs/operations.md, "Rotate the hub's WireGuard key"). */
  hubRotation: wireguard,
});


export const WorkerSchema = z.strictObject({ name: slug, serverType, address: ipv4, wireguard });

export const SmtpSchema = z.strictObject({
  host: fqdn,
  port: port,
  user: text(200),
  adminEmail: email,
  senderName: text(100),
});

const PlacementSchema = z.union(
  [
    z.strictObject({ worker: slug }),
    z.strictObject({ dedicated: z.strictObject({ serverType, address: ipv4, wireguard }) }),
  ],
  { error: () => "must be either { worker: <name> } or { dedicated: { serverType, address } }" },
);

export const SCHEMA_PACKS = ["msp-ops", "tenant-registry"] as const;

/** A stack name, as in Pulumi.<stack>.yaml. */
const stackName = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "must be a stack name such as prod");

/** A moment in UTC, to the second and written one way only: what a point-in-time restore replays the WAL to. */
const INSTANT_FORM = "must be a UTC time with seconds and a trailing Z, such as 2026-12-06T14:31:00Z";
const instant = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, { error: INSTANT_FORM, abort: true })
  // Date.parse rolls 2026-02-30 over to March 2nd; a moment that does not round-trip is no real one.
  .refine((v) => !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v.replace(/Z$/, ".000Z"), {
    error: (i) => `${String(i.input)} is not a moment of the calendar; ${INSTANT_FORM}`,
  });

/**
 * Where a new project's data comes from: another project's backup, in this stack or another
 * (through its read-only credential): a snapshot (the latest, one by id, or the newest taken by a
 * time), or with `time` a moment, replayed from its WAL archive.
 */
export const RestoreFromSchema = z
  .strictObject({
    project: slug,
    stack: stackName.optional(),
    snapshot: z
      .string()
      .regex(/^(latest|[0-9a-f]{8,64}|\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d)?)?Z?)$/, "must be latest, a snapshot id (8 to 64 hex digits) or a time such as 2026-11-20T03:00")
      .optional(),
    time: instant.optional(),
  })
  // Judged before snapshot's default, so a snapshot that was written is told apart from one that was not.
  .refine((r) => r.snapshot === undefined || r.time === undefined, {
    path: ["time"],
    error: "give snapshot or time, not both: snapshot restores one nightly backup as it was, time replays the WAL archive to a moment",
  })
  .transform(({ snapshot, ...r }) => ({ ...r, snapshot: snapshot ?? "latest" }));

/** A rotation counter: only ever raised; 0 is the secret made first. */
const rotation = z.number().int("must be a whole number").min(0, "must be 0 or more");

/**
 * The services a project can leave out; the rest (db, meta, auth, rest, gateway) are its API.
 * Each defaults to on, so a project that says nothing runs the full API.
 */
const ServicesSchema = z.strictObject({
  realtime: z.boolean().default(true),
  storage: z.boolean().default(true),
  imgproxy: z.boolean().default(true),
  functions: z.boolean().default(true),
});

export const ProjectSchema = z.strictObject({
  name: slug,
  subdomain: dnsLabel,
  slot: z.number().int().min(1).max(MAX_SLOT),
  placement: PlacementSchema,
  release: release.optional(),
  schemaPacks: z
    .array(z.enum(SCHEMA_PACKS, { error: () => `must be one of ${SCHEMA_PACKS.join(", ")}` }))
    .refine((packs) => new Set(packs).size === packs.length, { error: (i) => `lists a schema pack twice (${(i.input as string[]).filter((p, n, a) => a.indexOf(p) !== n).join(", ")}); list each once` })
    .default([]),
  acceptsPooledTenants: z.boolean().default(false),
  /** What runs on the worker besides the API: `services: { functions: false }` leaves the edge runtime out. */
  services: ServicesSchema.default({ ...FULL_SERVICES }),
  /**
   * Where the project's Studio runs: on the master, started on its first request and stopped when idle
   * (docs/studio.md), or on its worker behind the gateway, as before issue 25. Moving a project to the
   * master is a reviewed change of that project alone (docs/operations.md, "Move a Studio to the master").
   */
  studio: z.enum(["master", "worker"], { error: () => "must be master or worker" }).default("master"),
  smtp: SmtpSchema.optional(),
  /** Its Auth settings: site URL, redirects, sign-up channels, OAuth providers, MFA, phone (docs/configuration.md). */
  auth: AuthSchema.default({ ...AUTH_DEFAULT, redirectUrls: [], signup: { ...AUTH_DEFAULT.signup }, providers: {}, mfa: { ...AUTH_DEFAULT.mfa } }),
  /** Hostnames of the client's own that also serve this project's API, besides its fleet hostname. */
  domains: z.array(fqdn).default([]),
  /** Storage buckets made and kept as declared; one taken out is not deleted while it holds objects. */
  buckets: z.array(BucketSchema).default([]),
  /** With the tenant-registry pack: its plans and base tenants, seeded by slug (src/config/registry.ts, docs/configuration.md). */
  registry: RegistrySchema.optional(),
  /** Its edge functions, deployed from a folder of this repository. */
  functions: FunctionsSchema.optional(),
  /**
   * The tables it publishes to Realtime, chosen from its schema packs' tenant tables; the packs'
   * own choice when left out, none with `tables: []`.
   */
  realtime: z.strictObject({ tables: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a table name of one of the project's schema packs")) }).optional(),
  /** Seeds this new project once from another's backup; later changes do not restore again. */
  restoreFrom: RestoreFromSchema.optional(),
  /**
   * This project's WAL archiving, over the fleet's `backups.pitr.enabled`: false leaves it out (its
   * data then goes back to a nightly backup only), true archives even when the fleet does not.
   */
  pitr: z.boolean().optional(),
  /**
   * The worker this project is moving away from, with `placement` naming the
   * new one: its data goes across through a final backup (docs/operations.md,
   * "Move a project"). Remove it once the move has run.
   */
  movedFrom: slug.optional(),
  /**
   * Rotation as a reviewed change: raising a counter replaces that secret on
   * the next `pulumi up` (docs/operations.md, "Rotate a project's keys").
   */
  rotate: z
    .strictObject({
      /** The JWT secret, and with it the anon and service_role keys. */
      jwt: rotation,
      /** The opaque sb_publishable_/sb_secret_ keys, on releases that have them. */
      apiKeys: rotation,
      /** Studio's basic-auth password. */
      dashboard: rotation,
      /** The backup repository's restic password: `restic key add`, then `restic key remove` of the old key. */
      restic: rotation,
    })
    .partial()
    .optional(),
});

export const TenantSchema = z.strictObject({
  slug,
  name: text(100),
  contact: z.strictObject({ name: text(100), email }),
  plan: z.enum(["starter", "business", "enterprise"]),
  isolation: z.enum(["pooled", "shared", "dedicated"]),
  pool: slug.optional(),
  projects: z.array(ProjectSchema).default([]),
  /** A public status page of this tenant's projects at status-<slug>.<domain>; off unless asked for. */
  statusPage: z.boolean().default(false),
});

export const RetentionSchema = z.strictObject({
  daily: z.number().int().min(7, "must keep at least 7 daily backups"),
  weekly: z.number().int().min(4, "must keep at least 4 weekly backups"),
  monthly: z.number().int().min(6, "must keep at least 6 monthly backups"),
});

/**
 * Continuous WAL archiving, so a project can be restored to a moment and not only to last night.
 * On unless said otherwise: a stack file that says nothing archives every project.
 */
export const PITR_DEFAULT = { enabled: true, archiveTimeoutSeconds: 60, alertAfterMinutes: 3, pgWalLimitMiB: 1024 } as const;
export const PitrSchema = z.strictObject({
  enabled: z.boolean().default(PITR_DEFAULT.enabled),
  /** PostgreSQL's archive_timeout: a quiet database still closes a segment this often, so at most this much is lost. */
  archiveTimeoutSeconds: z.number().int("must be a whole number").min(30, "must be at least 30").max(600, "must be at most 600 (10 minutes)").default(PITR_DEFAULT.archiveTimeoutSeconds),
  /** How long archiving may fail before Kuma and ntfy say so. */
  alertAfterMinutes: z.number().int("must be a whole number").min(1, "must be at least 1").max(60, "must be at most 60").default(PITR_DEFAULT.alertAfterMinutes),
  /** pg_wal grows while archiving fails; past this it alerts, well before the disk fills. */
  pgWalLimitMiB: z.number().int("must be a whole number").min(256, "must be at least 256").max(65536, "must be at most 65536 (64 GiB)").default(PITR_DEFAULT.pgWalLimitMiB),
});

export const BackupsSchema = z.strictObject({
  time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day such as 02:30").default("02:30"),
  randomizedDelayMinutes: z.number().int().min(0).max(180).default(30),
  retention: RetentionSchema,
  restoreDrillDay: z.number().int().min(1).max(28).default(1),
  /**
   * A second copy of every repository (restic copy after each night's run) in an S3-compatible
   * bucket, such as Hetzner Object Storage: s3:https://<endpoint>/<bucket>/<prefix>. Its keys
   * are the secure supafleet:backupCopyAccessKeyId and supafleet:backupCopySecretAccessKey.
   */
  copy: z
    .strictObject({
      repository: z.string().regex(/^s3:https:\/\/[^\s/]+\/[^\s]+$/, "must be an S3 repository URL such as s3:https://fsn1.your-objectstorage.com/supafleet-backups/prod"),
      retention: RetentionSchema.optional(),
    })
    .optional(),
  /**
   * Jobs whose project is gone but whose backups are kept: their credentials stay, no run is scheduled.
   * A project whose restic password was rotated keeps its counter here, so every round stays:
   * `{ name: registry, rotate: { restic: 2 } }`.
   */
  retired: z
    .array(
      z.union([slug, z.strictObject({ name: slug, rotate: z.strictObject({ restic: rotation }) })], {
        error: () => "must be a project name, or { name, rotate: { restic: <n> } } for a project whose restic password was rotated",
      }),
    )
    .default([]),
  /**
   * The backups go with the stack on `pulumi destroy`: their credentials are not
   * protected. Only for a throwaway e2e stack (its name starts with e2e-); every
   * other stack keeps its backups whatever happens to it.
   */
  disposable: z.boolean().default(false),
  /** The master's own job: its restic password's rotation counter, like a project's rotate.restic. */
  master: z.strictObject({ rotate: z.strictObject({ restic: rotation }) }).optional(),
  /** The monthly drill of another stack's backups (staging drills prod), on one of this stack's workers. */
  drillOf: z.strictObject({ stack: stackName, worker: slug }).optional(),
  pitr: PitrSchema.default(PITR_DEFAULT),
  storageBox: z.strictObject({
    type: z.enum(STORAGE_BOX_TYPES, { error: () => `must be one of ${STORAGE_BOX_TYPES.join(", ")}` }),
    location: z.enum(STORAGE_BOX_LOCATIONS, { error: () => `Storage Boxes are sold in ${STORAGE_BOX_LOCATIONS.join(" and ")} only` }),
  }),
});

export const AlertingSchema = z
  .strictObject({
    ntfy: z.strictObject({ server: z.url().default("https://ntfy.sh"), topic: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }).optional(),
    telegram: z.strictObject({ chatId: z.string().regex(/^-?\d+$/, "must be a numeric Telegram chat id, as a string") }).optional(),
    healthchecks: z.strictObject({ baseUrl: z.url() }).optional(),
  })
  .refine((a) => a.ntfy !== undefined || a.telegram !== undefined, "must configure ntfy, telegram, or both");

/**
 * n8n's automations (seed 000 §5). The backup report always runs; the TRMM
 * ingest and client onboarding need the project that holds the msp-ops pack,
 * and light billing also needs the payment gateway's URL.
 */
export const AutomationsSchema = z.strictObject({
  /** The project whose msp-ops functions the workflows call, through its API with the service key. */
  opsProject: slug.optional(),
  /** The project with the tenant-registry pack whose outbox n8n drains for sign-ups and expired trials. */
  registryProject: slug.optional(),
  billing: z.strictObject({ gatewayUrl: z.url({ protocol: /^https$/, error: "must be an https:// URL" }) }).optional(),
  reportTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day such as 07:00").default("07:00"),
  /** How often the workflows drain the outbox; every change waits at most this long. */
  pollSeconds: z.number().int().min(5).max(3600).default(30),
});

/** A Tactical RMM release tag; alert webhooks work from v0.19.2 on. */
const trmmRelease = z
  .string({ error: "must be a Tactical RMM release tag such as v1.5.2 (quote it)" })
  .regex(/^v\d+\.\d+\.\d+$/, { error: "must be a Tactical RMM release tag such as v1.5.2 (quote it)", abort: true })
  .refine((v) => {
    const [a, b, c] = v.slice(1).split(".").map(Number) as [number, number, number];
    return a > 0 || b > 19 || (b === 19 && c >= 2);
  }, "must be v0.19.2 or newer: older releases send no alert webhooks");

/**
 * Tactical RMM on its own server (its installer wants a fresh host): the only
 * node with public web ports, 80/443, and 4222 when agents speak plain NATS.
 */
export const RmmSchema = z.strictObject({
  serverType,
  /** Its address on the mesh, pinned like a worker's. */
  address: ipv4,
  /** Its WireGuard key's rotation, as a worker's (`wireguard: { keyRound, previousKeyRetired }`). */
  wireguard,
  release: trmmRelease,
  nats: z.boolean().default(false),
  /** The three names TRMM needs, at the same level under the domain. */
  hostnames: z
    .strictObject({ rmm: dnsLabel.default("rmm"), api: dnsLabel.default("api"), mesh: dnsLabel.default("mesh") })
    .default({ rmm: "rmm", api: "api", mesh: "mesh" }),
});

/**
 * The Studios on the master: at most `maxRunning` at once (the master's memory is checked for that many),
 * each stopped after `idleMinutes` without a request.
 */
export const STUDIOS_DEFAULT = { maxRunning: 2, idleMinutes: 30 } as const;
export const StudiosSchema = z.strictObject({
  maxRunning: z.number().int("must be a whole number").min(1, "must be at least 1").max(50, "must be at most 50").default(STUDIOS_DEFAULT.maxRunning),
  idleMinutes: z.number().int("must be a whole number").min(1, "must be at least 1").max(24 * 60, "must be at most 1440 (a day)").default(STUDIOS_DEFAULT.idleMinutes),
});

/**
 * The operator console on the master (docs/operations.md, "The operator console"), and
 * the agent on every worker that carries out its actions.
 */
export const ConsoleSchema = z.strictObject({
  enabled: z.boolean(),
});

/** Every `supafleet:<key>` the program reads, with its schema. */
export const FleetSchema = z.strictObject({
  domain: fqdn,
  protect: z.boolean().default(false),
  /** Why a prod stack runs without protection; without it, prod must set protect: true. */
  unprotectedReason: text(300).optional(),
  hetzner: HetznerSchema,
  cloudflare: CloudflareSchema,
  operators: z.array(OperatorSchema).min(1, "must list at least one operator"),
  /**
   * The labels of the master's own hostnames under the domain. Only a stack that
   * shares its zone with another needs them (the e2e stack carries its run id).
   */
  hostnames: z
    .strictObject({ n8n: dnsLabel.default("n8n"), status: dnsLabel.default("status"), console: dnsLabel.default("console") })
    .default({ n8n: "n8n", status: "status", console: "console" }),
  access: AccessSchema.default({ emails: [], emailDomains: [], sessionDuration: "12h", webhookSources: [] }),
  wireguard: WireguardSchema,
  workers: z.array(WorkerSchema).default([]),
  supabase: z.strictObject({ release }),
  smtp: SmtpSchema,
  tenants: z.array(TenantSchema).min(1, "must declare at least one tenant"),
  backups: BackupsSchema,
  alerting: AlertingSchema,
  automations: AutomationsSchema.default({ reportTime: "07:00", pollSeconds: 30 }),
  rmm: RmmSchema.optional(),
  studios: StudiosSchema.default(STUDIOS_DEFAULT),
  /** What each plan allows: its requests per minute per tenant at every project's gateway (./rateLimits.ts). */
  plans: PlansSchema.default(PLANS_DEFAULT),
  console: ConsoleSchema.default({ enabled: false }),
  /**
   * How `pulumi up` reaches the servers: through the master's public address
   * (SSH from the operators' ranges; the first `up` has no mesh yet), or over
   * the mesh, from a WireGuard peer such as the `ci` operator of up.yml.
   */
  deploy: z
    .strictObject({
      via: z.enum(["public", "mesh"], { error: () => "must be public or mesh" }).default("public"),
      /**
       * The deploy SSH key's round: raising it makes a new key that every host
       * accepts beside the old one, while the program still uses the old one;
       * `previousKeyRetired: true` then switches to the new key and drops the old
       * (docs/operations.md, "Rotate the deploy key").
       */
      keyRound: z.number().int("must be a whole number").min(0, "must be 0 or more").default(0),
      previousKeyRetired: z.boolean().default(true),
    })
    .default({ via: "public", keyRound: 0, previousKeyRetired: true }),
});

export type FleetConfig = z.infer<typeof FleetSchema>;
export type TenantConfig = z.infer<typeof TenantSchema>;
export type ProjectConfig = z.infer<typeof ProjectSchema>;
export type WorkerConfig = z.infer<typeof WorkerSchema>;
export type OperatorConfig = z.infer<typeof OperatorSchema>;
export type SmtpConfig = z.infer<typeof SmtpSchema>;
export type RetiredJob = FleetConfig["backups"]["retired"][number];
/** A retired job's name, however it is written. */
export const retiredName = (r: RetiredJob): string => (typeof r === "string" ? r : r.name);
export type RetentionConfig = z.infer<typeof RetentionSchema>;
export type AutomationsConfig = z.infer<typeof AutomationsSchema>;
export type RmmConfig = z.infer<typeof RmmSchema>;
export type StudiosConfig = z.infer<typeof StudiosSchema>;
export type PitrConfig = z.infer<typeof PitrSchema>;
export type RestoreFromConfig = z.infer<typeof RestoreFromSchema>;
export type ServicesConfig = z.infer<typeof ServicesSchema>;
export type SchemaPack = (typeof SCHEMA_PACKS)[number];
export type Isolation = TenantConfig["isolation"];

export const FLEET_KEYS = Object.keys(FleetSchema.shape) as (keyof FleetConfig)[];

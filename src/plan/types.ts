import type { AutomationSettings } from "../automation/workflows";
import type { WalArchive } from "../model/walArchive";
import type { WebhookGate } from "../automation/webhookGate";
import type { BackupTimes } from "../backup/tools";
import type { AuthConfig } from "../config/auth";
import type { BucketConfig } from "../config/buckets";
import type { RegistryConfig } from "../config/registry";
import type { FunctionsConfig } from "../config/functions";
import type { FleetConfig, Isolation, OperatorConfig, RetentionConfig, SchemaPack, SmtpConfig, TenantConfig } from "../config/schema";
import type { ConsoleFleetView } from "../console/fleetView";
import type { KumaDesired } from "../monitoring/kuma";
import type { ProjectPorts } from "../model/ports";
import type { StudioLayout } from "../model/projectServices";
import type { ServiceName } from "../model/services";
import type { IngressRule } from "../render/ingress";
import type { ProjectRateLimits } from "../supabase/rateLimit";

/**
 * Every decision the program makes about one environment, as data: what
 * `planFleet` returns and the builders turn into resources. No secret values
 * and no raw config: a new setting reaches a component only as a field here.
 */
export interface FleetPlan {
  readonly env: string;
  readonly domain: string;
  readonly protect: boolean;
  /** Where and from which image every server of the stack is made. */
  readonly hosts: { readonly location: string; readonly image: string };
  readonly wireguard: MeshPlan;
  readonly master: MasterPlan;
  readonly workers: readonly WorkerPlan[];
  readonly rmm?: RmmPlan;
  readonly projects: readonly ProjectPlan[];
  readonly operators: readonly OperatorConfig[];
  /** By worker: the operators' direct Postgres access to its projects. */
  readonly databaseGrants: Readonly<Record<string, readonly DatabaseGrant[]>>;
  readonly tenants: readonly TenantPlan[];
  /** Hostnames of the master's own services. */
  readonly hostnames: { readonly n8n: string; readonly status: string; readonly console?: string };
  readonly edge: EdgePlan;
  /** The operator console on the master and the agents on the workers, when enabled. */
  readonly console?: ConsolePlan;
  readonly backups: BackupsPlan;
  readonly monitoring: MonitoringPlan;
  readonly automations: AutomationsPlan;
  /** The Studios on the master: how many may run at once, and how long one stays awake unused. */
  readonly studios: { readonly maxRunning: number; readonly idleMinutes: number };
}

export interface MeshPlan {
  readonly subnet: string;
  readonly prefix: number;
  readonly hub: string;
  readonly port: number;
  readonly allowWorkerToWorker: boolean;
}

/** A key's rotation round, and whether its previous round is retired. */
export interface KeyRound {
  readonly round: number;
  readonly previousRetired: boolean;
}

export interface MasterPlan {
  readonly name: string;
  readonly serverType: string;
  /** `mesh`: the program's SSH goes to the hub's mesh address (deploy.via). */
  readonly deployVia: "public" | "mesh";
  readonly deployKey: KeyRound;
  /** The hub's WireGuard key (wireguard.hubRotation). */
  readonly hubKey: KeyRound;
}

export interface WorkerPlan {
  readonly name: string;
  readonly serverType: string;
  readonly address: string;
  /** Set when the worker exists for one dedicated project. */
  readonly dedicatedTo?: string;
  readonly wireguardKey: KeyRound;
}

/** An operator's direct Postgres access to one project's db port, from their mesh address. */
export interface DatabaseGrant {
  readonly operator: string;
  readonly address: string;
  readonly port: number;
}

export interface RmmPlan {
  readonly name: string;
  readonly serverType: string;
  readonly address: string;
  readonly release: string;
  readonly nats: boolean;
  /** Fully qualified: rmm (the web UI), api (agents and the UI's API) and mesh (MeshCentral). */
  readonly hostnames: { readonly rmm: string; readonly api: string; readonly mesh: string };
  readonly wireguardKey: KeyRound;
  /** Where its alert webhook goes: n8n's gate on the hub, over WireGuard. */
  readonly alertWebhookUrl: string;
}

/** What the fleet uses of a tenant: its identity, and what its rows and status page say of it. */
export interface TenantPlan {
  readonly slug: string;
  readonly name: string;
  readonly isolation: Isolation;
  readonly plan: TenantConfig["plan"];
  readonly statusPage: boolean;
}

export interface ProjectPlan {
  readonly name: string;
  readonly tenant: TenantPlan;
  readonly worker: WorkerPlan;
  readonly slot: number;
  readonly ports: ProjectPorts;
  readonly release: string;
  readonly schemaPacks: readonly SchemaPack[];
  /** Tenants whose rows live in this project, kept apart by RLS. */
  readonly pooledTenants: readonly TenantPlan[];
  readonly hostnames: { readonly api: string; readonly studio: string };
  /** Where its Studio runs, and the containers it runs on its worker (src/model/projectServices.ts). */
  readonly studio: StudioLayout;
  readonly services: readonly ServiceName[];
  readonly smtp: SmtpConfig;
  /** The secure config key its SMTP password is read from. */
  readonly smtpPasswordKey: string;
  /** Its Auth settings, with the site URL resolved (the API URL when the stack file gives none). */
  readonly auth: AuthConfig & { readonly siteUrl: string };
  /** The client's own hostnames that also serve its API: in the fleet's zone a proxied record, elsewhere a Cloudflare for SaaS custom hostname. */
  readonly customDomains: readonly CustomDomain[];
  readonly buckets: readonly BucketConfig[];
  /** With the tenant-registry pack: its plans and base tenants from the stack file. */
  readonly registry?: RegistryConfig;
  /** Its edge functions' folder in this repository, when it has one. */
  readonly functions?: FunctionsConfig;
  /** The tables it publishes to Realtime, when the stack file chooses them (otherwise its packs do). */
  readonly realtimeTables?: readonly string[];
  /** Seeded once from another project's backup (this stack's, or another stack's). */
  readonly restoreFrom?: { readonly project: string; readonly stack?: string; readonly snapshot: string; readonly time?: string };
  /** Its continuous WAL archive (backups.pitr), when it has one. */
  readonly walArchive?: WalArchive;
  /** The worker the project is leaving: its data comes across through a final backup. */
  readonly movedFrom?: WorkerPlan;
  /** Rotation counters: a raised one replaces that secret. */
  readonly rotate: { readonly jwt: number; readonly apiKeys: number; readonly dashboard: number; readonly restic: number };
  /** Its tenants' requests per minute at its gateway, by their plans. */
  readonly rateLimits: ProjectRateLimits;
}

/** A hostname of the client's that serves a project's API. */
export interface CustomDomain {
  readonly hostname: string;
  /** `zone`: under the fleet's domain, a proxied record in its zone; `saas`: the client's zone, a custom hostname they CNAME to. */
  readonly kind: "zone" | "saas";
}

export interface EdgePlan {
  readonly accountId: string;
  readonly zoneId: string;
  readonly teamName?: string;
  readonly rules: readonly IngressRule[];
  /** Operators' e-mails joined with access.emails. */
  readonly access: FleetConfig["access"];
  /** A project moves: the ingress waits until every move has restored its data. */
  readonly waitsForMoves: boolean;
  /** Clients' hostnames in their own zones (Cloudflare for SaaS), each with its project; and the fleet hostname they CNAME to, when there are any. */
  readonly customHostnames: readonly { readonly hostname: string; readonly project: string }[];
  readonly fallbackOrigin?: string;
}

/** Where alerts go; which secret-bearing channels exist, never their secrets. */
export interface AlertingPlan {
  readonly healthchecksBase?: string;
  readonly ntfy?: { readonly server: string; readonly topic: string; readonly url: string; readonly token: boolean };
  readonly telegramChat?: string;
}

/** One restic repository and what runs against it. */
export type BackupJobPlan =
  | {
      readonly kind: "project";
      readonly job: string;
      readonly worker: string;
      readonly dbContainer: string;
      readonly paths: readonly string[];
      readonly vaultKeyPath: string;
      readonly resticRotation: number;
      /** The project's WAL archive: its spool on the worker, which wal.sh ships. */
      readonly walArchive?: WalArchive & { readonly spool: string };
    }
  /** A project that is gone: its credentials and repository stay, nothing runs. */
  | { readonly kind: "retired"; readonly job: string; readonly dbContainer: string; readonly paths: readonly string[]; readonly vaultKeyPath: string; readonly resticRotation: number }
  | { readonly kind: "master"; readonly job: string; readonly paths: readonly string[]; readonly resticRotation: number };

/** A project's data seeded from another's backup. */
export interface SeedPlan {
  readonly project: string;
  readonly from: { readonly project: string; readonly stack?: string; readonly snapshot: string; readonly time?: string };
  readonly sourcePaths: readonly string[];
  readonly paths: readonly string[];
  readonly vaultKeyPath: string;
  /** A copy from another stack: every pack's anonymising hook runs on it. */
  readonly anonymise?: readonly SchemaPack[];
}

/** Staging drills another stack's backups on one of its own workers. */
export interface DrillPlan {
  readonly stack: string;
  readonly worker: string;
  readonly defaultImage: string;
  readonly drillDay: number;
  readonly retention: RetentionConfig;
}

export interface BackupsPlan {
  readonly vault: { readonly type: string; readonly location: string };
  readonly times: BackupTimes;
  readonly retention: RetentionConfig;
  readonly disposable: boolean;
  readonly copy?: { readonly repository: string; readonly retention: RetentionConfig };
  readonly alerting: AlertingPlan;
  /** Projects' jobs in project order, then retired ones, then the master's. */
  readonly jobs: readonly BackupJobPlan[];
  readonly seeds: readonly SeedPlan[];
  readonly drill?: DrillPlan;
}

export interface MonitoringPlan {
  readonly kumaUrl: string;
  readonly desired: KumaDesired;
}

export interface AutomationsPlan {
  readonly hostname: string;
  readonly ownerEmail: string;
  /** The project whose service key the ops workflows use. */
  readonly opsProject?: string;
  /** The project whose service key and SMTP password the sign-up and trial workflows use. */
  readonly registryProject?: string;
  readonly gate?: WebhookGate;
  readonly settings: AutomationSettings;
  /** TRMM's alert webhook as the stack output gives it. */
  readonly trmmWebhookUrl?: string;
}

/** The operator console (docs/operations.md, "The operator console"). */
export interface ConsolePlan {
  readonly hostname: string;
  /** On the hub's WireGuard address: cloudflared, the workers' reports and the operators' CLI reach it there. */
  readonly listen: { readonly address: string; readonly port: number };
  /** Where each worker's health agent posts its report. */
  readonly reportUrl: string;
  /** The Zero Trust team whose keys sign Access's JWTs. */
  readonly teamName: string;
  readonly fleet: ConsoleFleetView;
}

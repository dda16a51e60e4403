/**
 * What the console knows about the fleet: fleet.json, rendered by the Pulumi
 * program from the stack file on every `pulumi up` (src/console/fleetView.ts)
 * and read by the console. It is the stack file's view, not a second source
 * of truth: the console never writes it.
 */
export interface ConsoleFleet {
  readonly env: string;
  readonly domain: string;
  /** The infrastructure release every node runs (src/resources/infraRelease.ts). */
  readonly infraRelease: string;
  readonly master: { readonly name: string; readonly address: string };
  readonly workers: readonly ConsoleWorker[];
  readonly tenants: readonly ConsoleTenant[];
  readonly kuma: {
    /** Kuma on the hub, as the console reaches it. */
    readonly url: string;
    /** The status page that lists every monitor (its JSON API is read). */
    readonly fleetStatusPage: string;
    /** Kuma's own pages through the tunnel (status.<domain>, behind Access): a monitor is at /dashboard/<id>. */
    readonly dashboardUrl: string;
  };
  readonly access: {
    readonly teamName: string;
    /** The console app's Access audience tag. */
    readonly aud: string;
  };
  /** How often health agents report, in seconds. */
  readonly reportIntervalSeconds: number;
}

export interface ConsoleWorker {
  readonly name: string;
  /** Its WireGuard address: reports come from it, commands go to it. */
  readonly address: string;
  readonly agentPort: number;
  readonly dedicated: boolean;
  /** The names of its Kuma monitors (health agent push, WireGuard ping), as the fleet status page lists them. */
  readonly monitors: readonly string[];
}

export interface ConsoleTenant {
  readonly slug: string;
  readonly name: string;
  readonly statusPage?: string;
  readonly projects: readonly ConsoleProject[];
  /** A pooled tenant has no project of its own: its rows live in this one, kept apart by RLS. */
  readonly pooledIn?: string;
}

export interface ConsoleProject {
  readonly name: string;
  readonly worker: string;
  /** "shared" | "pooled" | "dedicated", as the stack file chose. */
  readonly isolation: string;
  /** The Supabase release the project is pinned to. */
  readonly release: string;
  readonly services: readonly string[];
  readonly backups: boolean;
  readonly pitr: boolean;
  readonly links: {
    readonly api: string;
    readonly studio: string;
    readonly statusPage?: string;
    /** The names of this project's Kuma monitors, as the fleet status page lists them. */
    readonly monitors: readonly string[];
  };
}

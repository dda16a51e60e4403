/** The subset of the Compose specification supafleet writes. */
export interface ComposeService {
  readonly image: string;
  readonly container_name: string;
  /** "no" only for a Studio on the master, which its waker starts and stops. */
  readonly restart: "unless-stopped" | "no";
  readonly mem_limit: string;
  /** What the kernel reclaims from it last; the placement budget sums these (src/model/sizing.ts). */
  readonly mem_reservation: string;
  readonly environment?: Readonly<Record<string, string>>;
  readonly command?: readonly string[];
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition: "service_healthy" | "service_started" }>>;
  readonly healthcheck?: { readonly test: readonly string[]; readonly interval: string; readonly timeout: string; readonly retries: number; readonly start_period?: string; readonly start_interval?: string };
  readonly networks?: Readonly<Record<string, { readonly aliases: readonly string[] }>>;
  readonly labels?: Readonly<Record<string, string>>;
}

import type { ServiceName } from "./services";

/**
 * What each container uses at idle, in MiB: the figures the memory limits in
 * sizing.ts are derived from, and that docs/sizing.md shows (a unit test keeps
 * the two equal). "measured" figures come from `npm run bench:idle` on this
 * lab's real servers (the maximum of its samples); "published" ones were
 * measured by others, on other hosts and versions, and are cited as collected
 * in ../shared/reference/studio-pitr-auth-facts.md §2.1 ("Quoted measurements",
 * docker stats unless noted).
 */
export interface IdleFigure {
  readonly mib: number;
  readonly how: "measured" | "published";
  /** The bench run and what ran in it, or the published source. */
  readonly source: string;
  /** When it was measured (year-month, or the year when the source gives no month). */
  readonly when: string;
  /** For a measured figure, the median of the run's samples (mib is their maximum). */
  readonly median?: number;
  /** A measured figure of the server as a worker runs it (the lab's db lacks upstream's extension workers). */
  readonly workerShape?: true;
}

/** The run of `npm run bench:idle` the measured figures come from. */
export const BENCH_RUN = "npm run bench:idle, 2026-12-06";

const TRAILBASE = "trailbaseio/trailbase-benchmark:benchmarks/supabase/README.md (commit 89937b9), mid-2024";
const KAHITSAN = "KahitSan/supabase-dev:OPTIMIZATION.md, 2025 (its Studio is 2025.06.30)";

export const IDLE_FIGURES: Readonly<Record<ServiceName, readonly IdleFigure[]>> = {
  db: [
    { mib: 33.3, how: "measured", when: "2026-12", source: `${BENCH_RUN}: the lab's Debian PostgreSQL 15 shaped like supabase/postgres, without upstream's extension workers` },
    { mib: 176, how: "published", when: "2024-06", source: `${TRAILBASE} (245 MiB under load)` },
    { mib: 102, how: "published", when: "2025-07", source: KAHITSAN },
  ],
  meta: [
    { mib: 131.2, median: 93.5, how: "measured", when: "2026-12", workerShape: true, source: `${BENCH_RUN}: @supabase/postgres-meta 0.99.0 from npm on Node 20, connected` },
    { mib: 89, how: "published", when: "2024-06", source: TRAILBASE },
    { mib: 78, how: "published", when: "2025-07", source: KAHITSAN },
  ],
  auth: [
    { mib: 14, how: "published", when: "2024-06", source: TRAILBASE },
    { mib: 23, how: "published", when: "2025-07", source: KAHITSAN },
  ],
  rest: [
    { mib: 88, how: "published", when: "2024-06", source: `${TRAILBASE} (107 MiB under load)` },
    { mib: 13, how: "published", when: "2025-07", source: KAHITSAN },
  ],
  realtime: [{ mib: 243, how: "published", when: "2024-06", source: `${TRAILBASE}; beam.smp processes of about 200 MiB RES in supabase/supabase#32713` }],
  storage: [
    { mib: 52, how: "published", when: "2024-06", source: TRAILBASE },
    { mib: 103, how: "published", when: "2025-07", source: KAHITSAN },
  ],
  imgproxy: [
    { mib: 25, how: "published", when: "2024-06", source: `${TRAILBASE} (23–25 MiB)` },
    { mib: 25, how: "published", when: "2025-07", source: KAHITSAN },
  ],
  functions: [{ mib: 22, how: "published", when: "2024-06", source: `${TRAILBASE}, the main worker only` }],
  gateway: [
    {
      mib: 100,
      how: "published",
      when: "2026-05",
      source: "supabase-community/supabase-kubernetes#187 (about 90–100 MiB per nginx worker: 2 workers ≈ 200 Mi); one worker here (KONG_NGINX_WORKER_PROCESSES=1)",
    },
  ],
  studio: [
    { mib: 87, how: "published", when: "2024-06", source: TRAILBASE },
    { mib: 145, how: "published", when: "2025-07", source: KAHITSAN },
    { mib: 120, how: "published", when: "2025-01", source: "supabase/supabase#32713 (next-server RES, top)" },
  ],
};

/** The figure a service's hard limit is derived from: the highest one known, measured or published. */
export function idleMiB(service: ServiceName): number {
  return Math.max(...IDLE_FIGURES[service].map((f) => f.mib));
}

/**
 * The figure a service's reservation is derived from: what it uses at idle as a worker runs it today.
 * That is the lab's own measurement (its median; the maximum goes to the limit) where the real server
 * runs here in the worker's shape; otherwise
 * the newest published figure (releases change what a service holds; the newest is closest to the
 * pinned ones), the higher of two from the same month.
 */
export function typicalIdle(service: ServiceName): IdleFigure {
  const figures = IDLE_FIGURES[service];
  const own = figures.find((f) => f.how === "measured" && f.workerShape === true);
  if (own !== undefined) return own;
  const published = figures.filter((f) => f.how === "published");
  return published.reduce((a, b) => (b.when > a.when || (b.when === a.when && b.mib > a.mib) ? b : a));
}

export function typicalIdleMiB(service: ServiceName): number {
  const f = typicalIdle(service);
  return f.median ?? f.mib;
}

/**
 * The master's add-ons, measured in the same run (the highest sample), each
 * under the limit its compose file sets.
 */
export const ADDON_IDLE_MIB = {
  kuma: 98.4,
  n8n: 289.7,
  gate: 8.2,
} as const;

/**
 * What a worker spends outside the containers' limits, measured in the same
 * run with a project running: dockerd and containerd (the highest RSS),
 * one containerd shim per container and one docker-proxy per published port
 * (proportional set size: their binaries' pages are shared), and restic's peak
 * during a first backup of a 256 MiB dump.
 */
export const HOST_MEASURED_MIB = {
  dockerd: 146.4,
  containerd: 57.5,
  shimPerContainer: 5.7,
  dockerProxyPerPort: 3.0,
  resticBackupPeak: 106.4,
} as const;

/** The run of `npm run bench:runtime` the density figures come from. */
export const RUNTIME_BENCH_RUN = "npm run bench:runtime, 2026-12-07";

/**
 * What each container and published port adds to a worker as projects pile up, from a clean engine with
 * the worker's daemon.json running 1 to 20 projects of 8 containers (docs/benchmarks.md): the daemons'
 * growth per container (a straight line to 160 containers), a shim's PSS at 15 projects, the kernel memory
 * per container outside any cgroup (machine-wide, so approximate), and a docker-proxy per port. The
 * daemons with nothing running are in the worker's reserve, not here.
 */
export const RUNTIME_MEASURED_MIB = {
  dockerdPerContainer: 0.55,
  containerdPerContainer: 0.18,
  shimPerContainer: 4.7,
  kernelPerContainer: 0.5,
  dockerProxyPerPort: 1.1,
  /** Both daemons with no container: 102.4 + 44.2 MiB RSS. */
  daemonsEmpty: 146.6,
} as const;

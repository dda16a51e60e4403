import { SERVICES, type ServiceName } from "./services";
import { RUNTIME_MEASURED_MIB, typicalIdleMiB } from "./idleMemory";
import { API_ONLY_SERVICES, FULL_SERVICES, workerServices } from "./projectServices";

/**
 * The headroom rule: a hard limit is at least half again the service's idle
 * figure, and at least 64 MiB above it, rounded up to 32 MiB. Idle figures:
 * idleMemory.ts (measured here, or published).
 */
export function headroomLimit(idleMiB: number): number {
  return Math.ceil(Math.max(idleMiB * 1.5, idleMiB + 64) / 32) * 32;
}

/**
 * The reservation rule: a service's typical idle figure (typicalIdleMiB()) and a tenth more, at least
 * 8 MiB more, rounded up to 8 MiB. It is the container's mem_reservation, the memory the kernel
 * reclaims from it last, and the placement budget sums it.
 */
export function reservationFor(idleMiB: number): number {
  return Math.ceil(Math.max(idleMiB * 1.1, idleMiB + 8) / 8) * 8;
}

/** Each service's reservation, in MiB. */
export const SERVICE_RESERVATION_MIB: Readonly<Record<ServiceName, number>> = Object.fromEntries(
  SERVICES.map((s) => [s, reservationFor(typicalIdleMiB(s))]),
) as Record<ServiceName, number>;

/**
 * Hard memory limit per service of one project, in MiB. Each figure becomes that
 * container's hard limit (mem_limit), and their sum is most of the per-project
 * budget the placement check uses, so an overfull worker is refused at preview
 * time rather than found by the OOM killer. None is below headroomLimit() of
 * its idle figure; where one is above, ABOVE_RULE says why. Derivation and
 * sources: docs/sizing.md.
 */
export const SERVICE_MEMORY_MIB: Readonly<Record<ServiceName, number>> = {
  db: 512,
  meta: 256,
  auth: 96,
  rest: 160,
  realtime: 384,
  storage: 192,
  imgproxy: 128,
  functions: 192,
  gateway: 192,
  studio: 256,
};

/** Why a limit is above what the headroom rule asks of its idle figure. */
export const ABOVE_RULE: Readonly<Partial<Record<ServiceName, string>>> = {
  db: "the connections of the project's other services, work memory, and the nightly pg_dump, which runs in this container (docker exec) and counts against its limit",
  meta: "its measured use swings by 40 % within a minute at idle, each healthcheck starts a Node process inside its limit, and Studio's heavier calls (type generation, large schemas) allocate more",
  imgproxy: "libvips grows with each transform; the limit bounds a burst",
  functions: "the main worker plus one user worker, which functions/main/index.ts creates with memoryLimitMb 150",
  studio: "published figures range from 87 to 145 MiB and grow as pages load",
};

/** Published ports per project: db and gateway. */
export const PUBLISHED_PORTS_PER_PROJECT = 2;

/** What one container costs outside its limit: its shim, the daemons' growth, kernel memory (bench:runtime). */
export const RUNTIME_PER_CONTAINER_MIB =
  RUNTIME_MEASURED_MIB.shimPerContainer + RUNTIME_MEASURED_MIB.dockerdPerContainer + RUNTIME_MEASURED_MIB.containerdPerContainer + RUNTIME_MEASURED_MIB.kernelPerContainer;

/** What a project costs outside its containers' limits, per container and per published port; rounded up to 8 MiB. */
export function runtimeMiB(containers: number): number {
  return Math.ceil((containers * RUNTIME_PER_CONTAINER_MIB + PUBLISHED_PORTS_PER_PROJECT * RUNTIME_MEASURED_MIB.dockerProxyPerPort) / 8) * 8;
}

/** What the placement budget counts for a project running these services on its worker. */
export function projectBudgetMiB(services: readonly ServiceName[]): number {
  return services.reduce((sum, s) => sum + SERVICE_RESERVATION_MIB[s], 0) + runtimeMiB(services.length);
}

/** The containers of a full project, its Studio on the master. */
const FULL_PROJECT_SERVICES = workerServices({ services: FULL_SERVICES, studio: "master" });

/** A full project (its Studio on the master) and an API-only one: what bench/density and docs/sizing.md compare. */
export const FULL_PROJECT_MIB = projectBudgetMiB(FULL_PROJECT_SERVICES);
export const API_ONLY_PROJECT_MIB = projectBudgetMiB(workerServices({ services: API_ONLY_SERVICES, studio: "master" }));

/** What a worker keeps for itself, whatever it runs; docs/sizing.md gives the reasons. */
export const WORKER_RESERVATION_MIB = {
  /** Debian's kernel and base system: systemd, journald, sshd, cron, unattended-upgrades (an estimate: no Debian host runs here). */
  os: 320,
  /** dockerd and containerd with nothing running, and a real worker's images, volumes and logs; their growth per container is in runtimeMiB(). */
  docker: 256,
  /** fail2ban (Python), WireGuard (in the kernel), nftables, the health agent and firewall-sync runs. */
  agents: 128,
  /** restic during the nightly backup; its index grows with the repository, and projects' backups may overlap. */
  backup: 512,
  /** Kernel slab and page tables, and some page cache for Postgres. */
  slack: 320,
} as const;

export const WORKER_RESERVED_MIB = Object.values(WORKER_RESERVATION_MIB).reduce((a, b) => a + b, 0);

/** How many projects of one budget fit a worker of this much memory. */
export function projectsThatFit(memoryMiB: number, perProjectMiB = FULL_PROJECT_MIB): number {
  return Math.max(0, Math.floor((memoryMiB - WORKER_RESERVED_MIB) / perProjectMiB));
}

export const CONTAINERS_PER_PROJECT = FULL_PROJECT_SERVICES.length;

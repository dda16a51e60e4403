import type { ServiceName } from "../supabase/services";

/**
 * Memory limit per service of one project, in MiB. The sum is the per-project
 * budget the placement check uses, and each figure becomes that container's
 * hard limit, so an overfull worker is refused at preview time rather than
 * found by the OOM killer. Derivation: docs/sizing.md.
 */
export const SERVICE_MEMORY_MIB: Readonly<Record<ServiceName, number>> = {
  db: 512,
  meta: 256,
  auth: 64,
  rest: 64,
  realtime: 192,
  storage: 128,
  imgproxy: 128,
  functions: 192,
  gateway: 192,
  studio: 256,
};

export const PROJECT_MEMORY_MIB = Object.values(SERVICE_MEMORY_MIB).reduce((a, b) => a + b, 0);

/** OS, dockerd, WireGuard, the nightly pg_dump and restic run. */
export const WORKER_RESERVED_MIB = 1536;

export function projectsThatFit(memoryMiB: number): number {
  return Math.max(0, Math.floor((memoryMiB - WORKER_RESERVED_MIB) / PROJECT_MEMORY_MIB));
}

import { SERVICE_MEMORY_MIB, WORKER_RESERVATION_MIB } from "./sizing";

/**
 * The master's own memory: the base every node keeps (sizing.ts), cloudflared, and each
 * add-on at its compose file's hard limit (they are few, and always on).
 */
export const MASTER_ADDON_LIMIT_MIB = {
  kuma: 512,
  n8n: 1024,
  /** n8n's webhook gate (Caddy). */
  gate: 64,
  /** The operator console (Node, one small bundle); counted whether or not it is enabled. */
  console: 128,
} as const;

export const MASTER_RESERVATION_MIB = {
  ...WORKER_RESERVATION_MIB,
  /** cloudflared, which carries every hostname of the fleet: an estimate (Go, tens of MiB at rest). */
  cloudflared: 64,
  ...MASTER_ADDON_LIMIT_MIB,
} as const;

export const MASTER_RESERVED_MIB = Object.values(MASTER_RESERVATION_MIB).reduce((a, b) => a + b, 0);

/** A Studio on the master counts at its hard limit: its use grows as pages load (docs/sizing.md). */
export const STUDIO_ON_MASTER_MIB = SERVICE_MEMORY_MIB.studio;

/** The master memory `maxRunning` Studios need, beside everything else it runs. */
export function masterMemoryFor(maxRunning: number): number {
  return MASTER_RESERVED_MIB + maxRunning * STUDIO_ON_MASTER_MIB;
}

export function studiosThatFit(memoryMiB: number): number {
  return Math.max(0, Math.floor((memoryMiB - MASTER_RESERVED_MIB) / STUDIO_ON_MASTER_MIB));
}

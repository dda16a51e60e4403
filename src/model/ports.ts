/**
 * Each project owns a block of ten host ports, chosen by its pinned `slot`.
 * The block never depends on list order, so adding or removing a project
 * cannot move another project's ports. All of them bind to the worker's
 * WireGuard address only.
 */
export const PORT_BASE = 20000;
export const PORTS_PER_SLOT = 10;
export const MAX_SLOT = 999;

export interface ProjectPorts {
  /** The API gateway (Kong), where the tunnel sends the project's API hostname. */
  readonly gateway: number;
  /** Studio, where the tunnel sends the project's Studio hostname. */
  readonly studio: number;
  /** Postgres, for backups, migrations and operators on the WireGuard network. */
  readonly db: number;
}

export function projectPorts(slot: number): ProjectPorts {
  if (!Number.isInteger(slot) || slot < 1 || slot > MAX_SLOT) {
    throw new RangeError(`slot must be an integer from 1 to ${MAX_SLOT}, got ${slot}`);
  }
  const base = PORT_BASE + slot * PORTS_PER_SLOT;
  return { gateway: base, studio: base + 1, db: base + 2 };
}

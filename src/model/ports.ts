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
  /** The API gateway (Kong): the tunnel sends both the API and the Studio hostname here. */
  readonly gateway: number;
  /** Postgres, for backups, migrations and operators on the WireGuard network. */
  readonly db: number;
}

function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 1 || slot > MAX_SLOT) {
    throw new RangeError(`slot must be an integer from 1 to ${MAX_SLOT}, got ${slot}`);
  }
}

export function projectPorts(slot: number): ProjectPorts {
  checkSlot(slot);
  const base = PORT_BASE + slot * PORTS_PER_SLOT;
  // base + 1 was Studio's before it moved behind the gateway; it stays unused so db never moves.
  return { gateway: base, db: base + 2 };
}

/**
 * A project's Studio on the master, by slot like its worker ports: the socket
 * the waker listens on (cloudflared's origin) and the port the Studio
 * container publishes on loopback while it runs. Both bind 127.0.0.1 only.
 */
export const STUDIO_PORT_BASE = 30000;

export interface StudioPorts {
  readonly listen: number;
  readonly container: number;
}

export function studioPorts(slot: number): StudioPorts {
  checkSlot(slot);
  const base = STUDIO_PORT_BASE + slot * 2;
  return { listen: base, container: base + 1 };
}

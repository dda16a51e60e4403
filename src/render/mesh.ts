import type { WgConfig } from "./wireguardConf";

/**
 * The three WireGuard configs of the mesh, as pure functions so that the
 * components and the namespace tests render exactly the same files.
 */

export const KEEPALIVE_SECONDS = 25;
/** Peers are synced in place by hub-sync; this reloads them after a reboot. */
export const HUB_POST_UP = "test -f /etc/wireguard/peers.conf && wg addconf %i /etc/wireguard/peers.conf || true";

export interface MeshShape {
  readonly subnet: string;
  readonly prefix: number;
  readonly hub: string;
  readonly port: number;
}

/** The hub's own interface, in the master's boot data; it has no peers until hub-sync runs. */
export function hubInterfaceConfig(mesh: MeshShape, privateKey: string): WgConfig {
  return { interface: { privateKey, address: `${mesh.hub}/${mesh.prefix}`, listenPort: mesh.port, postUp: [HUB_POST_UP] }, peers: [] };
}

/** A worker: one peer, the hub, through which it reaches the subnet and nothing else. */
export function workerConfig(mesh: MeshShape, w: { privateKey: string; address: string; hubPublicKey: string; hubIp: string }): WgConfig {
  return {
    interface: { privateKey: w.privateKey, address: `${w.address}/${mesh.prefix}` },
    peers: [{ name: "hub (master)", publicKey: w.hubPublicKey, allowedIps: [mesh.subnet], endpoint: `${w.hubIp}:${mesh.port}`, persistentKeepalive: KEEPALIVE_SECONDS }],
  };
}

/** An operator's laptop or CI runner: its own /32, the subnet through the hub. */
export function operatorConfig(mesh: MeshShape, o: { name: string; privateKey: string; address: string; hubPublicKey: string; hubIp: string }): WgConfig {
  return {
    interface: { privateKey: o.privateKey, address: `${o.address}/32` },
    peers: [{ name: `hub (master), for operator ${o.name}`, publicKey: o.hubPublicKey, allowedIps: [mesh.subnet], endpoint: `${o.hubIp}:${mesh.port}`, persistentKeepalive: KEEPALIVE_SECONDS }],
  };
}

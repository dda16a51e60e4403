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

/** A node whose only peer is the hub, through which it reaches the subnet and nothing else. */
interface Spoke {
  readonly privateKey: string;
  readonly hubPublicKey: string;
  readonly hubIp: string;
}

function spokeConfig(mesh: MeshShape, s: Spoke, interfaceAddress: string, hubPeerName: string): WgConfig {
  return {
    interface: { privateKey: s.privateKey, address: interfaceAddress },
    peers: [{ name: hubPeerName, publicKey: s.hubPublicKey, allowedIps: [mesh.subnet], endpoint: `${s.hubIp}:${mesh.port}`, persistentKeepalive: KEEPALIVE_SECONDS }],
  };
}

/** A worker: an address in the subnet. */
export function workerConfig(mesh: MeshShape, w: Spoke & { address: string }): WgConfig {
  return spokeConfig(mesh, w, `${w.address}/${mesh.prefix}`, "hub (master)");
}

/** An operator's laptop or CI runner: its own /32. */
export function operatorConfig(mesh: MeshShape, o: Spoke & { name: string; address: string }): WgConfig {
  return spokeConfig(mesh, o, `${o.address}/32`, `hub (master), for operator ${o.name}`);
}

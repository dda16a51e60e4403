import { ipv4ToInt, isIpv4 } from "../model/net";
import type { MasterSets } from "./hostFirewall";
import type { WgPeer } from "./wireguardConf";

/** A peer of the hub: a worker or an operator. */
export interface HubPeer {
  readonly name: string;
  readonly address: string;
  readonly publicKey: string;
}

export interface HubState {
  readonly peers: WgPeer[];
  readonly firewall: MasterSets;
}

const byAddress = (a: { address: string }, b: { address: string }): number => ipv4ToInt(a.address) - ipv4ToInt(b.address);

/**
 * The hub's whole peer set and firewall sets. Ordered by address so the
 * rendering is stable: adding a peer inserts lines, it never reorders them.
 */
export function hubPeerSet(sshRanges: readonly string[], operators: readonly HubPeer[], workers: readonly HubPeer[], rmm?: HubPeer): HubState {
  const all = [
    ...workers.map((w) => ({ ...w, name: `worker ${w.name}` })),
    ...operators.map((o) => ({ ...o, name: `operator ${o.name}` })),
    ...(rmm !== undefined ? [{ ...rmm, name: "Tactical RMM" }] : []),
  ].sort(byAddress);
  const ranges = [...new Set(sshRanges)].sort();
  return {
    peers: all.map((p) => ({ name: p.name, publicKey: p.publicKey, allowedIps: [`${p.address}/32`] })),
    firewall: {
      sshSources4: ranges.filter((r) => isIpv4(r.split("/")[0] ?? "")),
      sshSources6: ranges.filter((r) => !isIpv4(r.split("/")[0] ?? "")),
      operatorPeers: [...operators].sort(byAddress).map((p) => p.address),
      workerPeers: [...workers].sort(byAddress).map((w) => w.address),
    },
  };
}

export function hubSyncPayload(peers: string, nftables: string): string {
  return JSON.stringify({ peers, nftables });
}

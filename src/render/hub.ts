import type { OperatorConfig } from "../config/schema";
import { ipv4ToInt, isIpv4 } from "../model/net";
import type { MasterSets } from "./hostFirewall";
import type { WgPeer } from "./wireguardConf";

/** A worker as the hub sees it. */
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

/** The hub's whole peer set and firewall sets, ordered by address so the rendering is stable. */
export function hubPeerSet(operators: readonly OperatorConfig[], workers: readonly HubPeer[]): HubState {
  const operatorPeers = operators
    .filter((o) => o.wireguard !== undefined)
    .map((o) => ({ name: `operator ${o.name}`, address: o.wireguard!.address, publicKey: o.wireguard!.publicKey }));
  const all = [...workers.map((w) => ({ ...w, name: `worker ${w.name}` })), ...operatorPeers].sort(byAddress);
  const ranges = [...new Set(operators.flatMap((o) => o.sourceRanges))].sort();
  return {
    peers: all.map((p) => ({ name: p.name, publicKey: p.publicKey, allowedIps: [`${p.address}/32`] })),
    firewall: {
      sshSources4: ranges.filter((r) => isIpv4(r.split("/")[0] ?? "")),
      sshSources6: ranges.filter((r) => !isIpv4(r.split("/")[0] ?? "")),
      operatorPeers: operatorPeers.sort(byAddress).map((p) => p.address),
      workerPeers: [...workers].sort(byAddress).map((w) => w.address),
    },
  };
}

export function hubSyncPayload(peers: string, nftables: string): string {
  return JSON.stringify({ peers, nftables });
}

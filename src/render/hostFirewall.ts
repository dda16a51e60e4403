import { hubAddress, parseIpv4Cidr } from "../model/net";
import { m, type NftRule, type NftSet, type NftTable } from "./nftables";

export const NFT_TABLE = "supafleet";
export const WG_INTERFACE = "wg0";
export const METADATA_IP = "169.254.169.254";
// Docker's default bridge and its user-defined bridges (br-<id>).
const BRIDGES = ["docker0", "br-*"] as const;

const base: readonly NftRule[] = [
  { why: "loopback", match: [m.iif("lo")], verdict: "accept" },
  { why: "replies to our own traffic", match: [m.ct("established,related")], verdict: "accept" },
  { why: "malformed state", match: [m.ct("invalid")], verdict: "drop" },
  { why: "ping and path MTU discovery", match: [m.icmp()], verdict: "accept" },
];

const forwardGuard: readonly NftRule[] = [
  { why: "replies to forwarded traffic", match: [m.ct("established,related")], verdict: "accept" },
  { why: "malformed state", match: [m.ct("invalid")], verdict: "drop" },
  // The metadata service serves this server's boot data, which holds its WireGuard key.
  ...BRIDGES.map((b): NftRule => ({ why: "containers never read the metadata service", match: [m.iif(b), m.daddr4(METADATA_IP)], verdict: "drop" })),
];

/**
 * Docker-published ports are DNAT-ed and forwarded, bypassing input. After
 * the chain's accepts, anything else bound for a container is dropped by
 * where it goes, never by where it came from: no rule names the public
 * interface, whose name differs between images (eth0, ens3, enp1s0).
 */
const containerGuard: readonly NftRule[] = BRIDGES.map((b) => ({ why: "nothing else reaches a container, whatever the public interface is called", match: [m.oif(b)], verdict: "drop" }));

const containerEgress: readonly NftRule[] = BRIDGES.map((b) => ({
  why: "containers reach each other and the internet",
  match: [m.iif(b)],
  verdict: "accept",
}));

/** Our table: sets, then an input and a forward chain that drop whatever no rule accepts. */
function dropByDefault(sets: readonly NftSet[], input: readonly NftRule[], forward: readonly NftRule[]): NftTable {
  return {
    name: NFT_TABLE,
    sets,
    chains: [
      { name: "input", hook: "input", policy: "drop", rules: [...base, ...input] },
      { name: "forward", hook: "forward", policy: "drop", rules: [...forwardGuard, ...forward, ...containerGuard] },
    ],
  };
}

/** The sets the master's managed sync refreshes in place; boot data never lists them. */
export interface MasterSets {
  readonly sshSources4: readonly string[];
  readonly sshSources6: readonly string[];
  readonly operatorPeers: readonly string[];
  readonly workerPeers: readonly string[];
}

/**
 * The master's sets at its first boot: SSH from the operators' ranges of that
 * moment, no peers yet. Hub-sync keeps them current afterwards, so the master
 * is never open to the world, not even before its first sync.
 */
export function bootMasterSets(operatorRanges: readonly string[]): MasterSets {
  const ranges = [...new Set(operatorRanges)].sort();
  return { sshSources4: ranges.filter((r) => !r.includes(":")), sshSources6: ranges.filter((r) => r.includes(":")), operatorPeers: [], workerPeers: [] };
}

export function masterSets(s: MasterSets): NftSet[] {
  return [
    { name: "ssh_sources4", type: "ipv4_addr", elements: s.sshSources4 },
    { name: "ssh_sources6", type: "ipv6_addr", elements: s.sshSources6 },
    { name: "operator_peers", type: "ipv4_addr", elements: s.operatorPeers },
    { name: "worker_peers", type: "ipv4_addr", elements: s.workerPeers },
  ];
}

export interface MasterFirewallArgs {
  readonly wireguardPort: number;
  readonly allowWorkerToWorker: boolean;
  readonly sets: MasterSets;
  /**
   * Uptime Kuma's port on the hub address, for the workers' pushes. Only the
   * managed ruleset has it: Kuma is installed after boot, and boot data never changes.
   */
  readonly kumaPort?: number;
  /** Tactical RMM's mesh address and n8n's webhook gate: its alerts come over WireGuard, to that port only. */
  readonly rmmWebhook?: { readonly address: string; readonly port: number };
  /** The operator console's port on the hub address: workers' reports and operators' CLI (the console checks both). */
  readonly consolePort?: number;
}

/** Mirrors the master's Hetzner firewall (WireGuard, SSH from operators) and routes the mesh. */
export function masterRuleset(a: MasterFirewallArgs): NftTable {
  const w2w: NftRule = {
    why: a.allowWorkerToWorker ? "workers may talk to each other (wireguard.allowWorkerToWorker)" : "workers never reach each other",
    match: [m.iif(WG_INTERFACE), m.oif(WG_INTERFACE), m.saddr4(m.set("worker_peers")), m.daddr4(m.set("worker_peers"))],
    verdict: a.allowWorkerToWorker ? "accept" : "drop",
  };
  return dropByDefault(
    masterSets(a.sets),
    [
      { why: "WireGuard hub", match: [m.dport("udp", a.wireguardPort)], verdict: "accept" },
      { why: "SSH from operator ranges", match: [m.saddr4(m.set("ssh_sources4")), m.dport("tcp", 22)], verdict: "accept" },
      { why: "SSH from operator ranges", match: [m.saddr6(m.set("ssh_sources6")), m.dport("tcp", 22)], verdict: "accept" },
      { why: "SSH from operator peers over WireGuard", match: [m.iif(WG_INTERFACE), m.saddr4(m.set("operator_peers")), m.dport("tcp", 22)], verdict: "accept" },
      ...(a.kumaPort !== undefined
        ? [{ why: "workers push health and backup results to Uptime Kuma", match: [m.iif(WG_INTERFACE), m.saddr4(m.set("worker_peers")), m.dport("tcp", a.kumaPort)], verdict: "accept" as const }]
        : []),
      ...(a.consolePort !== undefined
        ? [
            { why: "workers report their health to the operator console", match: [m.iif(WG_INTERFACE), m.saddr4(m.set("worker_peers")), m.dport("tcp", a.consolePort)], verdict: "accept" as const },
            { why: "operators' CLI reaches the operator console (it checks their Access token)", match: [m.iif(WG_INTERFACE), m.saddr4(m.set("operator_peers")), m.dport("tcp", a.consolePort)], verdict: "accept" as const },
          ]
        : []),
      ...(a.rmmWebhook !== undefined
        ? [{ why: "Tactical RMM's alert webhooks reach n8n's webhook gate", match: [m.iif(WG_INTERFACE), m.saddr4(a.rmmWebhook.address), m.dport("tcp", a.rmmWebhook.port)], verdict: "accept" as const }]
        : []),
    ],
    [
      ...containerEgress,
      { why: "operators reach workers through the hub", match: [m.iif(WG_INTERFACE), m.oif(WG_INTERFACE), m.saddr4(m.set("operator_peers"))], verdict: "accept" },
      w2w,
    ],
  );
}

export interface WorkerFirewallArgs {
  readonly subnet: string;
  /**
   * Operators' direct access to a project's Postgres, granted in the stack
   * file (operators[].databaseAccess): their mesh address and the project's
   * database port. Only the managed ruleset has them; boot data has none.
   */
  readonly databaseGrants?: readonly { readonly operator: string; readonly address: string; readonly port: number }[];
}

/**
 * Least privilege on the mesh: only the hub's own address (the master:
 * cloudflared, Kuma, n8n, migrations, SSH through the bastion) reaches the
 * worker and its projects. An operator reaches a project's Postgres only
 * where the stack file grants it, and only that port. A worker's WireGuard
 * has no listening port: it dials the hub and keeps the path open, so no
 * input rule for WireGuard would ever match. Isolation between workers is
 * enforced at the hub, the only peer a worker has.
 */
export function workerRuleset(a: WorkerFirewallArgs): NftTable {
  const subnet = parseIpv4Cidr(a.subnet);
  if (subnet === undefined) throw new Error(`worker firewall: ${a.subnet} is not an IPv4 CIDR`);
  const hub = hubAddress(subnet);
  const grants = [...(a.databaseGrants ?? [])].sort((x, y) => x.port - y.port || x.address.localeCompare(y.address));
  const grant = (g: (typeof grants)[number]): readonly string[] => [m.iif(WG_INTERFACE), m.saddr4(g.address), m.originalTcpPort(g.port)];
  return dropByDefault(
    [],
    [
      { why: "the master: SSH through the bastion, probes, migrations", match: [m.iif(WG_INTERFACE), m.saddr4(hub)], verdict: "accept" },
      ...grants.map((g): NftRule => ({ why: `operator ${g.operator}: this project's Postgres (databaseAccess)`, match: grant(g), verdict: "accept" })),
    ],
    [
      ...BRIDGES.map((b): NftRule => ({ why: "project ports, published on the WireGuard address, for the master", match: [m.iif(WG_INTERFACE), m.oif(b), m.saddr4(hub)], verdict: "accept" })),
      ...grants.flatMap((g) => BRIDGES.map((b): NftRule => ({ why: `operator ${g.operator}: this project's Postgres (databaseAccess)`, match: [...grant(g), m.oif(b)], verdict: "accept" }))),
      ...containerEgress,
    ],
  );
}

/** TCP ports Tactical RMM serves to the internet: agents and technicians over 443, 80 for its redirects and certificate renewals. */
export const RMM_PUBLIC_TCP = [80, 443] as const;
/** Plain NATS, only for agents forced off NATS over WebSocket. */
export const RMM_NATS_PORT = 4222;

export interface RmmFirewallArgs extends WorkerFirewallArgs {
  readonly nats: boolean;
}

/**
 * Tactical RMM's host: the one node with public web ports. Everything else is
 * as on a worker: WireGuard dialled out to the hub, SSH over the mesh through the bastion.
 */
export function rmmRuleset(a: RmmFirewallArgs): NftTable {
  const ports = [...RMM_PUBLIC_TCP, ...(a.nats ? [RMM_NATS_PORT] : [])];
  return dropByDefault(
    [],
    [
      { why: "the master: SSH through the bastion", match: [m.iif(WG_INTERFACE), m.saddr4(hubAddress(parseIpv4Cidr(a.subnet)!))], verdict: "accept" },
      ...ports.map((port): NftRule => ({ why: port === RMM_NATS_PORT ? "agents on plain NATS (rmm.nats)" : "Tactical RMM's agents and web UI", match: [m.dport("tcp", port)], verdict: "accept" })),
    ],
    [],
  );
}

import type { types } from "@pulumi/hcloud";
import type { OperatorConfig } from "../config/schema";
import { RMM_NATS_PORT, RMM_PUBLIC_TCP } from "./hostFirewall";

type Rule = types.input.FirewallRule;

const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Inbound on the master: WireGuard from anywhere, SSH from the operators' ranges. Nothing else. */
export function masterFirewallRules(wireguardPort: number, operators: readonly OperatorConfig[]): Rule[] {
  const ranges = [...new Set(operators.flatMap((o) => o.sourceRanges))].sort();
  return [
    { direction: "in", protocol: "udp", port: String(wireguardPort), sourceIps: ANYWHERE, description: "WireGuard hub" },
    { direction: "in", protocol: "tcp", port: "22", sourceIps: ranges, description: "SSH from operators" },
  ];
}

/**
 * Inbound on a worker: nothing. Its WireGuard dials the hub (it has no
 * listening port), and Hetzner's firewall is stateful, so the hub's replies
 * pass; SSH arrives inside the tunnel.
 */
export function workerFirewallRules(): Rule[] {
  return [];
}

/** Inbound on Tactical RMM's host: its public web ports (4222 with plain NATS); WireGuard as on a worker. */
export function rmmFirewallRules(nats: boolean): Rule[] {
  const web = [...RMM_PUBLIC_TCP, ...(nats ? [RMM_NATS_PORT] : [])];
  return [
    ...workerFirewallRules(),
    ...web.map((port): Rule => ({ direction: "in", protocol: "tcp", port: String(port), sourceIps: ANYWHERE, description: port === RMM_NATS_PORT ? "Tactical RMM: plain NATS" : "Tactical RMM: agents and web UI" })),
  ];
}

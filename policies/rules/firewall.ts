import ipaddr from "ipaddr.js";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { opens, portRange } from "./ports";
import { ofType, T, type FirewallRule, type Props } from "./types";

const rulesOf = (props: Props[typeof T.firewall]): FirewallRule[] => (Array.isArray(props.rules) ? props.rules : []);
const describe = (r: FirewallRule): string => `${r.protocol ?? "?"}${r.port !== undefined ? ` ${r.port}` : ""}`;
const WORLD = new Set(["0.0.0.0/0", "::/0"]);

/** Tactical RMM's web ports (and plain NATS): only the firewall of the node labelled role=rmm may open them. */
const RMM_TCP = new Set([80, 443, 4222]);
const roleOf = (props: Props[typeof T.firewall]): string | undefined => props.labels?.role;

export interface InboundConfig {
  /** The stack's `wireguard.port`, from its stack file (npm run policy-config). */
  wireguardPort: number;
}

export const firewallInboundOnlyWireguardAndSsh: ResourceValidationPolicy = {
  name: "firewall-inbound-only-wireguard-and-ssh",
  description: "A Hetzner firewall opens nothing inbound but WireGuard (udp, the stack's wireguard.port) and SSH (tcp 22); Tactical RMM's node (role=rmm) also 80, 443 and 4222.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { wireguardPort: { type: "integer", minimum: 1, maximum: 65535, default: 51820 } } },
  validateResource: ofType(T.firewall, (props, args, report) => {
    const { wireguardPort } = args.getConfig<InboundConfig>();
    const rmm = roleOf(props) === "rmm";
    for (const r of rulesOf(props).filter((x) => x.direction === "in")) {
      const range = portRange(r.port);
      const single = range !== undefined && range[0] === range[1] ? range[0] : undefined;
      const allowed = (r.protocol === "udp" && single === wireguardPort) || (r.protocol === "tcp" && single === 22) || (rmm && r.protocol === "tcp" && single !== undefined && RMM_TCP.has(single));
      if (allowed) continue;
      if (r.protocol === "tcp" && single !== undefined && RMM_TCP.has(single)) {
        report(`Firewall ${args.name}: inbound ${describe(r)} is open; only Tactical RMM's node (label role=rmm) may open 80, 443 and 4222.`);
      } else {
        report(`Firewall ${args.name}: inbound ${describe(r)} is open; only WireGuard (udp ${wireguardPort}) and SSH (tcp 22) may be${rmm ? ", and 80, 443 and 4222 on Tactical RMM's node" : ""}.`);
      }
    }
  }),
};

export interface SshConfig {
  operatorRanges: string[];
}

function within(source: string, ranges: readonly string[]): boolean {
  try {
    const [addr, bits] = ipaddr.parseCIDR(source);
    return ranges.some((r) => {
      const [net, netBits] = ipaddr.parseCIDR(r);
      return addr.kind() === net.kind() && bits >= netBits && addr.match(net, netBits);
    });
  } catch {
    return false;
  }
}

export const firewallSshFromOperators: ResourceValidationPolicy = {
  name: "firewall-ssh-from-operators",
  description: "SSH comes only from the operators' explicit ranges, never from 0.0.0.0/0 or ::/0.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { operatorRanges: { type: "array", items: { type: "string" }, default: [] } },
  },
  validateResource: ofType(T.firewall, (props, args, report) => {
    const { operatorRanges } = args.getConfig<SshConfig>();
    for (const r of rulesOf(props).filter((x) => x.direction === "in" && x.protocol === "tcp" && opens(x.port, 22))) {
      for (const source of r.sourceIps ?? []) {
        if (WORLD.has(source)) report(`Firewall ${args.name}: SSH is open to the whole internet (${source}); it must come from the operators' ranges only.`);
        else if (operatorRanges.length > 0 && !within(source, operatorRanges)) {
          report(`Firewall ${args.name}: SSH is open to ${source}, which is not one of the operators' ranges (${operatorRanges.join(", ")}).`);
        }
      }
    }
  }),
};

const NEVER_OPEN: readonly [number, string][] = [
  [5432, "Postgres"],
  [6543, "the pooler"],
  [8000, "the API gateway"],
  [8443, "the API gateway's TLS port"],
  [3000, "Studio"],
];

export const firewallNoServicePorts: ResourceValidationPolicy = {
  name: "firewall-no-service-ports",
  description: "No firewall rule opens 5432, 6543, 8000, 8443 or 3000, whatever its source.",
  enforcementLevel: "mandatory",
  validateResource: ofType(T.firewall, (props, args, report) => {
    for (const r of rulesOf(props)) {
      for (const [port, what] of NEVER_OPEN) {
        if ((r.protocol === "tcp" || r.protocol === "udp") && opens(r.port, port)) {
          report(`Firewall ${args.name}: ${r.direction ?? "?"} ${describe(r)} opens ${port} (${what}); database, pooler, gateway and Studio ports are never opened.`);
        }
      }
    }
  }),
};

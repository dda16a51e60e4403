import { SERVER_TYPE_NAMES } from "../model/serverTypes";
import type { FleetConfig } from "../config/schema";

/**
 * The policy pack's config for one stack, derived from its stack file so the
 * two cannot drift: the WireGuard port is the mesh's, SSH sources are the operators' ranges, retention is the
 * fleet's floor, and the allowed server types are the ones supafleet knows.
 */
export function policyConfigFor(cfg: Pick<FleetConfig, "operators" | "wireguard" | "hostnames">): Record<string, unknown> {
  // A DNS label holds no regex metacharacter ("-" means nothing outside a class).
  const label = (l: string): string => `^${l}\\.`;
  return {
    // The master's hostnames as this stack names them (an e2e stack carries its run id in them).
    "access-for-protected-hostnames": { protectedHostnames: ["^[a-z0-9-]+-studio\\.", label(cfg.hostnames.n8n), label(cfg.hostnames.status), label(cfg.hostnames.console)] },
    "firewall-inbound-only-wireguard-and-ssh": { wireguardPort: cfg.wireguard.port },
    "firewall-ssh-from-operators": { operatorRanges: [...new Set(cfg.operators.flatMap((o) => o.sourceRanges))].sort() },
    "server-protected-in-prod": { protectedEnvironments: ["prod"] },
    "access-app-names-identity-provider": { requiredInStacks: ["prod"] },
    "server-type-allowed": { allowedServerTypes: SERVER_TYPE_NAMES.filter((t) => t !== "cpx12") },
    "every-project-backed-up": { minRetention: { daily: 7, weekly: 4, monthly: 6 } },
  };
}

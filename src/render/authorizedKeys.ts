import type { OperatorConfig } from "../config/schema";
import { renderScript } from "./script";

/**
 * root's authorized_keys on every node: the program's deploy key first, so
 * the program can never lock itself out, then each operator's key. Managed
 * over SSH rather than through Hetzner's ssh_keys, which would replace every
 * server whenever an operator joins or leaves.
 */
export function renderAuthorizedKeys(deployPublicKeys: string | readonly string[], operators: readonly OperatorConfig[]): string {
  // During a deploy key rotation both rounds' keys are accepted, the one in use first.
  const deploy = typeof deployPublicKeys === "string" ? [deployPublicKeys] : deployPublicKeys;
  const lines = [
    "# Managed by supafleet; edits are overwritten on the next `pulumi up`.",
    ...deploy.map((k) => `${k.trim().split(" ").slice(0, 2).join(" ")} supafleet-deploy`),
    ...operators.map((o) => `${o.sshPublicKey.trim().split(" ").slice(0, 2).join(" ")} operator-${o.name}`),
  ];
  return lines.join("\n") + "\n";
}

/** Replaces authorized_keys atomically, refusing input that lacks the deploy key. */
export const INSTALL_AUTHORIZED_KEYS = renderScript("host/authorized-keys.sh");

import { renderScript } from "./script";
import { fillTemplate, template } from "./templates";
import { TOOLS_DIR, toolsPrelude } from "../backup/tools";

/** Where a spoke keeps its next wg-quick config while the hub still knows the live key. */
export const STAGED_WG_CONF = "/etc/wireguard/next/wg0.conf";
export const ROTATE_UNIT = "supafleet-wireguard-rotate.service";

/**
 * The install-files payload that stages a spoke's next WireGuard config and
 * starts the unit that switches to it once the hub has the new key
 * (templates/host/wireguard-rotate.sh says why it works that way round).
 */
export function stagedKeyPayload(nextConf: string, hub: string): string {
  return JSON.stringify({
    files: {
      [STAGED_WG_CONF]: { content: nextConf, mode: "0600" },
      ...toolsPrelude(),
      [`${TOOLS_DIR}/wireguard-rotate.sh`]: { content: template("host/wireguard-rotate.sh"), mode: "0755" },
      [`/etc/systemd/system/${ROTATE_UNIT}`]: { content: fillTemplate("host/systemd/supafleet-wireguard-rotate.service", { hub }), mode: "0644" },
    },
    enable: [ROTATE_UNIT],
  });
}

/** Fails unless the spoke is on this public key, its hub peer is the hub's, and nothing is left staged. */
export function confirmKeyCommand(publicKey: string, hubPublicKey: string): string {
  return renderScript("host/wireguard-confirm.sh", { PUBLIC_KEY: publicKey, HUB_PUBLIC_KEY: hubPublicKey });
}

export const HUB_SWITCH = `${TOOLS_DIR}/wireguard-hub-switch.sh`;

/** The install-files payload that stages the hub's next interface config and the script that switches to it. */
export function hubNextPayload(nextConf: string): string {
  return JSON.stringify({
    files: {
      [STAGED_WG_CONF]: { content: nextConf, mode: "0600" },
      ...toolsPrelude(),
      [HUB_SWITCH]: { content: template("host/wireguard-hub-switch.sh"), mode: "0755" },
    },
  });
}

import { MASTER_ADDON_LIMIT_MIB } from "../model/masterSizing";
import { toYaml } from "../render/yaml";
import { KUMA_PORT } from "./kuma";

/**
 * Uptime Kuma, pinned. The npm registry's `uptime-kuma` (2.0.0-dev.0), which
 * the tests run, is the development build this stable release grew from; see
 * docs/operations.md for where the two differ.
 */
export const KUMA_IMAGE = "louislam/uptime-kuma:2.0.2";

/** Where Kuma keeps its state on the master: under /opt/supafleet/master, which the master's backup covers. */
export const KUMA_DIR = "/opt/supafleet/master/kuma";

/**
 * Kuma's Compose file. Host networking, listening on the hub's WireGuard
 * address only: cloudflared reaches it there, and so do the workers' pushes
 * (the master's firewall admits them on wg0 from worker addresses only). From
 * there it also reaches n8n and cloudflared on the master's loopback and the
 * workers over the mesh. No port is published, so Docker adds no NAT rule
 * that would bypass the host firewall.
 */
export function kumaCompose(hubAddress: string): string {
  const probe = `fetch("http://${hubAddress}:${KUMA_PORT}/api/entry-page").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const file = {
    name: "supafleet-kuma",
    services: {
      kuma: {
        image: KUMA_IMAGE,
        container_name: "supafleet-kuma",
        restart: "unless-stopped",
        network_mode: "host",
        mem_limit: `${MASTER_ADDON_LIMIT_MIB.kuma}m`,
        environment: { UPTIME_KUMA_HOST: hubAddress, UPTIME_KUMA_PORT: String(KUMA_PORT), UPTIME_KUMA_DB_TYPE: "sqlite", TZ: "UTC" },
        volumes: [`${KUMA_DIR}/data:/app/data`, `${KUMA_DIR}/bin:/supafleet:ro`],
        healthcheck: { test: ["CMD", "node", "-e", probe], interval: "30s", timeout: "10s", retries: 5, start_period: "60s", start_interval: "2s" },
        logging: { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } },
      },
    },
  };
  return `# supafleet: Uptime Kuma on the master. Generated; holds no secret.\n${toYaml(file)}`;
}

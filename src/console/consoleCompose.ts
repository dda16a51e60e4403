import { MASTER_ADDON_LIMIT_MIB } from "../model/masterSizing";
import { toYaml } from "../render/yaml";
import { CONSOLE_PORT } from "./fleetView";

/** Node's own image, pinned: the console is one bundled file with no install step. */
export const CONSOLE_IMAGE = "node:22.21.1-bookworm-slim";

/** The console's files on the master, under /opt/supafleet/master (the master's backup covers the audit log). */
export const CONSOLE_DIR = "/opt/supafleet/master/console";
/** The image's `node` user, who owns the console's data. */
export const CONSOLE_UID = 1000;

/**
 * The console's Compose file. Host networking on the hub's WireGuard address,
 * as Kuma: cloudflared reaches it there, the workers' reports arrive with their
 * own source addresses (which the console checks), and its commands leave from
 * the hub's address, the only one the agents accept. No port is published.
 */
export function consoleCompose(hub: string): string {
  const probe = `require("node:net").connect(${CONSOLE_PORT}, "${hub}").on("connect", () => process.exit(0)).on("error", () => process.exit(1))`;
  const file = {
    name: "supafleet-console",
    services: {
      console: {
        image: CONSOLE_IMAGE,
        container_name: "supafleet-console",
        restart: "unless-stopped",
        network_mode: "host",
        user: `${CONSOLE_UID}:${CONSOLE_UID}`,
        read_only: true,
        command: ["node", "/app/console.mjs"],
        mem_limit: `${MASTER_ADDON_LIMIT_MIB.console}m`,
        environment: { CONSOLE_DIR: "/console", CONSOLE_LISTEN: `${hub}:${CONSOLE_PORT}`, NODE_ENV: "production", TZ: "UTC" },
        volumes: [`${CONSOLE_DIR}/app:/app:ro`, `${CONSOLE_DIR}/data:/console`],
        healthcheck: { test: ["CMD", "node", "-e", probe], interval: "30s", timeout: "5s", retries: 3, start_period: "20s", start_interval: "2s" },
        logging: { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } },
      },
    },
  };
  return `# supafleet: the operator console on the master. Generated; holds no secret.\n${toYaml(file)}`;
}

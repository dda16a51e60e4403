import { MASTER_ADDON_LIMIT_MIB } from "../model/masterSizing";
import { toYaml } from "../render/yaml";
import { N8N_PORT } from "./ports";
import { GATE_CONFIG_FILE, type WebhookGate } from "./webhookGate";

/**
 * n8n, pinned to the version line the tests run (npm n8n 1.123.81); see
 * docs/operations.md for where the image and the npm build may differ.
 */
export const N8N_IMAGE = "n8nio/n8n:1.123.81";
export { N8N_PORT };
export const N8N_CONTAINER = "supafleet-n8n";
/** Caddy, only as n8n's webhook gate on the mesh. */
export const GATE_IMAGE = "caddy:2.10.2";
export const GATE_CONTAINER = "supafleet-n8n-gate";

/** Under /opt/supafleet/master, which the master's backup covers; the key file under /etc/supafleet is covered too. */
export const N8N_DIR = "/opt/supafleet/master/n8n";
export const N8N_ENV_FILE = "/etc/supafleet/automation/n8n.env";

/**
 * n8n's settings besides its encryption key (which is in N8N_ENV_FILE, root
 * only). The tests start the npm build with these same values.
 */
export function n8nEnvironment(hostname: string): Record<string, string> {
  return {
    // Behind the tunnel: the public URL n8n prints for webhooks and the editor, and one proxy hop (cloudflared).
    N8N_HOST: hostname,
    N8N_PROTOCOL: "https",
    N8N_PORT: String(N8N_PORT),
    N8N_LISTEN_ADDRESS: "127.0.0.1",
    WEBHOOK_URL: `https://${hostname}/`,
    N8N_EDITOR_BASE_URL: `https://${hostname}/`,
    N8N_PROXY_HOPS: "1",
    // SQLite on the backed-up volume: see docs/operations.md for why not Postgres.
    DB_TYPE: "sqlite",
    DB_SQLITE_POOL_SIZE: "2",
    EXECUTIONS_DATA_PRUNE: "true",
    EXECUTIONS_DATA_MAX_AGE: "336",
    GENERIC_TIMEZONE: "UTC",
    TZ: "UTC",
    // Hardening: no $env in expressions or Code nodes, nothing phones home, no shell or file nodes.
    N8N_BLOCK_ENV_ACCESS_IN_NODE: "true",
    N8N_DIAGNOSTICS_ENABLED: "false",
    N8N_VERSION_NOTIFICATIONS_ENABLED: "false",
    N8N_TEMPLATES_ENABLED: "false",
    N8N_PERSONALIZATION_ENABLED: "false",
    N8N_HIRING_BANNER_ENABLED: "false",
    N8N_PUBLIC_API_DISABLED: "true",
    N8N_SECURE_COOKIE: "true",
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: "true",
    NODES_EXCLUDE: JSON.stringify(["n8n-nodes-base.executeCommand", "n8n-nodes-base.ssh", "n8n-nodes-base.localFileTrigger", "n8n-nodes-base.readWriteFile"]),
  };
}

/**
 * n8n's Compose file: host networking on loopback (cloudflared reaches it
 * there), and, when something on the mesh sends webhooks, the gate on the
 * hub's address. No port is published, so Docker adds no NAT rule.
 */
export function n8nCompose(hostname: string, gate: WebhookGate | undefined): string {
  const probe = `fetch("http://127.0.0.1:${N8N_PORT}/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const logging = { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } };
  const services: Record<string, unknown> = {
    n8n: {
      image: N8N_IMAGE,
      container_name: N8N_CONTAINER,
      restart: "unless-stopped",
      network_mode: "host",
      mem_limit: `${MASTER_ADDON_LIMIT_MIB.n8n}m`,
      env_file: [N8N_ENV_FILE],
      environment: n8nEnvironment(hostname),
      volumes: [`${N8N_DIR}/data:/home/node/.n8n`],
      healthcheck: { test: ["CMD", "node", "-e", probe], interval: "30s", timeout: "10s", retries: 5, start_period: "60s", start_interval: "2s" },
      logging,
    },
  };
  if (gate !== undefined) {
    services.gate = {
      image: GATE_IMAGE,
      container_name: GATE_CONTAINER,
      restart: "unless-stopped",
      network_mode: "host",
      mem_limit: `${MASTER_ADDON_LIMIT_MIB.gate}m`,
      read_only: true,
      cap_drop: ["ALL"],
      command: ["caddy", "run", "--config", "/etc/caddy/gate.json"],
      // Root-only on the host (it holds the webhook secret); the container runs as root, without capabilities.
      volumes: [`${GATE_CONFIG_FILE}:/etc/caddy/gate.json:ro`],
      depends_on: ["n8n"],
      logging,
    };
  }
  return `# supafleet: n8n on the master. Generated; holds no secret.\n${toYaml({ name: "supafleet-n8n", services })}`;
}

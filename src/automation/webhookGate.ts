import { GATE_PORT, N8N_PORT } from "./ports";

export { GATE_PORT };

/** The TRMM workflow's webhook path; the gate lets nothing else through. */
export const TRMM_WEBHOOK_PATH = "/webhook/supafleet/trmm";
/** The header TRMM sends its secret in; the gate checks it and removes it, so n8n never stores it. */
export const WEBHOOK_SECRET_HEADER = "X-Supafleet-Webhook-Secret";
/** The gate's config on the master: it holds the secret, so it is root's alone and outside n8n's folder. */
export const GATE_CONFIG_FILE = "/etc/supafleet/automation/gate.json";

export interface WebhookGate {
  readonly listen: string;
  /** One route per caller: its mesh address and the only webhook paths it may call. */
  readonly routes: readonly { readonly source: string; readonly paths: readonly string[] }[];
}

/**
 * Caddy's JSON config for the gate. A POST to a listed webhook path from the
 * listed address reaches n8n only with the right secret header, and without
 * it: the header is deleted on the way. A wrong or missing secret gets 403,
 * anything else 404; neither reaches n8n.
 *
 * Caddy's header matcher compares with `==`, not in constant time. The
 * comparison runs only inside the route of the caller's address, which the
 * host firewall already limits to that WireGuard peer (docs/operations.md).
 */
export function gateConfig(gate: WebhookGate, secret: string, upstream = `127.0.0.1:${N8N_PORT}`): object {
  // Caddy reads `*` as a wildcard and `{…}` as a placeholder in a header matcher's value.
  if (secret === "" || /[*{}\s]/.test(secret)) throw new Error("the webhook secret must be non-empty, without *, {, } or spaces");
  const proxy = { handler: "reverse_proxy", upstreams: [{ dial: upstream }], headers: { request: { delete: [WEBHOOK_SECRET_HEADER] } } };
  return {
    admin: { disabled: true },
    apps: {
      http: {
        servers: {
          gate: {
            listen: [gate.listen],
            automatic_https: { disable: true },
            routes: [
              ...gate.routes.map((r) => ({
                match: [{ method: ["POST"], path: [...r.paths], remote_ip: { ranges: [`${r.source}/32`] } }],
                handle: [
                  {
                    handler: "subroute",
                    routes: [
                      { match: [{ header: { [WEBHOOK_SECRET_HEADER]: [secret] } }], handle: [proxy], terminal: true },
                      { handle: [{ handler: "static_response", status_code: 403, body: "forbidden\n" }] },
                    ],
                  },
                ],
                terminal: true,
              })),
              { handle: [{ handler: "static_response", status_code: 404, body: "not found\n" }] },
            ],
          },
        },
      },
    },
  };
}

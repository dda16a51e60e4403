import { GATE_PORT, N8N_PORT } from "./ports";

export { GATE_PORT };

/** The TRMM workflow's webhook path; the gate lets nothing else through. */
export const TRMM_WEBHOOK_PATH = "/webhook/supafleet/trmm";

export interface WebhookGate {
  readonly listen: string;
  /** One route per caller: its mesh address and the only webhook paths it may call. */
  readonly routes: readonly { readonly source: string; readonly paths: readonly string[] }[];
}

/**
 * Caddy's JSON config for the gate: POSTs to the listed webhook paths from
 * the listed addresses reach n8n; everything else, n8n's editor and API
 * included, gets 404 without reaching it.
 */
export function gateConfig(gate: WebhookGate, upstream = `127.0.0.1:${N8N_PORT}`): object {
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
                handle: [{ handler: "reverse_proxy", upstreams: [{ dial: upstream }] }],
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

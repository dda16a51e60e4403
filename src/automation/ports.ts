/** n8n on the master's loopback; cloudflared and the webhook gate reach it there. */
export const N8N_PORT = 5678;
/** The webhook gate on the hub's mesh address: the only way a mesh peer's webhook reaches n8n. */
export const GATE_PORT = 5679;

import { TOOLS_DIR } from "../backup/tools";
import { template } from "../render/templates";
import { AGENT_PORT } from "./fleetView";

export const AGENT_DIR = "/etc/supafleet/agent";
const UNIT = "supafleet-agent.service";

/** The agent's settings (agent.json): who it is, where it listens, and the one address it takes commands from. */
export interface AgentSettings {
  readonly worker: string;
  readonly address: string;
  readonly port: number;
  readonly master: string;
}

export function agentSettings(worker: string, address: string, master: string): AgentSettings {
  return { worker, address, port: AGENT_PORT, master };
}

/**
 * The install-files payload for a worker's agent: the script, its unit, its
 * settings and its key. It holds the key, so it goes as a secret. The agent
 * reads its files only when it starts, so the payload restarts it.
 */
export function workerAgentPayload(settings: AgentSettings, keyHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(keyHex)) throw new Error(`the agent key of ${settings.worker} must be 64 lowercase hex characters`);
  const file = (content: string, mode: string) => ({ content, mode });
  return JSON.stringify({
    files: {
      [`${TOOLS_DIR}/worker-agent.py`]: file(template("worker/worker-agent.py"), "0755"),
      [`/etc/systemd/system/${UNIT}`]: file(template(`worker/systemd/${UNIT}`), "0644"),
      [`${AGENT_DIR}/agent.json`]: file(`${JSON.stringify(settings, null, 2)}\n`, "0644"),
      [`${AGENT_DIR}/key`]: file(`${keyHex}\n`, "0600"),
    },
    enable: [UNIT],
    restart: [UNIT],
  });
}

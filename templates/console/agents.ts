import { sendCommand, waitForJob, type AgentArgs, type AgentCommand, type AgentJob, type AgentReply } from "./agentClient";
import type { ConsoleFleet } from "./fleet";
import type { WorkerKeys } from "./inputs";

/** The console's way to the worker agents: each worker by name, its address and key looked up here alone. */
export interface Agents {
  send<C extends AgentCommand>(worker: string, command: C, args: AgentArgs[C], timeoutMs?: number): Promise<AgentReply>;
  waitForJob(worker: string, id: string): Promise<AgentJob>;
}

// A backup of a large project can run for hours: the console follows it that long before giving up.
const JOB_FOLLOW_MS = 12 * 3600 * 1000;

export function fleetAgents(fleet: ConsoleFleet, keys: WorkerKeys): Agents {
  const target = (name: string): { url: string; key: string } => {
    const w = fleet.workers.find((w) => w.name === name);
    const key = keys[name];
    if (w === undefined || key === undefined) throw new Error(`no worker ${name} in fleet.json and keys.json`);
    return { url: `http://${w.address}:${w.agentPort}`, key };
  };
  return {
    send: (worker, command, args, timeoutMs) => {
      const t = target(worker);
      return sendCommand(t.url, t.key, worker, command, args, timeoutMs !== undefined ? { timeoutMs } : {});
    },
    waitForJob: (worker, id) => {
      const t = target(worker);
      return waitForJob(t.url, t.key, worker, id, { timeoutMs: JOB_FOLLOW_MS });
    },
  };
}

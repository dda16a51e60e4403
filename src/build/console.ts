import { OperatorConsole } from "../../components/OperatorConsole";
import { WorkerAgent } from "../../components/WorkerAgent";
import type { InfraRelease } from "../resources/infraRelease";
import type { FleetPlan } from "../plan/types";
import type { TunnelIngress } from "../../components/TunnelIngress";
import type { Nodes } from "./parts";

export interface ConsoleParts {
  readonly console: OperatorConsole;
  readonly agents: ReadonlyMap<string, WorkerAgent>;
}

/** The console on the master and an agent on every worker, when the stack file enables them. */
export function buildConsole(plan: FleetPlan, nodes: Nodes, tunnel: TunnelIngress, release: InfraRelease): ConsoleParts | undefined {
  const c = plan.console;
  if (c === undefined) return undefined;
  const agents = new Map<string, WorkerAgent>();
  for (const [name, w] of nodes.workers) {
    agents.set(name, new WorkerAgent(`${name}-agent`, { worker: name, address: w.address, hub: plan.wireguard.hub, ssh: nodes.master.ssh, after: [w.backupTools] }));
  }
  const operatorConsole = new OperatorConsole("console", {
    ssh: nodes.master.ssh,
    after: [nodes.master.hubSync],
    hub: plan.wireguard.hub,
    url: `https://${c.hostname}`,
    fleet: c.fleet,
    access: { teamName: c.teamName, aud: tunnel.accessAudience(c.hostname) },
    infraRelease: release.describe,
    keys: Object.fromEntries([...agents].map(([name, a]) => [name, a.key])),
  });
  return { console: operatorConsole, agents };
}

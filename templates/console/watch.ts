import type { Agents } from "./agents";
import type { ConsoleFleet } from "./fleet";
import { readKuma, type KumaReading } from "./kuma";
import { reasonOf } from "./reason";

/** What one worker's agent said to `status`, or why it said nothing. */
export type AgentReading =
  | { readonly reachable: true; readonly at: number; readonly projects: readonly AgentProjectStatus[] }
  | { readonly reachable: false; readonly at: number; readonly error: string };

export interface AgentProjectStatus {
  readonly name: string;
  readonly services: readonly { readonly service: string; readonly container: string; readonly state: string; readonly health: string }[];
  readonly backup: unknown;
}

/**
 * Reads Kuma and every worker agent's `status` in the background, once per
 * report interval, so a page load costs no call to either: the page shows the
 * last reading and when it was taken.
 */
export class FleetWatch {
  kuma: KumaReading = { reachable: false, error: "Uptime Kuma has not been read yet" };
  readonly agents = new Map<string, AgentReading>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly fleet: ConsoleFleet,
    private readonly agentCalls: Agents,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.fleet.reportIntervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One reading of everything; a reading already under way is shared, not doubled. */
  refresh(): Promise<void> {
    this.running ??= Promise.all([this.readKuma(), ...this.fleet.workers.map((w) => this.readAgent(w.name))])
      .then(() => undefined)
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async readKuma(): Promise<void> {
    this.kuma = await readKuma(this.fleet.kuma.url, this.fleet.kuma.fleetStatusPage);
  }

  async readAgent(worker: string): Promise<void> {
    const at = Date.now();
    try {
      const answer = await this.agentCalls.send(worker, "status", {});
      const projects = (answer.body as { projects?: AgentProjectStatus[] }).projects;
      this.agents.set(worker, answer.status === 200 && Array.isArray(projects) ? { reachable: true, at, projects } : { reachable: false, at, error: `the agent answered ${answer.status}: ${answerError(answer.body)}` });
    } catch (e) {
      this.agents.set(worker, { reachable: false, at, error: `the agent is unreachable (${reasonOf(e)})` });
    }
  }
}

/** The agent's refusal sentence, or a generic one. */
export const answerError = (body: unknown): string => {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === "string" ? error : "no reason given";
};

import type { AgentJob, AgentReply } from "./agentClient";
import type { Agents } from "./agents";
import type { AuditLog } from "./audit";
import type { ConsoleFleet, ConsoleProject } from "./fleet";
import { reasonOf } from "./reason";
import { answerError } from "./watch";

/** The everyday actions; none changes what the stack file declares, and there is no delete. */
export const ACTIONS = ["restart", "backup-now", "drill-now", "logs"] as const;
export type ActionName = (typeof ACTIONS)[number];

export interface ActionRequest {
  readonly action: ActionName;
  readonly project: ConsoleProject;
  readonly service?: string;
}

/** An API answer: status and JSON body. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const refuse = (status: number, error: string): Answer => ({ status, body: { error } });

/** The request, or the answer refusing it. */
export function parseActionRequest(body: unknown, fleet: ConsoleFleet): ActionRequest | Answer {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const action = ACTIONS.find((a) => a === b.action);
  if (action === undefined) return refuse(400, `"action" is one of ${ACTIONS.join(", ")}`);
  if (typeof b.project !== "string") return refuse(400, `"project" names a project`);
  const project = fleet.tenants.flatMap((t) => t.projects).find((p) => p.name === b.project);
  if (project === undefined) return refuse(404, `there is no project "${b.project}" in this fleet`);
  const service = b.service === undefined || b.service === "" ? undefined : b.service;
  if (service !== undefined && typeof service !== "string") return refuse(400, `"service" names a service`);
  if (service !== undefined && (action === "backup-now" || action === "drill-now")) return refuse(400, `${action} takes no service`);
  if (action === "logs" && service === undefined) return refuse(400, "logs needs a service");
  if (service !== undefined && !project.services.includes(service)) return refuse(404, `project ${project.name} has no service "${service}"`);
  if ((action === "backup-now" || action === "drill-now") && !project.backups) return refuse(409, `project ${project.name} is not backed up`);
  return { action, project, ...(service !== undefined ? { service } : {}) };
}

/** A backup or drill the console started, as the page and `npm run fleet` follow it. */
export interface ConsoleJob {
  /** "<worker>.<agent's job id>" */
  readonly id: string;
  readonly worker: string;
  readonly project: string;
  readonly action: ActionName;
  readonly state: "running" | "succeeded" | "failed";
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly exitCode?: number;
  readonly output: readonly string[];
}

// An agent's refusal that means something to the operator is passed on; anything else is the agent's fault.
const PASSED_ON = new Set([404, 409]);
const RESTART_TIMEOUT_MS = 180_000;

/** Runs actions through the worker agents, each recorded in the audit log before it is sent and after. */
export class ActionRunner {
  readonly jobs = new Map<string, ConsoleJob>();

  constructor(
    private readonly agents: Agents,
    private readonly audit: AuditLog,
    /** Called when a job ends, so the backup status is read again. */
    private readonly jobEnded: (worker: string) => void = () => {},
  ) {}

  async run(identity: string, req: ActionRequest): Promise<Answer> {
    const worker = req.project.worker;
    const entry = { identity, action: req.action, project: req.project.name, worker, ...(req.service !== undefined ? { service: req.service } : {}) };
    this.audit.append({ ...entry, phase: "requested" });
    const outcome = (outcome: "ok" | "succeeded" | "failed", detail?: string, job?: string): void => {
      this.audit.append({ ...entry, phase: "outcome", outcome, ...(detail !== undefined ? { detail } : {}), ...(job !== undefined ? { job } : {}) });
    };
    let reply: AgentReply;
    try {
      reply = await this.send(worker, req);
    } catch (e) {
      const error = `the agent of ${worker} is unreachable (${reasonOf(e)})`;
      outcome("failed", error);
      return refuse(502, error);
    }
    const expected = req.action === "backup-now" || req.action === "drill-now" ? 202 : 200;
    if (reply.status !== expected) {
      const error = `the agent of ${worker} refused: ${answerError(reply.body)}`;
      outcome("failed", error);
      return refuse(PASSED_ON.has(reply.status) ? reply.status : 502, error);
    }
    if (req.action === "restart") {
      outcome("ok");
      return { status: 200, body: { ok: true } };
    }
    if (req.action === "logs") {
      const lines = (reply.body as { lines?: unknown }).lines;
      outcome("ok");
      return { status: 200, body: { lines: Array.isArray(lines) ? lines : [] } };
    }
    const agentJob = (reply.body as { job: AgentJob }).job;
    const job = this.track(worker, req.action, agentJob, (final, error) => outcome(final.state === "succeeded" ? "succeeded" : "failed", error ?? `exit ${final.exitCode ?? "unknown"}`, final.id));
    return { status: 202, body: { job } };
  }

  private send(worker: string, req: ActionRequest): Promise<AgentReply> {
    const project = req.project.name;
    switch (req.action) {
      case "restart":
        return this.agents.send(worker, "restart", { project, ...(req.service !== undefined ? { service: req.service } : {}) }, RESTART_TIMEOUT_MS);
      case "logs":
        return this.agents.send(worker, "logs", { project, service: req.service!, lines: 200 });
      case "backup-now":
      case "drill-now":
        return this.agents.send(worker, req.action, { project });
    }
  }

  /** Follows a job on its agent until it ends; the console's record is what GET /api/jobs/<id> shows. */
  private track(worker: string, action: ActionName, agentJob: AgentJob, ended: (job: ConsoleJob, error?: string) => void): ConsoleJob {
    const id = `${worker}.${agentJob.id}`;
    const started: ConsoleJob = { id, worker, project: agentJob.project, action, state: "running", startedAt: agentJob.startedAt, output: agentJob.output };
    this.jobs.set(id, started);
    this.agents.waitForJob(worker, agentJob.id).then(
      (final) => {
        const job: ConsoleJob = { ...started, state: final.state === "succeeded" ? "succeeded" : "failed", output: final.output, ...(final.endedAt !== undefined ? { endedAt: final.endedAt } : {}), ...(final.exitCode !== undefined ? { exitCode: final.exitCode } : {}) };
        this.jobs.set(id, job);
        ended(job);
        this.jobEnded(worker);
      },
      (e: unknown) => {
        const error = `lost track of the job: ${reasonOf(e)}`;
        const job: ConsoleJob = { ...started, state: "failed", endedAt: Math.floor(Date.now() / 1000), output: [...started.output, error] };
        this.jobs.set(id, job);
        ended(job, error);
      },
    );
    return started;
  }
}

import { createHmac, randomBytes } from "node:crypto";

/** The master's side of the worker agent's signed command (templates/worker/worker-agent.py). */

export type AgentCommand = "status" | "restart" | "logs" | "backup-now" | "drill-now" | "job";

/** What each command takes. */
export interface AgentArgs {
  status: Record<string, never>;
  restart: { project: string; service?: string };
  logs: { project: string; service: string; lines?: number };
  "backup-now": { project: string };
  "drill-now": { project: string };
  job: { id: string };
}

export interface AgentPayload<C extends AgentCommand = AgentCommand> {
  readonly v: 1;
  readonly worker: string;
  readonly command: C;
  readonly args: AgentArgs[C];
  readonly nonce: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What goes over the wire: the payload JSON as base64url, and its HMAC-SHA256 as base64url. */
export interface SignedEnvelope {
  readonly payload: string;
  readonly signature: string;
}

export type JobState = "running" | "succeeded" | "failed";

export interface AgentJob {
  readonly id: string;
  readonly command: AgentCommand;
  readonly project: string;
  readonly state: JobState;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly exitCode?: number;
  /** The job's last 50 lines of output. */
  readonly output: readonly string[];
}

export interface AgentService {
  readonly service: string;
  readonly container: string;
  readonly state: string;
  readonly health: string;
}

export interface AgentStatus {
  readonly worker: string;
  readonly projects: readonly { readonly name: string; readonly services: readonly AgentService[]; readonly backup: unknown }[];
}

/** The agent's answer to a command it refused, with a plain sentence saying why. */
export type Refusal = { readonly error: string };

/** What a command answers: its HTTP status and JSON body ({"error": …} when refused). */
export interface AgentReply<T = unknown> {
  readonly status: number;
  readonly body: T | Refusal;
}

/** How long a command lives: the agent takes at most 60 s. */
export const COMMAND_LIFETIME_SECONDS = 30;
const KEY_HEX = /^[0-9a-f]{64}$/;

function base64url(data: Buffer): string {
  return data.toString("base64url");
}

/** The HMAC-SHA256 of the payload string's ASCII bytes under the 32-byte key, as base64url. */
export function signPayload(keyHex: string, payload: string): string {
  if (!KEY_HEX.test(keyHex)) throw new Error("a worker key is 64 lowercase hex characters");
  return base64url(createHmac("sha256", Buffer.from(keyHex, "hex")).update(payload, "ascii").digest());
}

/** A signed command for one worker, fresh for COMMAND_LIFETIME_SECONDS from `now` (unix seconds). */
export function signCommand<C extends AgentCommand>(keyHex: string, worker: string, command: C, args: AgentArgs[C], now = Math.floor(Date.now() / 1000)): SignedEnvelope {
  const body: AgentPayload<C> = { v: 1, worker, command, args, nonce: randomBytes(16).toString("hex"), issuedAt: now, expiresAt: now + COMMAND_LIFETIME_SECONDS };
  const payload = base64url(Buffer.from(JSON.stringify(body), "utf8"));
  return { payload, signature: signPayload(keyHex, payload) };
}

export interface SendOptions {
  /** Milliseconds before the request is given up (default 30 s; a restart can take longer). */
  readonly timeoutMs?: number;
  readonly now?: number;
}

/** Signs and sends one command to an agent (http://<worker address>:7081); never throws for a refusal, only when the agent cannot be reached. */
export async function sendCommand<C extends AgentCommand, T = unknown>(agentUrl: string, keyHex: string, worker: string, command: C, args: AgentArgs[C], opts: SendOptions = {}): Promise<AgentReply<T>> {
  const envelope = signCommand(keyHex, worker, command, args, opts.now);
  const res = await fetch(new URL("/v1/command", agentUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(envelope),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let body: T | Refusal;
  try {
    body = JSON.parse(text) as T | Refusal;
  } catch {
    body = { error: `the agent answered ${res.status} without JSON` };
  }
  return { status: res.status, body };
}

/** Whether an agent's answer is a refusal ({"error": …}) rather than the command's result. */
export function isRefusal<T>(body: T | Refusal): body is Refusal {
  return typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string";
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Poll every this many milliseconds (default 1 s). */
  readonly everyMs?: number;
}

/** Polls `job` until the job ends; throws when the agent refuses or the time is up. */
export async function waitForJob(agentUrl: string, keyHex: string, worker: string, id: string, opts: WaitOptions = {}): Promise<AgentJob> {
  const until = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const { body } = await sendCommand<"job", { job: AgentJob }>(agentUrl, keyHex, worker, "job", { id });
    if (isRefusal(body)) throw new Error(`job ${id} on ${worker}: ${body.error}`);
    const job = body.job;
    if (job.state !== "running") return job;
    if (Date.now() > until) throw new Error(`job ${id} on ${worker} still running after ${Math.round((opts.timeoutMs ?? 600_000) / 1000)}s`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 1000));
  }
}

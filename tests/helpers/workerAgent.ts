import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerEnv } from "../lab/engine";
import { ROOT } from "./stacks";

export const AGENT_SCRIPT = join(ROOT, "templates/worker/worker-agent.py");
const AGENT_PORT = 7081;
// Debian's python3, as on a worker; pyenv's shim elsewhere on PATH is not what a worker has.
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** A real worker agent in a network namespace of its own, reached over a veth from this (the "master's") namespace. */
export interface WorkerAgent {
  /** http://<worker address>:7081 */
  readonly url: string;
  /** The worker's key: 64 lowercase hex. */
  readonly key: string;
  readonly worker: string;
  /** The worker's address, inside the namespace. */
  readonly address: string;
  /** The address the agent takes commands from: this namespace's primary address on the veth. */
  readonly masterAddress: string;
  /** A second address on this side of the veth, which is not the master's (bind a client to it to be refused). */
  readonly otherAddress: string;
  readonly namespace: string;
  /** The agent's own folder: agent.json, key, state/. */
  readonly dir: string;
  readonly stateDir: string;
  /** What the agent wrote to stderr (its journal) so far, over every start. */
  journal(): string;
  /** Stops the agent and starts it again with the same settings and state. */
  restart(): Promise<void>;
  /** Kills the agent and deletes the namespace, the veth and the folder; safe to call twice or after a failed start. */
  stop(): Promise<void>;
}

export interface WorkerAgentOptions {
  readonly worker?: string;
  readonly projectsDir?: string;
  readonly backupConfigDir?: string;
  /** Where backup.sh and drill.sh are: the checkout's templates/worker by default. */
  readonly toolsDir?: string;
  /** More environment for the agent and what it runs (the lab's docker settings are always there). */
  readonly env?: NodeJS.ProcessEnv;
}

let agentsInProcess = 0;

function ip(args: readonly string[], allowFail = false): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr}`);
}

/** A /24 of 10.199.0.0/16 that no interface on this machine uses yet. */
function freeSubnet(): string {
  const used = spawnSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" }).stdout;
  for (let tries = 0; tries < 50; tries++) {
    const n = 1 + (randomBytes(1)[0]! % 254);
    if (!used.includes(`10.199.${n}.`)) return `10.199.${n}`;
  }
  throw new Error("no free /24 in 10.199.0.0/16 for a worker agent");
}

export async function startWorkerAgent(opts: WorkerAgentOptions = {}): Promise<WorkerAgent> {
  if (process.getuid?.() !== 0) throw new Error("the worker agent's namespace needs root");
  const tag = `sfag${process.pid.toString(36)}${(++agentsInProcess).toString(36)}`;
  const namespace = tag;
  const [outer, inner] = [`${tag}m`, `${tag}w`];
  const subnet = freeSubnet();
  const [masterAddress, address, otherAddress] = [`${subnet}.1`, `${subnet}.2`, `${subnet}.3`];
  const worker = opts.worker ?? "w1";
  const key = randomBytes(32).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "supafleet-agent-"));
  const stateDir = join(dir, "state");
  let child: ChildProcess | undefined;
  let journal = "";
  let stopped = false;

  const teardown = (): void => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    ip(["link", "del", outer], true);
    ip(["netns", "del", namespace], true);
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies without its afterAll still takes the namespace and veth with it.
  process.once("exit", teardown);

  const launch = async (): Promise<void> => {
    const p = spawn("ip", ["netns", "exec", namespace, PYTHON, AGENT_SCRIPT, join(dir, "agent.json")], {
      env: dockerEnv({ ...process.env, ...opts.env }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = p;
    p.stderr!.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      p.stderr!.on("data", (d: string) => {
        journal += d;
        if (journal.includes("listening on")) resolve();
      });
      p.once("exit", (code) => reject(new Error(`the worker agent exited with ${code}:\n${journal}`)));
    });
  };

  const stopAgent = async (): Promise<void> => {
    const p = child;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    await exited;
  };

  try {
    ip(["netns", "add", namespace]);
    ip(["link", "add", outer, "type", "veth", "peer", "name", inner]);
    ip(["link", "set", inner, "netns", namespace]);
    ip(["addr", "add", `${masterAddress}/24`, "dev", outer]);
    ip(["addr", "add", `${otherAddress}/24`, "dev", outer]);
    ip(["link", "set", outer, "up"]);
    ip(["-n", namespace, "addr", "add", `${address}/24`, "dev", inner]);
    ip(["-n", namespace, "link", "set", inner, "up"]);
    ip(["-n", namespace, "link", "set", "lo", "up"]);
    mkdirSync(stateDir, { mode: 0o700 });
    const settings = {
      worker, address, port: AGENT_PORT, master: masterAddress, stateDir,
      projectsDir: opts.projectsDir ?? join(dir, "projects"),
      backupConfigDir: opts.backupConfigDir ?? join(dir, "backup"),
      toolsDir: opts.toolsDir ?? join(ROOT, "templates/worker"),
    };
    writeFileSync(join(dir, "agent.json"), JSON.stringify(settings, null, 2));
    writeFileSync(join(dir, "key"), `${key}\n`, { mode: 0o600 });
    await launch();
  } catch (e) {
    teardown();
    process.removeListener("exit", teardown);
    throw e;
  }

  return {
    url: `http://${address}:${AGENT_PORT}`,
    key, worker, address, masterAddress, otherAddress, namespace, dir, stateDir,
    journal: () => journal,
    restart: async () => {
      await stopAgent();
      await launch();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        await stopAgent();
      } finally {
        teardown();
        process.removeListener("exit", teardown);
      }
    },
  };
}

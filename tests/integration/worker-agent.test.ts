import { spawnSync } from "node:child_process";
import { createServer, request, type IncomingMessage } from "node:http";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendCommand, signCommand, signPayload, waitForJob, type AgentJob, type AgentStatus, type SignedEnvelope } from "../../templates/console/agentClient";
import { docker } from "../lab/engine";
import { BackupRig } from "../helpers/backupRig";
import { ROOT } from "../helpers/stacks";
import { AGENT_SCRIPT, startWorkerAgent, type WorkerAgent } from "../helpers/workerAgent";

/**
 * The worker agent (templates/worker/worker-agent.py), run for real in a network namespace of its own
 * and reached over a veth from this namespace (the master's address). It acts on the lab's engine: the
 * backup rig's database (backed up by the real backup.sh into a real restic repository) and two small
 * containers labelled as services of the project `agent-ops`, which the tests restart and read the logs of.
 */
// Its own name: other files label containers of their own "ops" project on the same engine at the same time.
const PROJECT = "agent-ops";
const rig = new BackupRig("bk-agent", 37);
let agent: WorkerAgent;
const service = (name: string): string => `bk-agent-${name}`;

function startedAt(name: string): string {
  return docker(["inspect", "-f", "{{.State.StartedAt}}", service(name)]).stdout.trim();
}

/** Every envelope the tests posted: none of them may show in the agent's journal. */
const sent: SignedEnvelope[] = [];

/** A raw POST to the agent, from `localAddress` if given (the master's address otherwise: this side's primary). */
function post(body: string, localAddress?: string): Promise<{ status: number; body: { error?: string } & Record<string, unknown> }> {
  const envelope = JSON.parse(body) as Partial<SignedEnvelope>;
  if (typeof envelope.signature === "string" && typeof envelope.payload === "string") sent.push(envelope as SignedEnvelope);
  return new Promise((resolve, reject) => {
    const req = request(`${agent.url}/v1/command`, { method: "POST", localAddress, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** An envelope for any payload at all, signed with the worker's key (for what signCommand's types do not allow). */
function signed(payload: Record<string, unknown>): SignedEnvelope {
  const now = Math.floor(Date.now() / 1000);
  const full = { v: 1, worker: agent.worker, nonce: randomBytes(16).toString("hex"), issuedAt: now, expiresAt: now + 30, args: {}, ...payload };
  const encoded = Buffer.from(JSON.stringify(full)).toString("base64url");
  return { payload: encoded, signature: signPayload(agent.key, encoded) };
}

const restartRest = (now?: number): SignedEnvelope => signCommand(agent.key, agent.worker, "restart", { project: PROJECT, service: "rest" }, now);

beforeAll(async () => {
  await rig.start();
  rig.reset();
  const projects = join(rig.work, "projects");
  const backupConfig = join(rig.work, "backup-config");
  mkdirSync(join(projects, PROJECT, "releases", "current"), { recursive: true });
  mkdirSync(backupConfig);
  mkdirSync(join(rig.work, "state"));
  copyFileSync(rig.settings(), join(backupConfig, `${PROJECT}.env`));
  // Two services of the project: each prints 300 lines, then (once the engine has logged those) one to stderr,
  // and waits, stopping at once on SIGTERM.
  for (const name of ["rest", "meta"]) {
    docker(["rm", "-f", service(name)], { allowFail: true });
    docker(["run", "-d", "--name", service(name), "--label", `com.docker.compose.project=${PROJECT}`, "--label", `com.docker.compose.service=${name}`,
      "supafleet-lab/base", "sh", "-c", `trap 'exit 0' TERM; seq -f '${name} line %g' 1 300; sleep 0.3; echo '${name} to stderr' >&2; sleep infinity & wait`]);
  }
  agent = await startWorkerAgent({ projectsDir: projects, backupConfigDir: backupConfig, env: rig.env({ SUPAFLEET_STATE_DIR: join(rig.work, "state") }) });
});

afterAll(async () => {
  await agent?.stop();
  docker(["rm", "-f", service("rest"), service("meta")], { allowFail: true });
  await rig.stop();
});

describe("the worker agent refuses, and runs nothing", () => {
  it("a request from an address other than the master's: 403", async () => {
    const before = startedAt("rest");
    const r = await post(JSON.stringify(restartRest()), agent.otherAddress);
    expect(r.status).toBe(403);
    expect(r.body.error).toBe(`${agent.otherAddress} is not the master; this agent answers ${agent.masterAddress} alone`);
    expect(startedAt("rest")).toBe(before);
  });

  it("an unsigned command: 401", async () => {
    const before = startedAt("rest");
    const r = await post(JSON.stringify({ payload: restartRest().payload }));
    expect(r).toEqual({ status: 401, body: { error: "the command is not signed" } });
    expect(startedAt("rest")).toBe(before);
  });

  it("a command whose signature is wrong (signed with another key): 401", async () => {
    const before = startedAt("rest");
    const other = signCommand(randomBytes(32).toString("hex"), agent.worker, "restart", { project: PROJECT, service: "rest" });
    const r = await post(JSON.stringify(other));
    expect(r).toEqual({ status: 401, body: { error: "the signature is wrong" } });
    expect(startedAt("rest")).toBe(before);
  });

  it("an expired command, and one issued for another worker: 401", async () => {
    const before = startedAt("rest");
    const expired = await post(JSON.stringify(restartRest(Math.floor(Date.now() / 1000) - 120)));
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatch(/^the command expired \d+s ago$/);
    const elsewhere = await sendCommand(agent.url, agent.key, "w2", "restart", { project: PROJECT, service: "rest" });
    expect(elsewhere).toEqual({ status: 401, body: { error: `the command is for worker w2, and this is ${agent.worker}` } });
    expect(startedAt("rest")).toBe(before);
  });

  it("an unknown command, and a known one with bad args: 400", async () => {
    const r = await post(JSON.stringify(signed({ command: "shell", args: { cmd: "touch /tmp/owned" } })));
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("unknown command 'shell'; this agent takes status, restart, logs, backup-now, drill-now, job");
    const before = startedAt("rest");
    const bad = await post(JSON.stringify(signed({ command: "restart", args: { project: PROJECT, service: "rest; reboot" } })));
    expect(bad).toEqual({ status: 400, body: { error: "bad args: service must be a name of lowercase letters, digits and dashes" } });
    expect(startedAt("rest")).toBe(before);
  });

  it("a replayed command: 409, also after the agent restarts", async () => {
    const envelope = restartRest();
    const first = await post(JSON.stringify(envelope));
    expect(first).toEqual({ status: 200, body: { ok: true } });
    const after = startedAt("rest");
    const replay = await post(JSON.stringify(envelope));
    expect(replay).toEqual({ status: 409, body: { error: "this command was sent before (its nonce is spent): a replay is refused" } });
    await agent.restart();
    const replayAfterRestart = await post(JSON.stringify(envelope));
    expect(replayAfterRestart.status).toBe(409);
    expect(startedAt("rest")).toBe(after);
  });

  it("a project not deployed here, or a service it does not have: 404", async () => {
    const before = startedAt("rest");
    expect(await sendCommand(agent.url, agent.key, agent.worker, "restart", { project: "other" })).toEqual({
      status: 404, body: { error: `project other is not deployed on worker ${agent.worker}` },
    });
    expect(await sendCommand(agent.url, agent.key, agent.worker, "restart", { project: PROJECT, service: "kong" })).toEqual({
      status: 404, body: { error: `project ${PROJECT} has no container of service kong` },
    });
    expect(startedAt("rest")).toBe(before);
  });

  it("keeps neither the key nor a signature in its journal", () => {
    const journal = agent.journal();
    expect(journal).toMatch(new RegExp(`peer=${agent.otherAddress.replace(/\./g, "\\.")} command=- project=- status=403 ${agent.otherAddress} is not the master`));
    expect(journal).not.toContain(agent.key);
    expect(sent.length).toBeGreaterThan(5);
    for (const e of sent) {
      expect(journal).not.toContain(e.signature);
      expect(journal).not.toContain(e.payload);
    }
  });
});

describe("the worker agent's commands", () => {
  it("backup-now: a job that takes a snapshot tagged manual, whose dump restores the row just written; one job per project at a time", async () => {
    const row = `agent-row-${randomBytes(4).toString("hex")}`;
    rig.db.psql(`insert into public.clientes (nombre) values ('${row}');`, "projectdb");
    const started = await sendCommand<"backup-now", { job: AgentJob }>(agent.url, agent.key, agent.worker, "backup-now", { project: PROJECT });
    expect(started.status).toBe(202);
    const job = (started.body as { job: AgentJob }).job;
    expect(job).toMatchObject({ command: "backup-now", project: PROJECT, state: "running" });
    const second = await sendCommand(agent.url, agent.key, agent.worker, "restart", { project: PROJECT });
    expect(second).toEqual({ status: 409, body: { error: `a job of project ${PROJECT} is already running` } });

    const ended = await waitForJob(agent.url, agent.key, agent.worker, job.id, { timeoutMs: 120_000, everyMs: 500 });
    expect(ended).toMatchObject({ id: job.id, state: "succeeded", exitCode: 0 });
    expect(ended.output.join("\n")).toMatch(/manual snapshot of ops: [0-9a-f]{8}/);
    const manual = rig.snapshots("database").filter((s) => s.tags.includes("manual"));
    expect(manual).toHaveLength(1);
    const restored = await rig.script("restore.sh", [join(rig.work, "backup-config", `${PROJECT}.env`), "--target", "agent_check", "--snapshot", manual[0]!.id]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(rig.db.psql(`select count(*) from public.clientes where nombre = '${row}';`, "agent_check")).toMatch(/^\s+count\s*\n-+\n\s+1\n/);
  });

  it("drill-now: a job that restores the latest snapshot into a scratch database and records its figures", async () => {
    const started = await sendCommand<"drill-now", { job: AgentJob }>(agent.url, agent.key, agent.worker, "drill-now", { project: PROJECT });
    expect(started.status).toBe(202);
    const ended = await waitForJob(agent.url, agent.key, agent.worker, (started.body as { job: AgentJob }).job.id, { timeoutMs: 120_000, everyMs: 500 });
    expect(ended, ended.output.join("\n")).toMatchObject({ command: "drill-now", state: "succeeded", exitCode: 0 });
    expect(ended.output.at(-1)).toMatch(/^drill\(ops\): restored snapshot \w+ \(taken [^)]+\) into supafleet_drill: 2 tables match the recorded figures; RPO \d+ min, RTO \d+s$/);
  });

  it("status: the project, its services and its backups (the manual snapshot and the drill among them)", async () => {
    const r = await sendCommand<"status", AgentStatus>(agent.url, agent.key, agent.worker, "status", {});
    expect(r.status).toBe(200);
    const status = r.body as AgentStatus;
    expect(status.worker).toBe(agent.worker);
    expect(status.projects.map((p) => p.name)).toEqual([PROJECT]);
    const [ops] = status.projects;
    expect(ops!.services).toEqual([
      { service: "meta", container: service("meta"), state: "running", health: "none" },
      { service: "rest", container: service("rest"), state: "running", health: "none" },
    ]);
    const backup = ops!.backup as {
      project: string; snapshots: Record<string, { id: string; labels: string[]; at: number }>; lastRun: unknown; copy: unknown; wal: unknown;
      drill: { ok: boolean; at: number; rpoMinutes: number; rtoSeconds: number; message: string; pointInTime: unknown };
    };
    // backup.sh names the project its settings name: the rig's.
    expect(backup.project).toBe("ops");
    expect(Object.keys(backup.snapshots).sort()).toEqual(["database", "roles"]);
    expect(backup.snapshots.database!.labels).toEqual(["manual"]);
    expect(Math.abs(backup.snapshots.database!.at - Date.now() / 1000)).toBeLessThan(300);
    expect(backup.drill).toMatchObject({ ok: true, rpoMinutes: expect.any(Number), rtoSeconds: expect.any(Number), pointInTime: null });
    const [, rpo, rto] = backup.drill.message.match(/^restored snapshot \w+ .*; RPO (\d+) min, RTO (\d+)s$/) ?? [];
    expect([backup.drill.rpoMinutes, backup.drill.rtoSeconds]).toEqual([Number(rpo), Number(rto)]);
    // No nightly run, second copy or WAL archive in this project yet.
    expect([backup.lastRun, backup.copy, backup.wal]).toEqual([null, null, null]);
  });

  it("status lists the repository once: with it out of reach the answer is the same, until an outcome is recorded", async () => {
    const status = async (): Promise<unknown> => ((await sendCommand<"status", AgentStatus>(agent.url, agent.key, agent.worker, "status", {})).body as AgentStatus).projects[0]!.backup;
    const before = await status();
    const away = `${rig.repo}.away`;
    renameSync(rig.repo, away);
    try {
      expect(await status()).toEqual(before);
      // A newer outcome (here the drill's) makes the next status list the repository again.
      const drill = join(rig.work, "state", "backup", "ops", "last-drill.json");
      utimesSync(drill, new Date(), new Date(Date.now() + 2000));
      expect(await status()).toMatchObject({ error: expect.stringMatching(/cannot list snapshots/) });
    } finally {
      renameSync(away, rig.repo);
    }
    expect(await status()).toEqual(before);
  });

  it("logs: the service's last lines, stdout and stderr", async () => {
    const r = await sendCommand<"logs", { lines: string[] }>(agent.url, agent.key, agent.worker, "logs", { project: PROJECT, service: "meta", lines: 3 });
    expect(r).toEqual({ status: 200, body: { lines: ["meta line 299", "meta line 300", "meta to stderr"] } });
    const all = await sendCommand<"logs", { lines: string[] }>(agent.url, agent.key, agent.worker, "logs", { project: PROJECT, service: "meta" });
    expect((all.body as { lines: string[] }).lines).toHaveLength(200);
  });

  it("restart of one service restarts that container alone", async () => {
    const [rest, meta] = [startedAt("rest"), startedAt("meta")];
    const r = await sendCommand(agent.url, agent.key, agent.worker, "restart", { project: PROJECT, service: "rest" });
    expect(r).toEqual({ status: 200, body: { ok: true } });
    expect(startedAt("rest")).not.toBe(rest);
    expect(startedAt("meta")).toBe(meta);
  });
});

/**
 * The health agent's report to the console (REPORT_URL), sent by the real health-agent.sh about the project's real
 * containers to a listener standing in for the console. There is no wg0 on this machine: that problem is in every
 * report, the worker's own, in no project's.
 */
describe("the health agent's report", () => {
  const received: { path: string; type: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body });
      res.end("ok");
    });
  });
  let base = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function report(): Promise<Record<string, unknown>> {
    const conf = join(rig.work, "health-agent.env");
    writeFileSync(conf, [`PUSH_URL='${base}/push/token'`, `REPORT_URL='${base}/api/reports'`, "WORKER=w1", `PROJECTS_DIR='${join(rig.work, "projects")}'`,
      `STATE_DIR='${join(rig.work, "health")}'`, "DISK_PATH=/"].join("\n"));
    received.length = 0;
    // Not spawnSync: the listener answers from this process's event loop.
    const r = await rig.script("health-agent.sh", [conf]);
    expect(r.status, r.stderr).toBe(0);
    const sent = received.find((x) => x.path === "/api/reports");
    expect(sent?.type).toBe("application/json");
    return JSON.parse(sent!.body) as Record<string, unknown>;
  }

  it("says each project's problems apart from the worker's, with disk and memory figures", async () => {
    const healthy = await report();
    expect(healthy).toEqual({
      worker: "w1", at: expect.any(Number), interval: 60, ok: false, problems: ["WireGuard interface wg0 is down"],
      projects: { [PROJECT]: { ok: true, problems: [] } }, disk: { usedPct: expect.any(Number) }, memory: { availablePct: expect.any(Number) },
    });
    expect(Math.abs((healthy.at as number) - Date.now() / 1000)).toBeLessThan(30);
    docker(["stop", "-t", "1", service("meta")]);
    try {
      const stopped = await report();
      expect(stopped).toMatchObject({ ok: false, problems: [`${service("meta")} exited`, "WireGuard interface wg0 is down"], projects: { [PROJECT]: { ok: false, problems: [`${service("meta")} exited`] } } });
    } finally {
      docker(["start", service("meta")]);
    }
  });

  it("a console that cannot be reached is said, and the run goes on to push to Kuma", async () => {
    const conf = join(rig.work, "health-agent-unreachable.env");
    writeFileSync(conf, [`PUSH_URL='${base}/push/token'`, "REPORT_URL='http://127.0.0.1:9/api/reports'", "WORKER=w1", `PROJECTS_DIR='${join(rig.work, "projects")}'`,
      `STATE_DIR='${join(rig.work, "health")}'`, "DISK_PATH=/"].join("\n"));
    received.length = 0;
    const r = await rig.script("health-agent.sh", [conf]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("health-agent: could not send the report to http://127.0.0.1:9/api/reports");
    expect(received.map((x) => x.path)).toEqual([expect.stringMatching(/^\/push\/token\?status=down&msg=/)]);
  });
});

describe("the worker agent's start", () => {
  const dir = mkdtempSync(join(tmpdir(), "supafleet-agent-start-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const settings = { worker: "w1", address: "127.0.0.1", port: 17081, master: "127.0.0.1", stateDir: join(dir, "state") };

  /** Starts the agent with these settings and key file (none when undefined); it must exit at once. */
  function start(agentJson: string, key?: { text: string; mode: number }): { status: number | null; stderr: string } {
    writeFileSync(join(dir, "agent.json"), agentJson);
    rmSync(join(dir, "key"), { force: true });
    if (key !== undefined) writeFileSync(join(dir, "key"), key.text, { mode: key.mode });
    const r = spawnSync("/usr/bin/python3", [AGENT_SCRIPT, join(dir, "agent.json")], { encoding: "utf8", timeout: 10_000 });
    return { status: r.status, stderr: r.stderr };
  }

  it("exits non-zero, saying what is wrong, when its settings or key are missing or malformed", () => {
    const good = { text: `${"ab".repeat(32)}\n`, mode: 0o600 };
    const cases: [string, { text: string; mode: number } | undefined, string][] = [
      ["{", good, `worker-agent: the settings ${join(dir, "agent.json")} are not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)\n`],
      [JSON.stringify({ ...settings, worker: "W 1", master: "hub", extra: 1 }), good,
        `worker-agent: ${join(dir, "agent.json")}: "worker" must be a worker name such as w1; "master" must be an IPv4 address; unknown settings: extra\n`],
      [JSON.stringify(settings), undefined, `worker-agent: cannot read the key ${join(dir, "key")}: No such file or directory\n`],
      [JSON.stringify(settings), { text: "ab".repeat(31), mode: 0o600 }, `worker-agent: the key ${join(dir, "key")} must be 64 lowercase hex characters (32 bytes)\n`],
      [JSON.stringify(settings), { text: "AB".repeat(32), mode: 0o600 }, `worker-agent: the key ${join(dir, "key")} must be 64 lowercase hex characters (32 bytes)\n`],
      [JSON.stringify(settings), { ...good, mode: 0o644 }, `worker-agent: the key ${join(dir, "key")} is readable by others (mode 0644); it must be 0600\n`],
    ];
    for (const [agentJson, key, message] of cases) expect(start(agentJson, key)).toEqual({ status: 1, stderr: message });
  });

  it("has a systemd unit that systemd reads with no finding", () => {
    const units = join(dir, "system");
    mkdirSync(units);
    copyFileSync(join(ROOT, "templates/worker/systemd/supafleet-agent.service"), join(units, "supafleet-agent.service"));
    const r = spawnSync("systemd-analyze", ["verify", "supafleet-agent.service"], { encoding: "utf8", env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` } });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
    expect(r.status).toBe(0);
  });
});

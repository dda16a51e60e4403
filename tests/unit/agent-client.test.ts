import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COMMAND_LIFETIME_SECONDS, isRefusal, sendCommand, signCommand, signPayload, waitForJob, type AgentJob, type AgentPayload, type SignedEnvelope,
} from "../../templates/console/agentClient";
import { AGENT_SCRIPT } from "../helpers/workerAgent";

const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const decode = (e: SignedEnvelope): AgentPayload => JSON.parse(Buffer.from(e.payload, "base64url").toString("utf8")) as AgentPayload;
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A signed command of any shape the console can send (a service name of any text tests the JSON's encoding, not the agent's args rules). */
const signedArb = fc.record({
  key: keyArb,
  worker: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  project: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  service: fc.string({ unit: "grapheme", maxLength: 20 }),
  now: fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
}).map(({ key, worker, project, service, now }) => ({ key, envelope: signCommand(key, worker, "restart", { project, service }, now), worker, project, service, now }));

/** The envelope with one character of its payload or its signature changed to another base64url character. */
const flippedArb = fc.tuple(signedArb, fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 63 })).map(([s, inPayload, at, shift]) => {
  const field = inPayload ? "payload" : "signature";
  const text = s.envelope[field];
  const i = at % text.length;
  const changed = B64URL[(B64URL.indexOf(text[i]!) + shift) % 64]!;
  return { ...s, flipped: { ...s.envelope, [field]: text.slice(0, i) + changed + text.slice(i + 1) } as SignedEnvelope };
});

/** As the agent checks: the signature's text against the digest's one base64url spelling (decoders ignore the last character's spare bits). */
const verifiesInNode = (key: string, e: SignedEnvelope): boolean =>
  createHmac("sha256", Buffer.from(key, "hex")).update(e.payload, "ascii").digest("base64url") === e.signature;

/**
 * The agent's own checks (verify_signature, then parse_payload) over many cases in one python3 run:
 * "ok <worker> <command> <args as JSON>" for each accepted envelope, "<status> <sentence>" for each refused one.
 */
function agentVerdicts(cases: { key: string; envelope: SignedEnvelope }[]): string[] {
  const program = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("agent", sys.argv[1])
agent = importlib.util.module_from_spec(spec); spec.loader.exec_module(agent)
for case in json.load(sys.stdin):
    try:
        agent.verify_signature(bytes.fromhex(case["key"]), case["payload"], case["signature"])
        c = agent.parse_payload(case["payload"])
        print("ok", c["worker"], c["command"], json.dumps(c["args"], sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    except agent.Refusal as r:
        print(r.status, r.message)
`;
  const input = JSON.stringify(cases.map((c) => ({ key: c.key, ...c.envelope })));
  const r = spawnSync(PYTHON, ["-c", program, AGENT_SCRIPT], { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout.trimEnd().split("\n");
}

const sortedJson = (v: Record<string, unknown>): string => JSON.stringify(Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))));

describe("signCommand", () => {
  it("gives a version 1 payload for one worker, with a fresh 32-hex nonce, living COMMAND_LIFETIME_SECONDS (at most the agent's 60)", () => {
    const key = randomBytes(32).toString("hex");
    const a = signCommand(key, "w3", "backup-now", { project: "acme" }, 1_800_000_000);
    const b = signCommand(key, "w3", "backup-now", { project: "acme" }, 1_800_000_000);
    const payload = decode(a);
    expect(payload).toEqual({ v: 1, worker: "w3", command: "backup-now", args: { project: "acme" }, nonce: expect.stringMatching(/^[0-9a-f]{32}$/), issuedAt: 1_800_000_000, expiresAt: 1_800_000_000 + COMMAND_LIFETIME_SECONDS });
    expect(COMMAND_LIFETIME_SECONDS).toBeLessThanOrEqual(60);
    expect(decode(b).nonce).not.toBe(payload.nonce);
    expect(a.payload).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a.signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a key that is not 64 lowercase hex characters", () => {
    for (const key of ["", "ab".repeat(31), "AB".repeat(32), `${"0".repeat(63)}g`]) expect(() => signPayload(key, "x")).toThrow("a worker key is 64 lowercase hex characters");
  });

  it("signs so that the exact payload verifies, and a change of any one character of payload or signature does not (node's crypto)", () => {
    fc.assert(fc.property(flippedArb, ({ key, envelope, flipped }) => verifiesInNode(key, envelope) && !verifiesInNode(key, flipped)), { numRuns: 300 });
  });

  it("agrees with the agent's own verification: it takes each exact command as signed, and refuses each with one character changed (401)", () => {
    const cases = fc.sample(flippedArb, 300);
    const verdicts = agentVerdicts(cases.flatMap((c) => [{ key: c.key, envelope: c.envelope }, { key: c.key, envelope: c.flipped }]));
    expect(verdicts).toHaveLength(600);
    cases.forEach((c, i) => {
      expect(verdicts[2 * i]).toBe(`ok ${c.worker} restart ${sortedJson({ project: c.project, service: c.service })}`);
      expect(verdicts[2 * i + 1]).toBe("401 the signature is wrong");
    });
  });
});

/**
 * sendCommand and waitForJob against the real agent on loopback (no namespace: the master is 127.0.0.1),
 * whose backup.sh and drill.sh are stand-ins in a folder of the test's: one prints 120 lines and
 * succeeds, the other waits for a file and fails.
 */
describe("sendCommand and waitForJob, against the real agent", () => {
  const [EXPIRED_NONCE, LIVE_NONCE] = ["e".repeat(32), "1".repeat(32)];
  const dir = mkdtempSync(join(tmpdir(), "supafleet-agent-client-"));
  const key = randomBytes(32).toString("hex");
  let url = "";
  let agent: ChildProcess | undefined;

  beforeAll(async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    for (const d of ["tools", "backup", "state", "projects/acme/releases/current"]) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, "backup", "acme.env"), "PROJECT=acme\n", { mode: 0o600 });
    writeFileSync(join(dir, "tools", "backup.sh"), 'for i in $(seq 1 120); do echo "backup line $i"; done\n');
    writeFileSync(join(dir, "tools", "drill.sh"), `while [ ! -e "${dir}/go" ]; do sleep 0.05; done; echo "drill: no snapshot" >&2; exit 3\n`);
    writeFileSync(join(dir, "agent.json"), JSON.stringify({
      worker: "w1", address: "127.0.0.1", port, master: "127.0.0.1",
      projectsDir: join(dir, "projects"), backupConfigDir: join(dir, "backup"), toolsDir: join(dir, "tools"), stateDir: join(dir, "state"),
    }));
    writeFileSync(join(dir, "key"), key, { mode: 0o600 });
    // What an earlier run of the agent left: one nonce long expired, one still live.
    writeFileSync(join(dir, "state", "nonces.json"), JSON.stringify({ [EXPIRED_NONCE]: 1_600_000_000, [LIVE_NONCE]: Math.floor(Date.now() / 1000) + 600 }));
    const p = spawn(PYTHON, [AGENT_SCRIPT, join(dir, "agent.json")], { stdio: ["ignore", "ignore", "pipe"] });
    agent = p;
    await new Promise<void>((resolve, reject) => {
      let err = "";
      p.stderr!.on("data", (d: Buffer) => ((err += d.toString()).includes("listening on") ? resolve() : undefined));
      p.once("exit", (code) => reject(new Error(`the agent exited with ${code}: ${err}`)));
    });
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(() => {
    agent?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("a job that succeeds: 202 at once, then its end, exit code and last 50 lines", async () => {
    const r = await sendCommand<"backup-now", { job: AgentJob }>(url, key, "w1", "backup-now", { project: "acme" });
    expect(r.status).toBe(202);
    if (isRefusal(r.body)) throw new Error(r.body.error);
    const job = await waitForJob(url, key, "w1", r.body.job.id, { everyMs: 20, timeoutMs: 10_000 });
    expect(job).toMatchObject({ id: r.body.job.id, command: "backup-now", project: "acme", state: "succeeded", exitCode: 0 });
    expect(job.output).toEqual(Array.from({ length: 50 }, (_, i) => `backup line ${71 + i}`));
    expect(job.endedAt! - job.startedAt).toBeGreaterThanOrEqual(0);
  });

  it("a job that fails, and one project's second job refused while the first runs (409)", async () => {
    rmSync(join(dir, "go"), { force: true });
    const r = await sendCommand<"drill-now", { job: AgentJob }>(url, key, "w1", "drill-now", { project: "acme" });
    if (isRefusal(r.body)) throw new Error(r.body.error);
    const second = await sendCommand(url, key, "w1", "backup-now", { project: "acme" });
    expect(second).toEqual({ status: 409, body: { error: "a job of project acme is already running" } });
    await expect(waitForJob(url, key, "w1", r.body.job.id, { everyMs: 20, timeoutMs: 200 })).rejects.toThrow(`job ${r.body.job.id} on w1 still running after 0s`);
    writeFileSync(join(dir, "go"), "");
    const job = await waitForJob(url, key, "w1", r.body.job.id, { everyMs: 20, timeoutMs: 10_000 });
    expect(job).toMatchObject({ state: "failed", exitCode: 3, output: ["drill: no snapshot"] });
  });

  it("keeps the nonces it has seen on disk until they expire: an earlier run's live one is refused, its expired one pruned", async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(JSON.stringify({ v: 1, worker: "w1", command: "status", args: {}, nonce: LIVE_NONCE, issuedAt: now, expiresAt: now + 30 })).toString("base64url");
    const res = await fetch(`${url}/v1/command`, { method: "POST", body: JSON.stringify({ payload, signature: signPayload(key, payload) }) });
    expect(res.status).toBe(409);
    const sent = signCommand(key, "w1", "status", {});
    expect((await fetch(`${url}/v1/command`, { method: "POST", body: JSON.stringify(sent) })).status).toBe(200);
    const kept = JSON.parse(readFileSync(join(dir, "state", "nonces.json"), "utf8")) as Record<string, number>;
    expect(Object.keys(kept)).not.toContain(EXPIRED_NONCE);
    expect(kept).toMatchObject({ [LIVE_NONCE]: expect.any(Number), [decode(sent).nonce]: decode(sent).expiresAt });
  });

  it("waitForJob says the agent's refusal; sendCommand gives it as the body", async () => {
    const id = "0".repeat(32);
    await expect(waitForJob(url, key, "w1", id)).rejects.toThrow(`job ${id} on w1: no job ${id} on worker w1 (jobs are forgotten when the agent restarts)`);
    expect(await sendCommand(url, randomBytes(32).toString("hex"), "w1", "status", {})).toEqual({ status: 401, body: { error: "the signature is wrong" } });
  });
});

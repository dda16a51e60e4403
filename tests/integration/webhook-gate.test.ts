import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateConfig } from "../../src/automation/webhookGate";
import { TRMM_WEBHOOK_PATH } from "../../src/automation/webhookGate";
import { PingListener } from "../helpers/hcListener";

/** A free loopback port. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A request from a chosen loopback source address, as another mesh peer would send it. */
function send(port: number, method: string, path: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, localAddress: from, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(method === "POST" ? '{"event_id":"1"}' : undefined);
  });
}

// The rendered gate config, run by a real Caddy (Debian's), in front of a stand-in n8n.
describe("n8n's webhook gate on the mesh (real Caddy)", () => {
  const n8n = new PingListener();
  let proc: ChildProcess | undefined;
  let dir = "";
  let port = 0;

  beforeAll(async () => {
    if (spawnSync("caddy", ["version"]).status !== 0) throw new Error("caddy is not installed; run: bash scripts/install-test-deps.sh");
    await n8n.start();
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "supafleet-gate-"));
    // The TRMM node is 127.0.0.2 here; everything else on loopback is "another peer".
    const config = gateConfig({ listen: `127.0.0.1:${port}`, routes: [{ source: "127.0.0.2", paths: [TRMM_WEBHOOK_PATH] }] }, `127.0.0.1:${n8n.port}`);
    writeFileSync(join(dir, "gate.json"), JSON.stringify(config));
    proc = spawn("caddy", ["run", "--config", join(dir, "gate.json")], { env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }, stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (await send(port, "GET", "/", "127.0.0.1").then(() => true, () => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("Caddy did not start with the rendered gate config");
  }, 30_000);

  afterAll(async () => {
    proc?.kill("SIGKILL");
    await n8n.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets the TRMM node POST to its webhook path, and nothing else through", async () => {
    expect(await send(port, "POST", TRMM_WEBHOOK_PATH, "127.0.0.2")).toBe(200);
    expect(n8n.received.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${TRMM_WEBHOOK_PATH}`]);
  });

  it("refuses the editor, the REST API, other webhooks, other methods and other peers, without reaching n8n", async () => {
    const before = n8n.received.length;
    const refused = [
      ["GET", "/", "127.0.0.2"],
      ["POST", "/rest/login", "127.0.0.2"],
      ["GET", TRMM_WEBHOOK_PATH, "127.0.0.2"],
      ["POST", "/webhook/other", "127.0.0.2"],
      ["POST", `${TRMM_WEBHOOK_PATH}/../../rest/login`, "127.0.0.2"],
      ["POST", TRMM_WEBHOOK_PATH, "127.0.0.3"],
      ["POST", TRMM_WEBHOOK_PATH, "127.0.0.1"],
    ] as const;
    for (const [method, path, from] of refused) expect(await send(port, method, path, from), `${method} ${path} from ${from}`).toBe(404);
    expect(n8n.received.length).toBe(before);
  });
});

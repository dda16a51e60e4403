import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateConfig, TRMM_WEBHOOK_PATH, WEBHOOK_SECRET_HEADER } from "../../src/automation/webhookGate";

const SECRET = "gateSecret0123456789abcdefABCDEF0123456789ab";

/** A free loopback port. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A request from a chosen loopback source address, as another mesh peer would send it. */
function send(port: number, method: string, path: string, from: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, localAddress: from, headers: { "content-type": "application/json", ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(method === "POST" ? '{"event_id":"1"}' : undefined);
  });
}

/** The stand-in n8n: records what reaches it, headers included. */
class Upstream {
  readonly received: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];
  private server: Server | undefined;
  port = 0;
  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      this.received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
      req.resume();
      req.on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"));
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.port = (this.server!.address() as { port: number }).port;
  }
  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

// The rendered gate config, run by a real Caddy (Debian's), in front of a stand-in n8n.
describe("n8n's webhook gate on the mesh (real Caddy)", () => {
  const n8n = new Upstream();
  let proc: ChildProcess | undefined;
  let dir = "";
  let port = 0;
  const secret = { [WEBHOOK_SECRET_HEADER]: SECRET };

  beforeAll(async () => {
    if (spawnSync("caddy", ["version"]).status !== 0) throw new Error("caddy is not installed; run: bash scripts/install-test-deps.sh");
    await n8n.start();
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "supafleet-gate-"));
    // The TRMM node is 127.0.0.2 here; everything else on loopback is "another peer".
    const config = gateConfig({ listen: `127.0.0.1:${port}`, routes: [{ source: "127.0.0.2", paths: [TRMM_WEBHOOK_PATH] }] }, SECRET, `127.0.0.1:${n8n.port}`);
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

  it("lets the TRMM node POST to its webhook path with the secret, and strips the secret on the way", async () => {
    expect(await send(port, "POST", TRMM_WEBHOOK_PATH, "127.0.0.2", { ...secret, "X-Trmm-Note": "kept" })).toBe(200);
    expect(n8n.received.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${TRMM_WEBHOOK_PATH}`]);
    const headers = n8n.received[0]!.headers;
    expect(headers[WEBHOOK_SECRET_HEADER.toLowerCase()]).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain(SECRET);
    // Only the secret goes: n8n learns who called (the TRMM node's address, for its allowlist), and the other headers.
    expect(headers["x-trmm-note"]).toBe("kept");
    expect(headers["x-forwarded-for"]).toBe("127.0.0.2");
    // A caller cannot claim another address: Caddy trusts no incoming X-Forwarded-For.
    expect(await send(port, "POST", TRMM_WEBHOOK_PATH, "127.0.0.2", { ...secret, "X-Forwarded-For": "10.9.9.9" })).toBe(200);
    expect(n8n.received[1]!.headers["x-forwarded-for"]).toBe("127.0.0.2");
  });

  it("answers 403 to the TRMM node without the secret, or with a wrong one, without reaching n8n", async () => {
    const before = n8n.received.length;
    const wrong: Record<string, string>[] = [
      {},
      { [WEBHOOK_SECRET_HEADER]: "" },
      { [WEBHOOK_SECRET_HEADER]: "wrong" },
      { [WEBHOOK_SECRET_HEADER]: SECRET.slice(0, -1) },
      { [WEBHOOK_SECRET_HEADER]: `${SECRET}x` },
      { [WEBHOOK_SECRET_HEADER]: SECRET.toUpperCase() },
      { [WEBHOOK_SECRET_HEADER]: "*" },
      { "X-Supafleet-Webhook-Secre": SECRET },
    ];
    for (const h of wrong) expect(await send(port, "POST", TRMM_WEBHOOK_PATH, "127.0.0.2", h), JSON.stringify(h)).toBe(403);
    expect(n8n.received.length).toBe(before);
  });

  it("refuses the editor, the REST API, other webhooks, other methods and other peers, secret or not, without reaching n8n", async () => {
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
    for (const [method, path, from] of refused) {
      for (const h of [{}, secret]) expect(await send(port, method, path, from, h), `${method} ${path} from ${from}`).toBe(404);
    }
    expect(n8n.received.length).toBe(before);
  });
});

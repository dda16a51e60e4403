import { request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsoleFleet } from "../../templates/console/fleet";
import { createConsole, type Console } from "../../templates/console/server";
import { TestAccess } from "../helpers/consoleAccess";

/**
 * The console's HTTP server, for real on loopback: Access's JWT checked against
 * a JWKS the test serves, health reports from the workers' own addresses
 * (127.0.0.2 and 127.0.0.3, which a client binds to), and actions sent to
 * agents that do not answer (a closed port), as when a worker is down.
 */
const W1 = "127.0.0.2";
const W2 = "127.0.0.3";
/** A port that was free a moment ago and that nothing listens on: the agents and Kuma are unreachable. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
let CLOSED_PORT: number;
const KEYS = { w1: "a1".repeat(32), w2: "b2".repeat(32) };
const HOSTILE = `<img src=x onerror="alert(1)">`;

const fleetWith = (closed: number): ConsoleFleet => ({
  env: "test",
  domain: "example.test",
  infraRelease: "2026.12.1",
  master: { name: "master", address: "127.0.0.1" },
  workers: [
    { name: "w1", address: W1, agentPort: closed, dedicated: false, monitors: ["w1 · WireGuard"] },
    { name: "w2", address: W2, agentPort: closed, dedicated: true, monitors: [] },
  ],
  tenants: [
    {
      slug: "acme",
      name: `Acme ${HOSTILE}`,
      projects: [
        { name: "acme-prod", worker: "w1", isolation: "shared", release: "2025.11", services: ["db", "rest"], backups: true, pitr: true, links: { api: "https://acme-prod.example.test", studio: "https://studio-acme-prod.example.test", monitors: [] } },
      ],
    },
    { slug: "globex", name: "Globex", projects: [{ name: "globex", worker: "w2", isolation: "dedicated", release: "2025.11", services: ["db"], backups: false, pitr: false, links: { api: "javascript:alert(1)", studio: "https://studio-globex.example.test", monitors: [] } }] },
  ],
  kuma: { url: `http://127.0.0.1:${closed}`, fleetStatusPage: "supafleet-fleet", dashboardUrl: "https://status.example.test" },
  access: { teamName: "supafleet-test", aud: "unused: the test's own settings apply" },
  reportIntervalSeconds: 60,
});

const access = new TestAccess();
const state = mkdtempSync(join(tmpdir(), "supafleet-console-"));
let app: Console;
let base: string;
let token: string;

interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

/** One request; `from` binds the client to a source address, as a worker's report comes from its own. */
function call(method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; from?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(`${base}${path}`, { method, headers: { ...(data ? { "content-type": "application/json" } : {}), ...opts.headers }, ...(opts.from ? { localAddress: opts.from } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body, json: () => JSON.parse(body) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(data);
  });
}
const signedIn = (): Record<string, string> => ({ "cf-access-jwt-assertion": token });
const report = (worker: string, ok: boolean, problems: string[] = []): Record<string, unknown> => ({
  worker,
  at: Math.floor(Date.now() / 1000),
  interval: 60,
  ok,
  problems,
  projects: { "acme-prod": { ok, problems } },
  disk: { usedPct: 41 },
  memory: { availablePct: 60 },
});

beforeAll(async () => {
  CLOSED_PORT = await closedPort();
  const fleet = fleetWith(CLOSED_PORT);
  await access.start();
  token = await access.token({ email: "ops@example.com" });
  app = createConsole({ inputs: { fleet, keys: KEYS }, stateDir: state, access: access.settings });
  await app.listen("127.0.0.1", 0);
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app?.close();
  await access.stop();
  rmSync(state, { recursive: true, force: true });
});

describe("the console's Access check", () => {
  it("refuses every page and API call without Access's JWT", async () => {
    for (const [method, path] of [["GET", "/"], ["GET", "/api/fleet"], ["GET", "/api/audit"], ["GET", "/api/jobs/w1.x"], ["POST", "/api/actions"], ["GET", "/nowhere"]] as const) {
      const r = await call(method, path, { headers: { "x-supafleet-action": "1" }, ...(method === "POST" ? { body: { action: "restart", project: "acme-prod" } } : {}) });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.json().error).toMatch(/Cloudflare Access's token/);
    }
    // Nothing was sent to an agent: no audit entry.
    expect(() => readFileSync(join(state, "audit.jsonl"))).toThrow();
  });

  it("refuses a token of another team's key, of another app, expired, or without an identity", async () => {
    const bad = {
      "another key": await access.token({ email: "ops@example.com" }, { key: await TestAccess.strangerKey() }),
      "another audience": await access.token({ email: "ops@example.com" }, { audience: "another-app" }),
      expired: await access.token({ email: "ops@example.com" }, { expires: Math.floor(Date.now() / 1000) - 60 }),
      "no identity": await access.token({ sub: "x" }),
      "not a JWT": "not-a-jwt",
    };
    for (const [what, t] of Object.entries(bad)) {
      const r = await call("GET", "/api/fleet", { headers: { "cf-access-jwt-assertion": t } });
      expect(r.status, what).toBe(401);
      expect(r.body, what).not.toContain(t);
    }
  });

  it("lets Access's JWT in by the header and by the CF_Authorization cookie, and names who is signed in", async () => {
    expect((await call("GET", "/api/fleet", { headers: signedIn() })).status).toBe(200);
    const page = await call("GET", "/", { headers: { cookie: `theme=dark; CF_Authorization=${token}` } });
    expect(page.status).toBe(200);
    expect(page.body).toContain("signed in as ops@example.com");
    // A service token names itself by its common name.
    const service = await access.token({ common_name: "ci.access" });
    expect((await call("GET", "/", { headers: { "cf-access-jwt-assertion": service } })).body).toContain("signed in as ci.access");
  });
});

describe("the report intake", () => {
  it("takes a worker's report only from that worker's address", async () => {
    const fromOther = await call("POST", "/api/reports", { body: report("w1", true), from: W2 });
    expect(fromOther.status).toBe(403);
    expect(fromOther.json().error).toBe(`a report of w1 comes from ${W1} only`);
    const fromNoWorker = await call("POST", "/api/reports", { body: report("w1", true), from: "127.0.0.1" });
    expect([fromNoWorker.status, fromNoWorker.json().error]).toEqual([403, "reports come from the workers' own addresses only"]);
    expect((await call("POST", "/api/reports", { body: report("w9", true), from: W1 })).json().error).toBe('there is no worker "w9" in this fleet');
    expect((await call("POST", "/api/reports", { body: { worker: "w1", ok: "yes" }, from: W1 })).status).toBe(400);
    expect((await call("POST", "/api/reports", { body: "x".repeat(70_000), from: W1 })).status).toBe(413);
    expect((await call("POST", "/api/reports", { body: "x".repeat(70_000), from: "127.0.0.1" })).status).toBe(403);
    const fleetBefore = (await call("GET", "/api/fleet", { headers: signedIn() })).json() as { workers: { name: string; health: { state: string } }[] };
    expect(fleetBefore.workers.find((w) => w.name === "w1")!.health.state).toBe("waiting");

    expect((await call("POST", "/api/reports", { body: report("w1", false, [`acme-prod-db is unhealthy ${HOSTILE}`]), from: W1 })).status).toBe(204);
    const view = (await call("GET", "/api/fleet", { headers: signedIn() })).json() as {
      workers: { name: string; health: { state: string; problems: string[] }; diskUsedPct: number }[];
      tenants: { projects: { name: string; health: { state: string; problems: string[] } }[] }[];
    };
    const w1 = view.workers.find((w) => w.name === "w1")!;
    expect(w1.health).toEqual({ state: "unhealthy", problems: [`acme-prod-db is unhealthy ${HOSTILE}`] });
    expect(w1.diskUsedPct).toBe(41);
    expect(view.tenants[0]!.projects[0]!.health).toEqual({ state: "unhealthy", problems: [`acme-prod-db is unhealthy ${HOSTILE}`] });
  });
});

describe("the page", () => {
  it("renders names and problems as text, never as markup, and links only http(s) addresses", async () => {
    const page = (await call("GET", "/", { headers: signedIn() })).body;
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain("Acme &lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(page).toContain("acme-prod-db is unhealthy &lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(page).not.toContain("javascript:");
    expect(page).toContain('href="https://studio-acme-prod.example.test"');
    // Only the page's own script may run.
    const nonce = /<script nonce="([^"]+)">/.exec(page)![1]!;
    expect((await fetch(`${base}/`, { headers: signedIn() })).headers.get("content-security-policy")).toMatch(/script-src 'nonce-[^']+'/);
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(nonce.length).toBeGreaterThan(16);
  });

  it("shows Kuma and the agents as unreachable rather than failing", async () => {
    await app.watch.refresh();
    const page = (await call("GET", "/", { headers: signedIn() })).body;
    expect(page).toMatch(new RegExp(`Uptime Kuma at http://127\\.0\\.0\\.1:${CLOSED_PORT} is unreachable \\(ECONNREFUSED\\)`));
    expect(page).toContain("the agent is unreachable (ECONNREFUSED)");
    const view = (await call("GET", "/api/fleet", { headers: signedIn() })).json() as { kuma: { reachable: boolean } };
    expect(view.kuma.reachable).toBe(false);
  });
});

describe("actions", () => {
  it("needs the X-Supafleet-Action header, a known action, project and service", async () => {
    const post = (body: unknown, headers: Record<string, string> = { "x-supafleet-action": "1" }): Promise<Reply> => call("POST", "/api/actions", { headers: { ...signedIn(), ...headers }, body });
    expect((await post({ action: "restart", project: "acme-prod" }, {})).status).toBe(403);
    expect((await post({ action: "delete", project: "acme-prod" })).status).toBe(400);
    const unknown = await post({ action: "restart", project: "nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toBe('there is no project "nope" in this fleet');
    expect((await post({ action: "logs", project: "acme-prod" })).status).toBe(400);
    expect((await post({ action: "logs", project: "acme-prod", service: "kong" })).status).toBe(404);
    expect((await post({ action: "backup-now", project: "globex" })).status).toBe(409);
  });

  it("writes the request and its outcome to the audit log, naming the Access identity, when the agent is down", async () => {
    const r = await call("POST", "/api/actions", { headers: { ...signedIn(), "x-supafleet-action": "1" }, body: { action: "restart", project: "acme-prod", service: "rest" } });
    expect(r.status).toBe(502);
    expect(r.json().error).toBe("the agent of w1 is unreachable (ECONNREFUSED)");
    const lines = readFileSync(join(state, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ identity: "ops@example.com", action: "restart", project: "acme-prod", service: "rest", worker: "w1", phase: "requested" });
    expect(lines[1]).toMatchObject({ identity: "ops@example.com", action: "restart", phase: "outcome", outcome: "failed" });
    const audit = (await call("GET", "/api/audit", { headers: signedIn() })).json() as { entries: { phase: string }[] };
    expect(audit.entries.map((e) => e.phase)).toEqual(["outcome", "requested"]);
  });
});

describe("secrets", () => {
  it("puts no worker key and no token into a page, an API answer or the audit log", async () => {
    const bodies = await Promise.all(["/", "/api/fleet", "/api/audit"].map(async (p) => (await call("GET", p, { headers: signedIn() })).body));
    for (const text of [...bodies, readFileSync(join(state, "audit.jsonl"), "utf8")]) {
      for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
      expect(text).not.toContain(token);
    }
  });
});

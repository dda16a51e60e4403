import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkAccess } from "../../src/probe/checks/access";
import { checkKuma } from "../../src/probe/checks/kuma";
import { masterVerdict, sweep, workerVerdict } from "../../src/probe/checks/ports";
import { backupCommand, type RemoteRunner } from "../../src/probe/checks/backup";
import type { CheckResult } from "../../src/probe/result";
import { projectChecks, runProbe, type ProbeOptions } from "../../src/probe/run";
import type { ProbeTarget } from "../../src/probe/target";
import { ROOT } from "../helpers/stacks";
import type { SupabaseTestDb } from "../helpers/supabaseDb";
import { startMspOpsDb, SupabaseStandIn, tenantUuid, type StandInModes } from "../helpers/supabaseStandIn";
import type { GoTrueSettings, GoTrueSettingsModes } from "../helpers/gotrueSettings";
import { authSettingsOf } from "../../src/probe/checks/authSettings";

/**
 * The probe against stand-ins on 127.0.0.1: a Supabase gateway whose rows live
 * in a real PostgreSQL 15 under supafleet's real msp-ops RLS, Cloudflare
 * Access's answers, Uptime Kuma's status-page JSON, TCP listeners, and a fake
 * remote runner. Every check is shown passing AND failing.
 */
const SLUGS = ["techhilfe", "baeckerei-koch"];
const work = mkdtempSync(join(tmpdir(), "supafleet-probe-"));
let db: SupabaseTestDb;
let api: SupabaseStandIn;
let access: Server;
let kuma: Server;
let ssh: TcpServer;
let sshPort = 0;
const listening = (s: Server | TcpServer): Promise<number> => new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
const base = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

/** Cloudflare Access's possible answers, one per path, and the app answering without it. */
function accessServer(): Server {
  return createHttpServer((req, res) => {
    const modes: Record<string, () => void> = {
      "/login302": () => res.writeHead(302, { location: "https://team.cloudflareaccess.com/cdn-cgi/access/login/studio.example.org?kid=1" }).end(),
      "/forbidden": () => res.writeHead(403).end("Forbidden"),
      "/app": () => res.writeHead(200, { "content-type": "text/html" }).end("<html>Supabase Studio</html>"),
      "/elsewhere": () => res.writeHead(302, { location: "https://example.org/login" }).end(),
    };
    (modes[req.url ?? ""] ?? (() => res.writeHead(404).end()))();
  });
}

/** Kong's answer when no route matches the path (3.x; 2.8 sends the message alone). */
const KONG_NO_ROUTE = JSON.stringify({ message: "no Route matched with those values", request_id: "4b1a0c2e7f9d3a5b6c8e0f1a2b3c4d5e" }, null, 2);

/**
 * The gateway of a project that left services out, in front of the stand-in: Kong has no route for
 * their paths and answers its own 404; everything else reaches the stand-in as it was sent.
 */
function gatewayWithout(prefixes: readonly string[]): Server {
  return createHttpServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (prefixes.some((p) => path.startsWith(p))) return void res.writeHead(404, { "content-type": "application/json; charset=utf-8" }).end(KONG_NO_ROUTE);
    const up = new URL(api.url);
    const forward = httpRequest({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: { ...req.headers, host: up.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    forward.on("error", (err) => res.writeHead(502).end(String(err)));
    req.pipe(forward);
  });
}

/** Uptime Kuma's two public status-page endpoints, in its shapes. */
function kumaServer(): Server {
  const monitors = [
    { id: 1, name: "p1 api" },
    { id: 2, name: "p1 backup" },
  ];
  const t = (min: number): string => `2026-01-01 10:${String(min).padStart(2, "0")}:00.000`;
  const pages: Record<string, Record<string, { status: number; time: string; msg: string }[]>> = {
    "all-up": { "1": [{ status: 0, time: t(1), msg: "was down" }, { status: 1, time: t(2), msg: "" }], "2": [{ status: 1, time: t(2), msg: "" }] },
    "one-down": { "1": [{ status: 1, time: t(1), msg: "" }, { status: 0, time: t(2), msg: "connect ECONNREFUSED" }], "2": [{ status: 1, time: t(2), msg: "" }] },
    "no-beat": { "1": [{ status: 1, time: t(2), msg: "" }] },
  };
  return createHttpServer((req, res) => {
    const m = /^\/api\/status-page\/(heartbeat\/)?([\w-]+)$/.exec(req.url ?? "");
    const page = m ? pages[m[2]!] : undefined;
    if (!m || !page) return void res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, msg: "Status page not found" }));
    const body = m[1] ? { heartbeatList: page, uptimeList: { "1_24": 0.99, "2_24": 1 } } : { config: { slug: m[2], title: m[2] }, incident: null, publicGroupList: [{ id: 1, name: "Services", monitorList: monitors }] };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  db = await startMspOpsDb(SLUGS);
  api = await new SupabaseStandIn(db).start();
  access = accessServer();
  kuma = kumaServer();
  // The probe hangs up at once: a reset on our side is expected, not an error.
  ssh = createTcpServer((s) => s.on("error", () => undefined).end("SSH-2.0-OpenSSH_9.2\r\n"));
  await Promise.all([listening(access), listening(kuma)]);
  sshPort = await listening(ssh);
});
afterAll(async () => {
  await api?.stop();
  for (const s of [access, kuma, ssh]) await new Promise((r) => (s ? s.close(r) : r(undefined)));
  db?.stop();
  rmSync(work, { recursive: true, force: true });
});

const DRILL_OK = "drill(p1): restored snapshot 4f2a9c1e (taken 2026-01-01 10:00:00) into supafleet_probe: 12 tables match the recorded figures; RPO 0 min, RTO 12s";
const okRunner: RemoteRunner = async () => ({ code: 0, stdout: "", stderr: `backup(p1): snapshot 4f2a9c1e saved\n${DRILL_OK}\n` });

function target(over: Partial<ProbeTarget["projects"][number]> = {}): ProbeTarget {
  return {
    stack: "test",
    projects: [
      {
        name: "p1",
        apiUrl: api.url,
        studioUrl: `${base(access)}/login302`,
        anonKey: api.anonKey,
        serviceKey: api.serviceKey,
        worker: { name: "w1", meshAddress: "10.8.0.2" },
        tenants: SLUGS.map((slug) => ({ slug, id: tenantUuid(slug) })),
        mspOps: true,
        functions: ["hello"],
        services: { realtime: true, storage: true, functions: true },
        ...over,
      },
    ],
    accessProtected: [`${base(access)}/forbidden`],
    hosts: { master: { ipv4: "127.0.0.1", meshAddress: "10.8.0.1" }, workers: [] },
    kuma: { url: base(kuma), statusPages: ["all-up"] },
  };
}

const fast: ProbeOptions = { ports: [], remote: okRunner, realtimeTimeoutMs: 2_000, health: { intervalMs: 100, limitMs: 500 } };

async function probe(modes: Partial<StandInModes> = {}, t = target(), opts: Partial<ProbeOptions> = {}, gotrue: Partial<GoTrueSettingsModes> = {}, served?: Partial<GoTrueSettings>): Promise<Record<string, CheckResult>> {
  api.reset();
  Object.assign(api.modes, modes);
  // The stand-in's GoTrue plays the project's Auth settings as the target declares them, unless a test says otherwise.
  Object.assign(api.gotrue.settings, authSettingsOf(t.projects[0]!), served);
  Object.assign(api.gotrue.modes, gotrue);
  const results = await runProbe(t, { ...fast, sshPort, ports: [sshPort], ...opts });
  return Object.fromEntries(results.map((r) => [r.project === "-" || r.project === "p1" ? r.name : `${r.name} ${r.project}`, r]));
}

describe("the probe against the stand-ins", () => {
  it("passes every check when everything works, and leaves no user or bucket behind", async () => {
    const r = await probe();
    for (const c of Object.values(r)) expect({ check: c.name, ok: c.ok, detail: c.detail }).toMatchObject({ ok: true });
    expect(Object.keys(r).sort()).toEqual(["access", "auth", "backup", "first healthy", "function hello", "healthy", "isolation", "kuma all-up", "latency", "ports master", "realtime", "redirects", "rows", "signup", "storage"].sort());
    expect(r.isolation!.detail).toMatch(/could not read, update or delete/);
    expect(r.realtime!.detail).toMatch(/^INSERT of ticket [0-9a-f-]{36} arrived/);
    expect(r.backup!.detail).toBe(DRILL_OK);
    expect(api.users.size).toBe(0);
    expect(api.buckets.size).toBe(0);
    // The rows really are in PostgreSQL, in A's tenant.
    const su = await db.superuser();
    const { rows } = await su.query("select tenant_id from public.tickets where titulo like 'probe-%'");
    await su.end();
    expect(rows.map((x) => x.tenant_id)).toContain(tenantUuid("techhilfe"));
  });

  it("fails auth when sign-in is refused, skips what needs the users, and still deletes them", async () => {
    const r = await probe({ signIn: "refuse" });
    expect(r.auth).toMatchObject({ ok: false });
    expect(r.auth!.detail).toMatch(/sign-in of probe-\w+-a@test\.invalid failed: Invalid login credentials/);
    for (const n of ["rows", "isolation", "realtime"]) expect(r[n]).toMatchObject({ ok: false, skipped: true });
    expect(api.users.size).toBe(0);
  });

  it("reports users it could not delete in the auth row's detail", async () => {
    const r = await probe({ userDelete: "refuse" });
    expect(r.auth!.detail).toMatch(/; cleanup: could not delete probe-\w+-a@test\.invalid: 500 \w+; probe-\w+-b@test\.invalid: 500 \w+; probe-\w+-signup@test\.invalid: 500 \w+$/);
    api.users.clear();
  });

  it("fails rows when A's insert is refused: tokens without the hook's tenant_id claim meet the real RLS", async () => {
    const r = await probe({ hook: "off" });
    expect(r.auth!.ok).toBe(true);
    expect(r.rows).toMatchObject({ ok: false, detail: 'insert as techhilfe failed: new row violates row-level security policy for table "clientes"' });
    expect(r.isolation).toMatchObject({ skipped: true, detail: "skipped: no row from the rows check" });
    expect(r.realtime).toMatchObject({ skipped: true });
  });

  it("fails rows when A cannot read its own row back", async () => {
    const r = await probe({ reads: "empty" });
    expect(r.rows!.ok).toBe(false);
    expect(r.rows!.detail).toMatch(/^read-back of [0-9a-f-]{36} returned \[\]$/);
  });

  it("fails isolation, naming each leak, when RLS is not applied to B's requests", async () => {
    const r = await probe({ rls: "ignore" });
    expect(r.rows!.ok).toBe(true);
    expect(r.isolation!.ok).toBe(false);
    expect(r.isolation!.detail).toMatch(/^LEAK: baeckerei-koch \(B\) read techhilfe's row/);
    expect(r.isolation!.detail).toMatch(/updated 1 row/);
    expect(r.isolation!.detail).toMatch(/the row's name is now "leak-/);
    expect(r.isolation!.detail).toMatch(/deleted 1 row/);
    expect(r.isolation!.detail).toMatch(/techhilfe \(A\) no longer sees its row/);
  });

  it("skips isolation, as a failure, when the project has one tenant", async () => {
    const r = await probe({}, target({ tenants: [{ slug: "techhilfe", id: tenantUuid("techhilfe") }] }));
    expect(r.auth!.ok).toBe(true);
    expect(r.isolation).toMatchObject({ ok: false, skipped: true, detail: "skipped: the project has one tenant; isolation needs two" });
  });

  it("fails storage when the bytes come back different", async () => {
    const r = await probe({ storage: "corrupt" });
    expect(r.storage).toMatchObject({ ok: false, detail: "downloaded 4096 bytes differ from the 4096 uploaded" });
    expect(api.buckets.size).toBe(0);
  });

  it("fails realtime when the change never arrives", async () => {
    const r = await probe({ realtime: "silent" });
    expect(r.realtime!.ok).toBe(false);
    expect(r.realtime!.detail).toMatch(/^no INSERT event for ticket [0-9a-f-]{36} within 2 s$/);
  });

  it("fails a function that answers 500", async () => {
    const r = await probe({ functions: "error" });
    expect(r["function hello"]!.ok).toBe(false);
    expect(r["function hello"]!.detail).toMatch(/500/);
  });

  it("fails a function that answers 200 with something other than JSON", async () => {
    const r = await probe({ functions: "text" });
    expect(r["function hello"]).toMatchObject({ ok: false, detail: "hello answered 200 with text/plain, not JSON" });
  });

  it("fails latency when some of the 20 requests are not answered 200", async () => {
    const r = await probe({ health: "flaky" });
    expect(r.healthy!.ok).toBe(true);
    expect(r.latency!.ok).toBe(false);
    expect(r.latency!.detail).toMatch(/^median \d+ ms, p95 \d+ ms over 20 requests; 10 not 200: 503$/);
  });

  it("fails health, and skips the rest, when the API never answers 200", async () => {
    const r = await probe({ health: "down" });
    expect(r.healthy).toMatchObject({ ok: false });
    expect(r.healthy!.detail).toMatch(/not healthy after .* answered 503/);
    expect(r["first healthy"]!.ok).toBe(false);
    expect(r.auth).toMatchObject({ ok: false, skipped: true });
  });

  it("reports the time since --since as time to healthy", async () => {
    const r = await probe({}, target(), { since: Date.now() - 90_000 });
    expect(r.healthy!.ms).toBeGreaterThanOrEqual(90_000);
    expect(r.healthy!.detail).toMatch(/1 min 3\d s after the start given by --since/);
  });

  it("for a project that left out Realtime, Storage and functions, confirms the gateway has no route to each, and calls none of them", async () => {
    const gateway = gatewayWithout(["/realtime/v1/", "/storage/v1/", "/functions/v1/"]);
    await listening(gateway);
    try {
      const t = target({ apiUrl: base(gateway), functions: [], services: { realtime: false, storage: false, functions: false } });
      const r = await probe({}, t);
      for (const c of Object.values(r)) expect({ check: c.name, ok: c.ok, detail: c.detail }).toMatchObject({ ok: true });
      expect(Object.keys(r).sort()).toEqual(["access", "auth", "backup", "first healthy", "functions left out", "healthy", "isolation", "kuma all-up", "latency", "ports master", "realtime left out", "redirects", "rows", "signup", "storage left out"].sort());
      expect(projectChecks(t.projects[0]!)).toEqual(["latency", "auth", "signup", "redirects", "rows", "isolation", "realtime left out", "storage left out", "functions left out", "backup"]);
      expect(r["storage left out"]!.detail).toBe(`${base(gateway)}/storage/v1/: 404 "no Route matched with those values": the gateway has no route there, as the project's services say`);
      // Users and rows went through the same gateway; nothing was stored.
      expect(r.rows!.ok).toBe(true);
      expect(api.buckets.size).toBe(0);
      expect(api.users.size).toBe(0);
    } finally {
      await new Promise((done) => gateway.close(done));
    }
  });

  it("fails a service the project left out when the gateway still routes to it, even if that service answers 404", async () => {
    // The stand-in still serves both: Storage refuses the anon key (403), the functions router knows no bare path (its own 404, not Kong's).
    const r = await probe({}, target({ services: { realtime: true, storage: false, functions: false } }));
    expect(r.storage).toBeUndefined();
    expect(r["function hello"]).toBeUndefined();
    expect(r["storage left out"]).toMatchObject({ ok: false, detail: `${api.url}/storage/v1/: answered 403, not 404: the gateway still routes to a service the project left out` });
    expect(r["functions left out"]).toMatchObject({
      ok: false,
      detail: `${api.url}/functions/v1/: 404 from behind a route (no route GET /functions/v1/), not the gateway's "no Route matched": the service is still routed`,
    });
    // What it runs is still checked as before.
    expect(r.realtime!.ok).toBe(true);
  });

  describe("a project's own Auth settings (the stand-in's GoTrue is a fake: the real check is the probe against a real stack)", () => {
    const auth = {
      siteUrl: "https://app.probe.example",
      redirectUrls: ["https://app.probe.example/**", "http://localhost:3000/**"],
      emailSignup: true,
      emailConfirm: true,
      providers: [{ name: "google", clientId: "1234.apps.googleusercontent.com" }],
    };

    it("signs up an unconfirmed user, sees the allow-list honoured and enforced, and finds the provider's authorize redirect", async () => {
      const t = target({ auth });
      const r = await probe({}, t);
      expect(projectChecks(t.projects[0]!).slice(0, 5)).toEqual(["latency", "auth", "signup", "redirects", "authorize google"]);
      expect(r.signup).toMatchObject({ ok: true, detail: expect.stringMatching(/^signed up probe-\w+-signup@test\.invalid: exists, unconfirmed/) });
      expect(r.redirects).toMatchObject({ ok: true, detail: expect.stringMatching(/^on-list https:\/\/app\.probe\.example\/probe\/\w+ honoured; off-list fell back to https:\/\/app\.probe\.example$/) });
      expect(r["authorize google"]).toMatchObject({ ok: true, detail: `redirects to google.provider.example/oauth/authorize with our client id and ${api.url}/auth/v1/callback` });
      expect(api.users.size).toBe(0);
    });

    it("with confirmation off, expects a confirmed user and a session", async () => {
      const r = await probe({}, target({ auth: { ...auth, emailConfirm: false } }));
      expect(r.signup).toMatchObject({ ok: true, detail: expect.stringContaining("confirmed at once, with a session") });
      const wrong = await probe({}, target({ auth }), {}, { signup: "confirm-anyway" });
      expect(wrong.signup).toMatchObject({ ok: false, detail: expect.stringContaining("was confirmed at sign-up, but the project asks for e-mail confirmation") });
      expect(api.users.size).toBe(0);
    });

    it("expects a closed sign-up to be refused, and fails when it is not", async () => {
      const closed = { ...auth, emailSignup: false };
      const r = await probe({}, target({ auth: closed }));
      expect(r.signup).toMatchObject({ ok: true, detail: "sign-up refused as declared (422 signup_disabled)" });
      // The sign-in users are still there to send magic links to.
      expect(r.redirects!.ok).toBe(true);
      const open = await probe({}, target({ auth: closed }), {}, {}, { emailSignup: true });
      expect(open.signup).toMatchObject({ ok: false, detail: expect.stringMatching(/^sign-up is closed in the stack file, yet probe-\w+-signup@test\.invalid was signed up$/) });
      expect(api.users.size).toBe(0);
    });

    it("fails redirects when a redirect_to off the allow-list is followed, or one on it is not", async () => {
      const open = await probe({}, target({ auth }), {}, { redirects: "open" });
      expect(open.redirects).toMatchObject({ ok: false, detail: expect.stringMatching(/^redirect_to https:\/\/off-list-\w+\.invalid\/probe \(off the allow-list\) was honoured$/) });
      const strict = await probe({}, target({ auth }), {}, {}, { redirectUrls: [], siteUrl: "https://other.probe.invalid" });
      expect(strict.redirects).toMatchObject({ ok: false, detail: expect.stringContaining("(on the allow-list) was not honoured: the link went to https://other.probe.invalid") });
    });

    it("checks Twitter's OAuth 1.0a redirect by its request token, and leaves WorkOS out (its authorize needs the client's connection)", async () => {
      const t = target({ auth: { ...auth, providers: [{ name: "twitter", clientId: "consumer-key" }, { name: "workos", clientId: "client_01" }] } });
      expect(projectChecks(t.projects[0]!).filter((c) => c.startsWith("authorize"))).toEqual(["authorize twitter"]);
      const r = await probe({}, t);
      expect(r["authorize twitter"]).toMatchObject({ ok: true, detail: "redirects to api.twitter.com/oauth/authenticate with a request token (OAuth 1.0a)" });
      expect(r["authorize workos"]).toBeUndefined();
    });

    it("fails authorize when the provider gets another callback, or is not configured", async () => {
      const wrong = await probe({}, target({ auth }), {}, { authorize: "wrong-callback" });
      expect(wrong["authorize google"]).toMatchObject({ ok: false, detail: `redirects to google.provider.example with redirect_uri https://elsewhere.example/auth/v1/callback, not ${api.url}/auth/v1/callback` });
      const missing = await probe({}, target({ auth }), {}, {}, { providers: [] });
      expect(missing["authorize google"]).toMatchObject({ ok: false, detail: "authorize answered 400, not a redirect to google" });
    });
  });

  it("skips backup, as a failure, without an SSH key", async () => {
    const r = await probe({}, target(), { remote: undefined });
    expect(r.backup).toMatchObject({ ok: false, skipped: true, detail: "skipped: no --ssh-key given" });
  });
});

describe("access", () => {
  it.each([
    ["login302", true, /302 to https:\/\/team\.cloudflareaccess\.com\/cdn-cgi\/access\/login/],
    ["forbidden", true, /403 from Access/],
    ["app", false, /answered 200 without Access/],
    ["elsewhere", false, /302 to https:\/\/example\.org\/login, not Cloudflare Access's login/],
  ])("%s → ok %s", async (path, ok, detail) => {
    const r = await checkAccess(`${base(access)}/${path}`);
    expect(r.ok).toBe(ok);
    expect(r.detail).toMatch(detail);
  });
});

describe("ports", () => {
  it("finds open and refused loopback ports in a small sweep", async () => {
    const closed = await listening(createTcpServer()).then(async (p) => p); // a port then freed below
    const reachable = await sweep("127.0.0.1", [sshPort, closed], { timeoutMs: 500 });
    expect(reachable.get(sshPort)).toBe("open");
    expect(["open", "refused"]).toContain(reachable.get(closed));
  });

  it("fails a worker with an open port, passes a master with only SSH, fails a master with more", async () => {
    const other = createTcpServer();
    const port = await listening(other);
    try {
      const both = await sweep("127.0.0.1", [sshPort, port], { timeoutMs: 500 });
      expect(workerVerdict("127.0.0.1", 2, both)).toMatchObject({ ok: false, detail: expect.stringContaining(`${port} (open)`) });
      expect(masterVerdict("127.0.0.1", 2, both, sshPort)).toMatchObject({ ok: false, detail: expect.stringContaining(`reachable besides SSH: ${port} (open)`) });
      const onlySsh = await sweep("127.0.0.1", [sshPort], { timeoutMs: 500 });
      expect(masterVerdict("127.0.0.1", 1, onlySsh, sshPort)).toEqual({ ok: true, detail: `127.0.0.1: nothing else of 1 ports reachable; SSH ${sshPort} answered (open)` });
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it("sweeps a range with bounded concurrency", async () => {
    const ports = Array.from({ length: 200 }, (_, i) => 40000 + i);
    const reachable = await sweep("127.0.0.1", ports, { concurrency: 16, timeoutMs: 500 });
    // Loopback refuses every closed port: refused counts as reachable, only silence is filtered.
    expect(reachable.size).toBe(200);
  });
});

describe("kuma", () => {
  it("passes when every monitor's latest heartbeat is up", async () => {
    expect(await checkKuma(base(kuma), "all-up")).toEqual({ ok: true, detail: "all-up: all 2 monitors up" });
  });
  it("fails naming a monitor that is down, with its message", async () => {
    expect(await checkKuma(base(kuma), "one-down")).toEqual({ ok: false, detail: "one-down: p1 api: down (connect ECONNREFUSED)" });
  });
  it("fails a monitor with no heartbeat yet", async () => {
    expect(await checkKuma(base(kuma), "no-beat")).toEqual({ ok: false, detail: "no-beat: p1 backup: no heartbeat yet" });
  });
  it("fails a status page that does not exist", async () => {
    await expect(checkKuma(base(kuma), "nope")).rejects.toThrow(/answered 404/);
  });
});

describe("scripts/probe.ts", () => {
  // Asynchronous: the stand-ins answer from this very process, so a blocking spawn would deadlock.
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "scripts/probe.ts"), ...args], { cwd: work, env: { ...process.env, ...env }, timeout: 60_000 });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (status) => resolve({ status, stdout, stderr }));
    });
  const write = (name: string, body: unknown): string => {
    const f = join(work, name);
    writeFileSync(f, JSON.stringify(body));
    return f;
  };

  it("exits 2 naming the bad field, without a stack trace", async () => {
    const bad = target();
    (bad.projects[0] as { apiUrl: string }).apiUrl = "not a url";
    const r = await cli(["--target", write("bad.json", bad)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^probe: .*bad\.json: projects\[0\]\.apiUrl: /);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });

  it("exits 2 on a bad flag value", async () => {
    const r = await cli(["--target", write("good.json", target()), "--since", "yesterday"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('probe: --since: "yesterday" is not epoch milliseconds\n');
  });

  it("runs every check: exit 0 with a table when all pass, 1 when one fails", async () => {
    // The real ssh runner, with a stand-in ssh on PATH that records its arguments and prints the drill's line.
    const bin = join(work, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "ssh"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(work, "ssh-args")}"\necho 'backup(p1): done' >&2\necho '${DRILL_OK}' >&2\n`);
    chmodSync(join(bin, "ssh"), 0o755);
    const key = write("key", "not a real key");
    const env = { PATH: `${bin}:${process.env.PATH}` };
    // A target stored before projects could leave services out has no `services`: it still gets every check.
    const stored = target();
    delete (stored.projects[0] as Partial<ProbeTarget["projects"][number]>).services;
    const t = write("target.json", stored);
    const args = ["--target", t, "--ports", String(sshPort), "--ssh-port", String(sshPort), "--ssh-key", key, "--json", join(work, "out.json")];

    api.reset();
    const ok = await cli(args, env);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/^CHECK\s+PROJECT\s+RESULT\s+MS\s+DETAIL\n/);
    expect(ok.stdout).toMatch(/^isolation\s+p1\s+PASS\s+\d+\s+baeckerei-koch/m);
    expect(ok.stdout).toMatch(/16 checks: 16 passed, 0 failed, 0 skipped/);
    expect(ok.status).toBe(0);
    expect(JSON.parse(readFileSync(join(work, "out.json"), "utf8"))).toMatchObject({ stack: "test", ok: true });
    const sshArgs = readFileSync(join(work, "ssh-args"), "utf8");
    expect(sshArgs.split("\n").slice(0, 9)).toEqual(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-i", key, "-J", "root@10.8.0.1", "root@10.8.0.2"]);
    // The last argument is the whole rendered script (worker/backup-probe.sh), for the worker's shell.
    expect(sshArgs.endsWith(`root@10.8.0.2\n${backupCommand("p1")}\n`)).toBe(true);

    api.modes.storage = "corrupt";
    const bad = await cli(args, env);
    expect(bad.stdout).toMatch(/^storage\s+p1\s+FAIL\s+\d+\s+downloaded 4096 bytes differ/m);
    expect(bad.status).toBe(1);
    api.reset();
  });
});

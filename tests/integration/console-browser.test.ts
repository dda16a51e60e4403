import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsoleFleet } from "../../templates/console/fleet";
import { createConsole, type Console } from "../../templates/console/server";
import { docker } from "../lab/engine";
import { BackupRig } from "../helpers/backupRig";
import { TestAccess } from "../helpers/consoleAccess";
import type { FleetConfig } from "../../src/config/schema";
import { planFleet } from "../../src/plan/planFleet";
import { check, clone, ROOT, stackDoc } from "../helpers/stacks";
import { startWorkerAgent, type WorkerAgent } from "../helpers/workerAgent";

/**
 * The operator console in Debian's chromium, as an operator uses it, showing the fleet the program renders from a
 * test stack file (fleetFor): the console
 * on this namespace's master address, a real worker agent in a namespace of its
 * own (tests/helpers/workerAgent.ts) whose backup.sh writes to a real restic
 * repository from the backup rig's lab database, health reports from the worker's
 * own address (the real health-agent.sh, and reports the test writes), and Cloudflare Access played by a JWKS the test serves
 * and a JWT it signs, set as the CF_Authorization cookie. Uptime Kuma is not
 * there: the page says so and goes on.
 */
const INTERVAL = 3; // seconds between health reports: "silent" after two
const OPERATOR = "operator@example.com";
const HOSTILE = `<img src=x onerror="document.title='owned'">`;
const SCREENSHOTS = process.env.SUPAFLEET_SCREENSHOTS === "1";
const rig = new BackupRig("bk-console", 38);
const REST = "bk-console-rest";
const access = new TestAccess();
let agent: WorkerAgent;
let app: Console;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let token: string;

/**
 * The test's stack file: staging's, on the agent's addresses (the hub is the root namespace's master address, w1
 * the agent's), with two tenants of its own, all three projects on w1. fleet.json is what the program renders from
 * it (planConsole), with what OperatorConsole adds; only the report interval is shortened, so the test can wait it out.
 */
function fleetFor(a: WorkerAgent): ConsoleFleet {
  const doc = clone(stackDoc("staging")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const net = a.masterAddress.replace(/\.\d+$/, "");
  doc["supafleet:wireguard"] = { subnet: `${net}.0/24` };
  doc["supafleet:workers"] = [{ name: "w1", serverType: "cx33", address: a.address }];
  for (const o of doc["supafleet:operators"]) o.wireguard.address = `${net}.${o.wireguard.address.split(".")[3]}`;
  doc["supafleet:cloudflare"] = { ...doc["supafleet:cloudflare"], teamName: "supafleet-test" };
  doc["supafleet:console"] = { enabled: true };
  doc["supafleet:domain"] = "example.test";
  // Its tenants below have no registry project.
  delete doc["supafleet:automations"].registryProject;
  const project = (name: string, slot: number) => ({ name, subdomain: name, slot, placement: { worker: "w1" }, schemaPacks: ["msp-ops"] });
  const contact = { name: "Test", email: "test@example.test" };
  doc["supafleet:tenants"] = [
    { slug: "acme", name: "Acme Logistics", contact, plan: "business", isolation: "shared", statusPage: true, projects: [project("ops", 1), project("acme-staging", 2)] },
    { slug: "globex", name: "Globex", contact, plan: "starter", isolation: "shared", projects: [project("globex", 3)] },
  ];
  const { config, issues } = check(doc, "staging");
  expect(issues).toEqual([]);
  const planned = planFleet("staging", config as FleetConfig).console!.fleet;
  return { ...planned, infraRelease: "2026.12.7", access: { teamName: "supafleet-test", aud: access.audience }, reportIntervalSeconds: INTERVAL };
}

/**
 * A health report POSTed from inside the worker's namespace, so from its own address, as health-agent.sh
 * sends it. curl runs without blocking: the console answering it lives in this process.
 */
function report(ok: boolean, problems: string[] = []): Promise<number> {
  const body = JSON.stringify({
    worker: "w1",
    at: Math.floor(Date.now() / 1000),
    interval: INTERVAL,
    ok,
    problems,
    projects: Object.fromEntries(["ops", "acme-staging", "globex"].map((p) => [p, p === "ops" ? { ok, problems } : { ok: true, problems: [] }])),
    disk: { usedPct: 37 },
    memory: { availablePct: 58 },
  });
  return new Promise((resolve) => {
    const curl = execFile("ip", ["netns", "exec", agent.namespace, "curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/json", "--data-binary", "@-", `${base}/api/reports`], { encoding: "utf8" }, (_e, stdout) =>
      resolve(Number(stdout)),
    );
    curl.stdin!.end(body);
  });
}

/**
 * One run of the real health agent in the worker's namespace, reporting to the console from the worker's
 * address; its Kuma push goes to a listener that stands in for Kuma's push endpoint.
 */
function healthAgent(): Promise<{ code: number; stdout: string; stderr: string }> {
  const settings = join(rig.work, "health-agent.env");
  const values = { PUSH_URL: `${pushUrl}/api/push/w1token`, WORKER: "w1", REPORT_URL: `${base}/api/reports`, REPORT_INTERVAL: String(INTERVAL), PROJECTS_DIR: join(rig.work, "projects"), STATE_DIR: join(rig.work, "health-state"), DISK_PATH: "/" };
  writeFileSync(settings, Object.entries(values).map(([k, v]) => `${k}='${v}'\n`).join(""));
  return new Promise((resolve) =>
    execFile("ip", ["netns", "exec", agent.namespace, "bash", join(ROOT, "templates/worker/health-agent.sh"), settings], { env: rig.env(), encoding: "utf8", timeout: 30_000 }, (e, stdout, stderr) =>
      resolve({ code: e === null ? 0 : Number((e as { code?: number }).code ?? 1), stdout, stderr }),
    ),
  );
}

/** Reports healthy every interval until stopped, as the worker's timer does. */
function keepReporting(): () => void {
  const timer = setInterval(() => void report(true), INTERVAL * 1000);
  return () => clearInterval(timer);
}
let stopReporting = (): void => {};
// Kuma's push endpoint, stood in for on the master's address: the query of each push.
const pushes: string[] = [];
const kumaPush = createServer((req, res) => {
  pushes.push(req.url ?? "");
  res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
});
let pushUrl: string;

const shot = async (name: string): Promise<void> => {
  if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, "docs/images", name), fullPage: true });
};

beforeAll(async () => {
  await Promise.all([rig.start(), access.start()]);
  rig.reset();
  const projects = join(rig.work, "projects");
  const backupConfig = join(rig.work, "backup-config");
  for (const p of ["ops", "acme-staging", "globex"]) mkdirSync(join(projects, p, "releases", "current"), { recursive: true });
  mkdirSync(backupConfig);
  mkdirSync(join(rig.work, "state"));
  copyFileSync(rig.settings(), join(backupConfig, "ops.env"));
  // The project's rest service, as Compose labels it: 300 lines of log, then it waits.
  docker(["rm", "-f", REST], { allowFail: true });
  docker(["run", "-d", "--name", REST, "--label", "com.docker.compose.project=ops", "--label", "com.docker.compose.service=rest", "supafleet-lab/base", "sh", "-c", "trap 'exit 0' TERM; seq -f 'rest line %g' 1 300; sleep infinity & wait"]);
  agent = await startWorkerAgent({ projectsDir: projects, backupConfigDir: backupConfig, env: rig.env({ SUPAFLEET_STATE_DIR: join(rig.work, "state") }) });

  const fleet = fleetFor(agent);
  app = createConsole({ inputs: { fleet, keys: { w1: agent.key } }, stateDir: join(rig.work, "console-state"), access: access.settings });
  await app.listen(agent.masterAddress, 3002);
  await new Promise<void>((r) => kumaPush.listen(0, agent.masterAddress, r));
  pushUrl = `http://${agent.masterAddress}:${(kumaPush.address() as { port: number }).port}`;
  base = `http://${agent.masterAddress}:3002`;
  token = await access.token({ email: OPERATOR });

  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addCookies([{ name: "CF_Authorization", value: token, url: base, httpOnly: true, secure: false }]);
  page = await context.newPage();
  page.on("dialog", (d) => void d.accept());
});

afterAll(async () => {
  stopReporting();
  await browser?.close();
  await app?.close();
  kumaPush.close();
  await agent?.stop();
  docker(["rm", "-f", REST], { allowFail: true });
  await access.stop();
  await rig.stop();
});

describe("the operator console in a browser", () => {
  it("lists every tenant and project of fleet.json, with its isolation, worker, release and links", async () => {
    expect(await report(true)).toBe(204);
    stopReporting = keepReporting();
    await app.watch.refresh();
    await page.goto(base);
    const header = await page.locator("header").textContent();
    expect(header).toContain(`signed in as ${OPERATOR}`);
    expect(header).toContain("infra release 2026.12.7");
    for (const [slug, name] of [["acme", "Acme Logistics"], ["globex", "Globex"]]) await expect(page.locator(`h2[data-tenant="${slug}"]`).textContent()).resolves.toContain(name);
    for (const p of ["ops", "acme-staging", "globex"]) {
      const cells = await page.locator(`tr[data-project="${p}"] td`).allTextContents();
      expect(cells.slice(0, 4)).toEqual([p, "shared", "w1", "2026.08"]);
      expect(await page.locator(`tr[data-project="${p}"] a`).evaluateAll((as) => as.map((a) => (a as { href: string }).href))).toContain(`https://${p}-studio.example.test/`);
    }
    await expect(page.locator('tr[data-worker="w1"] .badge').textContent()).resolves.toBe("healthy");
    await expect(page.locator("main").textContent()).resolves.toMatch(/Uptime Kuma at http:\/\/[\d.]+:3001 is unreachable/);
  });

  it("backup now: confirmed, run by the real agent into restic, shown as succeeded, audited with the operator's email", async () => {
    await page.locator('tr[data-project="ops"] button[data-action="backup-now"]').click();
    await page.locator('#output[data-state="succeeded"]').waitFor({ timeout: 60_000 });
    await expect(page.locator("#output-title").textContent()).resolves.toBe("backup-now of ops: succeeded");
    await expect(page.locator("#output-body").textContent()).resolves.toMatch(/manual snapshot of ops: [0-9a-f]{8}/);

    const manual = rig.snapshots("database").filter((s) => s.tags.includes("manual"));
    expect(manual).toHaveLength(1);
    const audit = readFileSync(join(rig.work, "console-state/audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.map((a) => [a.identity, a.action, a.project, a.phase, a.outcome ?? null])).toEqual([
      [OPERATOR, "backup-now", "ops", "requested", null],
      [OPERATOR, "backup-now", "ops", "outcome", "succeeded"],
    ]);

    // The page, refreshed in place, shows the new snapshot and the audit entries.
    await page.locator('tr[data-project="ops"] .backups', { hasText: "(manual)" }).waitFor({ timeout: INTERVAL * 2000 + 2000 });
    await expect(page.locator("main").textContent()).resolves.toContain("succeeded");
    await shot("console-backup.png");
    await page.locator("#output").evaluate((o) => ((o as { hidden: boolean }).hidden = true));
    await shot("console-fleet.png");
  });

  it("logs: the chosen service's last 200 lines, shown in the page", async () => {
    await page.locator('select[data-service-for="ops"]').selectOption("rest");
    await page.locator('tr[data-project="ops"] button[data-action="logs"]').click();
    await page.locator('#output[data-state="succeeded"]').waitFor({ timeout: 20_000 });
    await expect(page.locator("#output-title").textContent()).resolves.toBe("last 200 lines of ops rest");
    const lines = (await page.locator("#output-body").textContent())!.split("\n");
    expect([lines.length, lines[0], lines.at(-1)]).toEqual([200, "rest line 101", "rest line 300"]);
    const audit = readFileSync(join(rig.work, "console-state/audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.slice(-2).map((a) => [a.identity, a.action, a.service, a.outcome ?? null])).toEqual([
      [OPERATOR, "logs", "rest", null],
      [OPERATOR, "logs", "rest", "ok"],
    ]);
  });

  it("npm run fleet -- status reads the same fleet over the same API", async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/fleet.ts"), "status", "--url", base], { env: { ...process.env, SUPAFLEET_ACCESS_TOKEN: token }, encoding: "utf8" }, (e, stdout, stderr) =>
        resolve({ code: e === null ? 0 : Number((e as { code?: number }).code ?? 1), stdout, stderr }),
      ),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^PROJECT\s+TENANT\s+WORKER\s+HEALTH\s+LAST BACKUP$/);
    expect(lines.find((l) => l.startsWith("ops "))).toMatch(/^ops\s+acme\s+w1\s+healthy\s+\d+ s ago$/);
    // Every project is backed up; this worker holds no backup settings for globex, so its state is unknown.
    expect(lines.find((l) => l.startsWith("globex "))).toMatch(/^globex\s+globex\s+w1\s+healthy\s+unknown$/);
    expect(r.stdout).not.toContain(token);
  });

  it("shows a worker unhealthy within one report interval, as the real health agent reports it, its problems as text, and silent after two intervals without a report", async () => {
    stopReporting();
    const run = await healthAgent();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^health-agent: down: .*WireGuard interface wg0 is down/m);
    const reported = Date.now();
    // No reload: the page fetches itself again every interval.
    await page.locator('tr[data-worker="w1"] .badge', { hasText: "unhealthy" }).waitFor({ timeout: INTERVAL * 1000 + 1500 });
    expect(Date.now() - reported).toBeLessThanOrEqual(INTERVAL * 1000 + 1500);
    // The agent's own findings: the worker's namespace has no wg0, and two projects have no containers here.
    expect(await page.locator('tr[data-worker="w1"] .problems li').allTextContents()).toEqual(expect.arrayContaining(["WireGuard interface wg0 is down", "acme-staging has no containers", "globex has no containers"]));
    await expect(page.locator('tr[data-project="acme-staging"] .problems').textContent()).resolves.toBe("acme-staging has no containers");
    await expect(page.locator('tr[data-project="ops"] .badge').textContent()).resolves.toBe("healthy");
    expect(pushes.at(-1)).toMatch(/status=down/);

    // A problem that looks like markup stays text: no image is made of it, and its handler never runs.
    const sent = Date.now();
    expect(await report(false, ["ops-db is unhealthy", HOSTILE])).toBe(204);
    await page.locator('tr[data-worker="w1"] .problems li', { hasText: "ops-db is unhealthy" }).waitFor({ timeout: INTERVAL * 1000 + 1500 });
    expect(await page.locator('tr[data-worker="w1"] .problems li').allTextContents()).toEqual(["ops-db is unhealthy", HOSTILE]);
    await expect(page.locator('tr[data-project="ops"] .badge').textContent()).resolves.toBe("unhealthy");
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.title()).not.toBe("owned");

    await page.locator('tr[data-worker="w1"] .badge', { hasText: "silent" }).waitFor({ timeout: INTERVAL * 3000 + 2000 });
    expect(Date.now() - sent).toBeGreaterThanOrEqual(INTERVAL * 2000);
    await expect(page.locator('tr[data-project="ops"] .badge').textContent()).resolves.toBe("silent");
    await expect(page.locator('tr[data-worker="w1"] .problems').textContent()).resolves.toMatch(/no report for \d+ s/);
  });

  it("refuses a browser without Access's JWT, and one whose JWT another key signed: 401", async () => {
    const stranger = await access.token({ email: OPERATOR }, { key: await TestAccess.strangerKey() });
    for (const [cookie, refusal] of [[undefined, "this console needs Cloudflare Access's token"], [stranger, "the Access token is not valid for this console"]] as const) {
      const other = await browser.newContext();
      if (cookie !== undefined) await other.addCookies([{ name: "CF_Authorization", value: cookie, url: base }]);
      const p = await other.newPage();
      const res = await p.goto(base);
      expect(res!.status()).toBe(401);
      await expect(p.locator("body").textContent()).resolves.toContain(refusal);
      const api = await p.request.get(`${base}/api/fleet`);
      expect(api.status()).toBe(401);
      await other.close();
    }
  });
});

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleBundle } from "../../src/console/bundle";
import { CONSOLE_DIR, CONSOLE_IMAGE, CONSOLE_UID, consoleCompose } from "../../src/console/consoleCompose";
import { CONSOLE_PORT, consoleFleetView, type ConsoleFleetInput } from "../../src/console/fleetView";
import { RELEASES } from "../../src/model/releases";
import { renderScript } from "../../src/render/script";
import type { ConsoleFleet } from "../../templates/console/fleet";
import { docker, dockerEnv, ENGINE_NETNS, requireEngine } from "../lab/engine";

/**
 * console-keys.sh then console-install.sh, run for real on the lab's Docker
 * engine with the payload OperatorConsole sends: the compose file consoleCompose
 * renders, the bundled console, a small fleet.json. The console is
 * host-networked in the engine's namespace on the hub's address (198.51.100.52,
 * on the engine's side of the lab's veth); this process reaches it from
 * 198.51.100.1, the host's side, and posts reports from there.
 */
const HUB = "198.51.100.52";
const TEST_ADDRESS = "198.51.100.1";
const CONTAINER = "supafleet-console";
const TEAM = "supafleet-lab";
const AUD = "a".repeat(64);
const state = mkdtempSync(join(tmpdir(), "supafleet-console-install-"));
const consoleDir = join(state, "console");
const keys = { w1: randomBytes(32).toString("hex") };
const keysJson = JSON.stringify(keys);

/** A fleet of one tenant with one project on w1, as planConsole renders it, and what OperatorConsole adds. */
function fleet(w1Address: string): ConsoleFleet {
  const input: ConsoleFleetInput = {
    env: "lab",
    domain: "example.test",
    hub: HUB,
    kumaUrl: `http://${HUB}:3001`,
    kumaHostname: "status.example.test",
    master: { name: "master" },
    workers: [{ name: "w1", address: w1Address }],
    tenants: [{ slug: "acme", name: "Acme", isolation: "shared", statusPage: false }],
    projects: [
      {
        name: "acme-app",
        tenant: { slug: "acme" },
        pooledTenants: [],
        worker: { name: "w1" },
        release: Object.keys(RELEASES)[0]!,
        services: ["db", "auth", "rest"],
        hostnames: { api: "acme-app.example.test", studio: "studio-acme-app.example.test" },
      },
    ],
    monitors: [],
  };
  return { ...consoleFleetView(input), infraRelease: "lab", access: { teamName: TEAM, aud: AUD } };
}

/** The compose file as rendered for the master, with its folder moved under this test's. */
function compose(): string {
  const text = consoleCompose(HUB);
  const moved = text.replaceAll(CONSOLE_DIR, consoleDir);
  if (moved.split(consoleDir).length !== 3) throw new Error(`expected consoleCompose to name ${CONSOLE_DIR} in two volumes:\n${text}`);
  return moved;
}

const payload = (f: ConsoleFleet): string =>
  JSON.stringify({ image: CONSOLE_IMAGE, compose: compose(), bundle: consoleBundle(), fleet: f, keysDigest: createHash("sha256").update(keysJson).digest("hex") });

/** Runs a master script as OperatorConsole does (root, the engine's CLI), with CONSOLE_DIR moved. */
function runScript(name: string, stdin: string): { code: number | null; out: string } {
  const r = spawnSync("bash", ["-c", renderScript(`master/${name}`)], { input: stdin, encoding: "utf8", env: dockerEnv({ ...process.env, CONSOLE_DIR: consoleDir }), timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const inspect = (): { Id: string; State: { Pid: number; StartedAt: string; Health?: { Status: string } }; Config: { User: string }; HostConfig: { NetworkMode: string; ReadonlyRootfs: boolean } } =>
  JSON.parse(docker(["inspect", CONTAINER]).stdout)[0];

/** One request on a connection of its own: a pooled one would outlive the container it went to. */
function request(method: string, path: string, headers: Record<string, string> = {}, body?: string, host = HUB): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: CONSOLE_PORT, method, path, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(body);
  });
}
const get = (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> => request("GET", path, headers);
const report = (): Promise<{ status: number; body: string }> =>
  request("POST", "/api/reports", { "Content-Type": "application/json" }, JSON.stringify({ worker: "w1", at: Math.floor(Date.now() / 1000), interval: 60, ok: true, problems: [], projects: {} }));

/** Everything that left the console or its install, to be searched for a key. */
const seen: string[] = [];

beforeAll(() => {
  requireEngine();
  // A run that was killed may have left it; the name is fixed, as on the master.
  docker(["rm", "-f", CONTAINER], { allowFail: true });
  const r = spawnSync("ip", ["-n", ENGINE_NETNS, "addr", "replace", `${HUB}/32`, "dev", "sfdk-lab"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot add ${HUB} to the lab engine: ${r.stderr}`);
});

afterAll(() => {
  docker(["rm", "-f", CONTAINER], { allowFail: true });
  spawnSync("ip", ["-n", ENGINE_NETNS, "addr", "del", `${HUB}/32`, "dev", "sfdk-lab"]);
  rmSync(state, { recursive: true, force: true });
});

describe("console-keys.sh and console-install.sh on the lab's Docker engine", () => {
  it("an install before the keys are written fails, saying so, and starts nothing", () => {
    const r = runScript("console-install.sh", payload(fleet("10.100.0.2")));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`console-install: ${consoleDir}/data/keys.json is missing: the agents' keys are written first`);
    expect(docker(["ps", "-aq", "--filter", `name=^${CONTAINER}$`]).stdout.trim()).toBe("");
  });

  it("installed, the console runs read-only as uid 1000 on the engine's host network, healthy, on the hub's address alone", async () => {
    const k = runScript("console-keys.sh", keysJson);
    expect(k, k.out).toEqual({ code: 0, out: "console-keys: 1 worker keys\n" });
    const r = runScript("console-install.sh", payload(fleet("10.100.0.2")));
    seen.push(k.out, r.out);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`console-install: running ${CONSOLE_IMAGE}, 1 projects on 1 workers`);

    const c = inspect();
    expect({ user: c.Config.User, network: c.HostConfig.NetworkMode, readOnly: c.HostConfig.ReadonlyRootfs, health: c.State.Health?.Status }).toEqual({
      user: `${CONSOLE_UID}:${CONSOLE_UID}`,
      network: "host",
      readOnly: true,
      health: "healthy",
    });
    // The process itself, as the kernel sees it: every uid is 1000.
    expect(readFileSync(`/proc/${c.State.Pid}/status`, "utf8")).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    const write = docker(["exec", CONTAINER, "touch", "/x"], { allowFail: true });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toContain("Read-only file system");
    // It listens on the hub's address only: the engine's own address on the same link has nothing on that port.
    await expect(request("GET", "/", {}, undefined, "198.51.100.2")).rejects.toThrow("ECONNREFUSED");
  }, 120_000);

  it("refuses every page without Access's JWT, and one signed by any key but the team's", async () => {
    const noJwt = await get("/");
    expect(noJwt.status).toBe(401);
    expect(JSON.parse(noJwt.body)).toEqual({ error: "this console needs Cloudflare Access's token (the CF_Authorization cookie or the Cf-Access-Jwt-Assertion header)" });
    // Right issuer and audience, signed by this test's own key: the team's keys (unreachable here) decide, so it is refused.
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT({ email: "intruder@example.test" })
      .setProtectedHeader({ alg: "RS256", kid: "forged" })
      .setIssuer(`https://${TEAM}.cloudflareaccess.com`)
      .setAudience(AUD)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const answers = await Promise.all([get("/", { "Cf-Access-Jwt-Assertion": forged }), get("/api/fleet", { Cookie: `CF_Authorization=${forged}` }), get("/api/audit")]);
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    expect(JSON.parse(answers[0]!.body)).toEqual({ error: "the Access token is not valid for this console" });
    seen.push(noJwt.body, ...answers.map((a) => a.body));
  });

  it("keys.json is 0400 and the console's user's alone, and no answer, log or other file holds a key", async () => {
    const data = join(consoleDir, "data");
    const mode = (p: string): { mode: string; uid: number; gid: number } => {
      const s = statSync(p);
      return { mode: (s.mode & 0o777).toString(8), uid: s.uid, gid: s.gid };
    };
    expect({ keys: mode(join(data, "keys.json")), data: mode(data) }).toEqual({ keys: { mode: "400", uid: 1000, gid: 1000 }, data: { mode: "700", uid: 1000, gid: 1000 } });
    expect(JSON.parse(readFileSync(join(data, "keys.json"), "utf8"))).toEqual(keys);
    // The paths a page might serve the file at: every one is refused before anything is read.
    for (const path of ["/keys.json", "/console/keys.json", "/data/keys.json", "/%2e%2e/keys.json", "/api/keys"]) seen.push((await get(path)).body);
    const logs = docker(["logs", CONTAINER]);
    seen.push((await report()).body, logs.stdout, logs.stderr, docker(["inspect", CONTAINER]).stdout);
    seen.push(...["compose.yaml", "data/fleet.json"].map((f) => readFileSync(join(consoleDir, f), "utf8")));
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((s) => s.includes(keys.w1))).toEqual([]);
  });

  it("a second install with a changed fleet.json recreates the console, which then serves the new fleet", async () => {
    // Under the first fleet, w1 is 10.100.0.2: a report of w1 from this test's address is refused.
    const before = await report();
    expect(before).toEqual({ status: 403, body: JSON.stringify({ error: "reports come from the workers' own addresses only" }) });
    const first = inspect();

    // w1 moves to this test's address.
    const r = runScript("console-install.sh", payload(fleet(TEST_ADDRESS)));
    expect(r.code, r.out).toBe(0);
    const second = inspect();
    expect(second.Id).not.toBe(first.Id);
    expect(second.State.Health?.Status).toBe("healthy");
    expect(JSON.parse(readFileSync(join(consoleDir, "data/fleet.json"), "utf8")).workers[0].address).toBe(TEST_ADDRESS);
    expect(await report()).toEqual({ status: 204, body: "" });
    expect(r.out).not.toContain(keys.w1);
  }, 120_000);
});

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KUMA_PORT } from "../../src/monitoring/kuma";
import { KUMA_DIR, KUMA_IMAGE, kumaCompose } from "../../src/monitoring/kumaCompose";
import { template } from "../../src/render/templates";
import { renderScript } from "../../src/render/script";
import { ADDONS, KumaClient } from "../helpers/kuma";
import { docker, dockerEnv, ENGINE_NETNS, requireEngine } from "../lab/engine";

/**
 * kuma-install.sh, run for real on the lab's Docker engine with the image the
 * master runs: the setup container with no network, then the compose file
 * kumaCompose renders, host-networked in the engine's namespace and listening
 * on the hub's address (198.51.100.50, this file's address on the engine's
 * side of the lab's veth; this process reaches it directly). Meanwhile a
 * prober asks Kuma, every tenth of a second, whether it still needs setting up.
 */
const HUB = "198.51.100.50";
const state = mkdtempSync(join(tmpdir(), "supafleet-kuma-boot-"));
const kumaDir = join(state, "kuma");
const ADMIN = { username: "supafleet", password: "Adm1nPassw0rdForTests" };
const SETUP = "supafleet-kuma-setup";
const KUMA = "supafleet-kuma";

/** The compose file as rendered for the master, with its folder moved under this test's. */
function compose(): string {
  const text = kumaCompose(HUB);
  const moved = text.replaceAll(KUMA_DIR, kumaDir);
  if (moved.split(kumaDir).length !== 3) throw new Error(`expected kumaCompose to name ${KUMA_DIR} in two volumes:\n${text}`);
  return moved;
}
const payload = (): string => JSON.stringify({ image: KUMA_IMAGE, compose: compose(), reconcile: template("master/kuma-reconcile.cjs"), admin: ADMIN });

/** What this file started and may still be running when a test times out. */
const children = new Set<ChildProcess>();
function track<T extends ChildProcess>(p: T): T {
  children.add(p);
  p.on("close", () => children.delete(p));
  return p;
}

function removeContainers(): void {
  docker(["rm", "-f", "-v", SETUP, KUMA], { allowFail: true });
}

beforeAll(() => {
  requireEngine();
  // A run that was killed may have left them; the names are fixed, as on the master.
  removeContainers();
  const r = spawnSync("ip", ["-n", ENGINE_NETNS, "addr", "replace", `${HUB}/32`, "dev", "sfdk-lab"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot add ${HUB} to the lab engine: ${r.stderr}`);
});

afterAll(() => {
  for (const p of children) p.kill("SIGKILL");
  removeContainers();
  spawnSync("ip", ["-n", ENGINE_NETNS, "addr", "del", `${HUB}/32`, "dev", "sfdk-lab"]);
  rmSync(state, { recursive: true, force: true });
});

const tcpOpen = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host, port, timeout: 1000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
    s.on("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });

/** Asks Kuma whether it needs setting up; undefined when nothing answers. */
function needSetup(host: string, port: number): Promise<boolean | undefined> {
  const { io } = createRequire(join(ADDONS, "uptime-kuma/package.json"))("socket.io-client") as { io: (url: string, o: object) => { emit: (e: string, cb: (v: boolean) => void) => void; once: (e: string, f: () => void) => void; close: () => void } };
  return new Promise((resolve) => {
    const socket = io(`http://${host}:${port}`, { transports: ["websocket"], reconnection: false, timeout: 1000 });
    let settled = false;
    const done = (v: boolean | undefined): void => {
      if (settled) return;
      settled = true;
      socket.close();
      resolve(v);
    };
    socket.once("connect_error", () => done(undefined));
    socket.once("connect", () => socket.emit("needSetup", (v) => done(v)));
    setTimeout(() => done(undefined), 3000);
  });
}

/** `docker …` without blocking this process (the prober runs meanwhile). */
function dockerAsync(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn("docker", args, { env: dockerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => resolve({ code, out }));
  });
}

/**
 * The engine's events of both containers, streamed while `during` runs (the
 * engine keeps only its last 256 events, and other tests make many), as
 * "action name" lines, with the seconds since the start of the stream.
 */
async function watchEvents<T>(during: () => Promise<T>): Promise<{ result: T; events: { t: number; line: string }[] }> {
  // From now: the stream replays what happens before it has subscribed.
  const p = track(spawn("docker", ["events", "--since", (Date.now() / 1000).toFixed(3), "--filter", "type=container", "--filter", `container=${SETUP}`, "--filter", `container=${KUMA}`, "--format", "{{.Action}} {{.Actor.Attributes.name}}"], { env: dockerEnv(), stdio: ["ignore", "pipe", "pipe"] }));
  const t0 = Date.now();
  const events: { t: number; line: string }[] = [];
  let buf = "";
  p.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const line of lines) events.push({ t: (Date.now() - t0) / 1000, line });
  });
  try {
    return { result: await during(), events };
  } finally {
    p.kill();
  }
}

/** Runs kuma-install.sh as the master does (root, the engine's CLI), and probes Kuma until it exits. */
async function install(): Promise<{ code: number | null; out: string; probes: number; answers: { needSetup: boolean; adminExisted: boolean }[]; setupNetworks: string[] }> {
  const p = track(spawn("bash", ["-c", renderScript("master/kuma-install.sh")], { env: dockerEnv({ ...process.env, KUMA_DIR: kumaDir }), stdio: ["pipe", "pipe", "pipe"] }));
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  p.stdin.end(payload());
  let code: number | null | undefined;
  p.on("close", (c) => (code = c));

  const answers: { needSetup: boolean; adminExisted: boolean }[] = [];
  const setupNetworks = new Set<string>();
  let probes = 0;
  let lastInspect = 0;
  while (code === undefined) {
    probes += 1;
    if (await tcpOpen(HUB, KUMA_PORT)) {
      // Read before asking: the marker is written after the account exists.
      const adminExisted = existsSync(join(kumaDir, "data/.supafleet-admin"));
      const v = await needSetup(HUB, KUMA_PORT);
      if (v !== undefined) answers.push({ needSetup: v, adminExisted });
    }
    if (Date.now() - lastInspect > 500) {
      lastInspect = Date.now();
      // The setup container's network mode and networks, while it exists.
      const r = await dockerAsync(["inspect", "-f", "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}", SETUP]);
      if (r.code === 0) setupNetworks.add(r.out.trim());
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { code, out, probes, answers, setupNetworks: [...setupNetworks] };
}

const log = (msg: string): void => void process.stdout.write(`  kuma-boot.test: ${msg}\n`);
/** The events as a timeline, without the healthchecks' and probes' exec details. */
const timeline = (events: { t: number; line: string }[]): string =>
  events
    .filter((e) => !/^exec_(start|die)|^exec_create: node -e /.test(e.line))
    .map((e) => `${e.t.toFixed(1)} ${e.line}`)
    .join("; ");

const inspect = (name: string): { Id: string; State: { Running: boolean; StartedAt: string; Health?: { Status: string } }; HostConfig: { NetworkMode: string } } =>
  JSON.parse(docker(["inspect", name]).stdout)[0];

describe("kuma-install.sh on the lab's Docker engine", () => {
  it("no listener ever accepts a setup request: the admin account exists before Kuma is reachable", async () => {
    const { result: r, events } = await watchEvents(install);
    log(`first install: ${timeline(events)}`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("kuma-install: admin account created before Kuma was reachable");

    // The setup container really ran, with no network at all, and was gone before Compose started Kuma.
    expect(r.setupNetworks.length, "the setup container was never seen").toBeGreaterThan(0);
    expect(r.setupNetworks.every((n) => n === "none none=;"), JSON.stringify(r.setupNetworks)).toBe(true);
    const ev = events.map((e) => e.line);
    const at = (line: string): number => ev.indexOf(line);
    const account = `exec_create: node /supafleet/kuma-reconcile.cjs ${SETUP}`;
    expect(at(`start ${SETUP}`), ev.join("\n")).toBeGreaterThanOrEqual(0);
    expect(at(account), ev.join("\n")).toBeGreaterThan(at(`start ${SETUP}`));
    expect(at(`destroy ${SETUP}`), ev.join("\n")).toBeGreaterThan(at(account));
    expect(at(`start ${KUMA}`), ev.join("\n")).toBeGreaterThan(at(`destroy ${SETUP}`));

    // Nothing answered at the hub's address before the admin account existed, and nothing ever asked for setup.
    expect(r.probes).toBeGreaterThan(10);
    expect(r.answers.filter((a) => !a.adminExisted || a.needSetup !== false)).toEqual([]);
    // Kuma was up, healthy and answering by the time the install returned, and the account works.
    const kuma = inspect(KUMA);
    expect(kuma.HostConfig.NetworkMode).toBe("host");
    expect(kuma.State.Health?.Status).toBe("healthy");
    expect(await needSetup(HUB, KUMA_PORT)).toBe(false);
    const client = await KumaClient.login(`http://${HUB}:${KUMA_PORT}`, ADMIN.username, ADMIN.password);
    client.close();
  }, 240_000);

  it("run again, it keeps the account and Kuma, and starts no setup container", async () => {
    const before = inspect(KUMA);
    const { result: r, events } = await watchEvents(install);
    log(`second install: ${timeline(events)}`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain("admin account created");
    expect(events.map((e) => e.line).filter((l) => l.endsWith(SETUP))).toEqual([]);
    expect(r.setupNetworks).toEqual([]);
    // The same container, neither recreated nor restarted, still healthy; the account is the one made before.
    const after = inspect(KUMA);
    expect({ id: after.Id, started: after.State.StartedAt }).toEqual({ id: before.Id, started: before.State.StartedAt });
    expect(after.State.Health?.Status).toBe("healthy");
    expect(r.answers.length).toBeGreaterThan(0);
    expect(r.answers.filter((a) => a.needSetup !== false)).toEqual([]);
    const client = await KumaClient.login(`http://${HUB}:${KUMA_PORT}`, ADMIN.username, ADMIN.password);
    client.close();
  }, 60_000);
});

import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KumaDesired } from "../../src/monitoring/kuma";
import { wireguardPublicKey } from "../../src/model/wireguard";
import { hubInterfaceConfig, workerConfig, type MeshShape } from "../../src/render/mesh";
import { renderWgConf } from "../../src/render/wireguardConf";
import { KumaClient, TestKuma, reconcile } from "../helpers/kuma";
import { ROOT } from "../helpers/stacks";
import { docker, dockerEnv, requireEngine } from "../lab/engine";
import { eventually, Lab } from "./netns/lab";

/**
 * The worker's health agent, run for real against what it watches:
 * - containers on the lab's real Docker engine, under compose project labels: healthy ones, one that never
 *   becomes healthy (the lab's `-lab-unhealthy` GoTrue), one in a crash loop (`restart: always`, a command that
 *   exits), one that crashes three times and then stays up, and one that was created but never started;
 * - the worker's WireGuard: wireguard-go in a lab namespace with the rendered worker config, and a hub that first
 *   does not know the worker (no handshake), then does (a real, fresh handshake, which a short threshold makes stale);
 * - the disk: a real 400 KiB tmpfs in the worker's mount namespace, filled to 41 % or 97 %.
 * Memory is the one thing read from a file the test writes (MEMINFO): this machine cannot be brought to 4 % free
 * memory without starving the rest of the suite.
 * The push goes to a real Uptime Kuma's push monitor, and the test reads back the heartbeat Kuma recorded, as an
 * operator would see it. The agent runs on this machine's network (Kuma is on its loopback) inside the worker's
 * mount namespace, whose /run/wireguard holds the worker's wireguard-go socket, which `wg show wg0` talks to.
 */
const kuma = new TestKuma(23902);
const ADMIN = { username: "supafleet", password: "Adm1nPassw0rdForTests" };
const TOKEN = "w1healthagentpushtoken0123456789";
const work = mkdtempSync(join(tmpdir(), "supafleet-agent-"));
const AGENT = join(ROOT, "templates/worker/health-agent.sh");
let client: KumaClient;
let monitorId: number;

const desired: KumaDesired = {
  tag: "supafleet",
  notifications: [],
  monitors: [{ id: "worker/w1/agent", name: "w1 · health agent", type: "push", description: "d", interval: 120, retryInterval: 60, maxretries: 0, pushToken: "${secret:push:worker/w1/agent}" }],
  statusPages: [],
};

// ---- The worker's containers: one compose project each, on the lab's engine ----------------------------------------
const GOTRUE = "supabase/gotrue:v2.186.0";
const BASE = "supafleet-lab/base";
// GoTrue's stand-in with the rendered compose file's healthcheck, checked every second.
const auth = (project: string, image = GOTRUE): Record<string, unknown> => ({
  image,
  container_name: `${project}-auth`,
  restart: "unless-stopped",
  healthcheck: { test: ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:9999/health"], interval: "1s", timeout: "2s", retries: 2 },
});
const idle = (name: string): Record<string, unknown> => ({ image: BASE, container_name: name, restart: "unless-stopped", command: ["sleep", "infinity"], init: true });
// Runs until told (docker exec … echo N > /tmp/crashes) to crash N times; `restart: always` brings it back each time,
// and its file system (so the count left) survives each restart. In the compose file, $$ is a literal $.
const FLAKY = 'while :; do left=$(cat /tmp/crashes 2>/dev/null || echo 0); if [ "$left" -gt 0 ]; then echo $((left - 1)) > /tmp/crashes; exit 1; fi; sleep 0.2; done';
const PROJECTS: Record<string, Record<string, Record<string, unknown>>> = {
  // Up and healthy: a service with a healthcheck, one without, and one that can be made to crash.
  hlok: { auth: auth("hlok"), app: idle("hlok-app"), flaky: { image: BASE, container_name: "hlok-flaky", restart: "always", command: ["sh", "-c", FLAKY.replaceAll("$", () => "$$")] } },
  hlreg: { auth: auth("hlreg") },
  // A release whose GoTrue never becomes healthy.
  hlsick: { auth: auth("hlsick", `${GOTRUE}-lab-unhealthy`) },
  // A crash loop: its command exits at once, every time.
  hlloop: { crash: { image: BASE, container_name: "hlloop-crash", restart: "always", command: ["sh", "-c", "echo starting; exit 3"] } },
  // Created (docker compose create), never started.
  hlnew: { app: idle("hlnew-app") },
};
const HEALTHY = ["hlok", "hlreg"];

function compose(project: string, ...args: string[]): void {
  const file = join(work, "compose", `${project}.yaml`);
  mkdirSync(join(work, "compose"), { recursive: true });
  writeFileSync(file, JSON.stringify({ name: project, services: PROJECTS[project] }, null, 2));
  const r = spawnSync("docker", ["compose", "-p", project, "-f", file, ...args], { encoding: "utf8", env: dockerEnv() });
  if (r.status !== 0) throw new Error(`docker compose -p ${project} ${args.join(" ")} failed: ${r.stderr}`);
}

interface Inspected {
  state: string;
  health: string;
  restarts: number;
}
function inspect(container: string): Inspected {
  const [c] = JSON.parse(docker(["container", "inspect", container]).stdout) as { RestartCount: number; State: { Status: string; Health?: { Status: string } } }[];
  return { state: c!.State.Status, health: c!.State.Health?.Status ?? "none", restarts: c!.RestartCount };
}
async function until(container: string, ok: (c: Inspected) => boolean, what: string, ms = 30_000): Promise<void> {
  await eventually(() => ok(inspect(container)), `${container}: ${what}`, ms);
}

// ---- The worker's WireGuard: a hub and a worker in namespaces, as the mesh test brings them up ---------------------
const lab = new Lab();
const mesh: MeshShape = { subnet: "10.100.0.0/24", prefix: 24, hub: "10.100.0.1", port: 51820 };
const UNDERLAY = { hub: "192.0.2.1", w1: "192.0.2.2" } as const;
const W1 = "10.100.0.2";
const USERSPACE = { WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" };
const key = (): { privateKey: string; publicKey: string } => {
  const privateKey = randomBytes(32).toString("base64");
  return { privateKey, publicKey: wireguardPublicKey(privateKey) };
};
const keys = { hub: key(), w1: key() };
const ping = (from: string, to: string): boolean => lab.try(from, ["ping", "-c", "1", "-W", "1", to]).status === 0;

// ---- The worker's disk: a real, small file system, filled as a scenario asks --------------------------------------
const DISK = "/usr/local/lib/supafleet/disk";
function fillDisk(pct: number): void {
  // 400 KiB of 4 KiB pages: pct % of it is pct * 4 KiB.
  lab.exec("w1", ["sh", "-c", `rm -f ${DISK}/fill && head -c ${pct * 4096} /dev/zero > ${DISK}/fill && sync`]);
}

beforeAll(async () => {
  requireEngine();
  await Promise.all([
    kuma.start(),
    (async () => {
      await lab.up([
        { name: "hub", underlay: UNDERLAY.hub },
        { name: "w1", underlay: UNDERLAY.w1 },
      ]);
      // The hub as before its first hub-sync: it does not know the worker yet.
      lab.writeFile("hub", "/etc/wireguard/wg0.conf", renderWgConf(hubInterfaceConfig(mesh, keys.hub.privateKey)));
      lab.exec("hub", ["wg-quick", "up", "wg0"], { env: USERSPACE });
      lab.writeFile("w1", "/etc/wireguard/wg0.conf", renderWgConf(workerConfig(mesh, { privateKey: keys.w1.privateKey, address: W1, hubPublicKey: keys.hub.publicKey, hubIp: UNDERLAY.hub })));
      lab.exec("w1", ["wg-quick", "up", "wg0"], { env: USERSPACE });
      lab.exec("w1", ["sh", "-c", `mkdir -p ${DISK} && mount -t tmpfs -o size=400k tmpfs ${DISK}`]);
      fillDisk(41);
    })(),
    (async () => {
      for (const p of HEALTHY) compose(p, "up", "-d", "--wait", "--wait-timeout", "60");
      compose("hlsick", "up", "-d");
      compose("hlnew", "create");
    })(),
  ]);
  const r = reconcile({ url: kuma.url, ...ADMIN, setup: true, desired, secrets: { "push:worker/w1/agent": TOKEN } });
  expect(r.status).toBe(0);
  client = await KumaClient.login(kuma.url, ADMIN.username, ADMIN.password);
  monitorId = (await client.monitors()).find((m) => m.pushToken === TOKEN)!.id;
  await until("hlsick-auth", (c) => c.health === "unhealthy", "unhealthy");
}, 120_000);

afterAll(() => {
  client?.close();
  kuma.stop();
  for (const p of Object.keys(PROJECTS)) {
    spawnSync("docker", ["compose", "-p", p, "-f", join(work, "compose", `${p}.yaml`), "down", "-v", "-t", "0"], { env: dockerEnv(), stdio: "ignore" });
  }
  lab.down();
  rmSync(work, { recursive: true, force: true });
});

/** The worker's projects folder holding these projects, each with a current release, and one that was removed. */
function projectsDir(projects: readonly string[]): string {
  const dir = join(work, "projects", [...projects].sort().join("+"));
  for (const p of projects) mkdirSync(join(dir, p, "releases/current"), { recursive: true });
  // A project that was removed leaves its directory but no current release: the agent must not expect containers.
  mkdirSync(join(dir, "gone"), { recursive: true });
  return dir;
}

interface Scenario {
  projects?: readonly string[];
  memAvailablePct?: number;
  /** HANDSHAKE_MAX_AGE; the agent's default (300 s) unless a test makes a fresh handshake stale. */
  handshakeMaxAge?: number;
  pushUrl?: string;
  /** Runs outside the worker's mount namespace: no wireguard-go socket, as when wg0 is down. */
  withoutWireguard?: boolean;
  trace?: boolean;
}

function agent(s: Scenario = {}): { status: number | null; stdout: string; stderr: string } {
  const total = 8_000_000;
  writeFileSync(join(work, "meminfo"), `MemTotal:       ${total} kB\nMemFree:         100000 kB\nMemAvailable:   ${Math.round((total * (s.memAvailablePct ?? 60)) / 100)} kB\n`);
  const conf = [
    `PUSH_URL='${s.pushUrl ?? `${kuma.url}/api/push/${TOKEN}`}'`,
    `PROJECTS_DIR='${projectsDir(s.projects ?? HEALTHY)}'`,
    `STATE_DIR='${join(work, "state")}'`,
    `DISK_PATH=${s.withoutWireguard ? "/" : DISK}`,
    `MEMINFO='${join(work, "meminfo")}'`,
    ...(s.handshakeMaxAge !== undefined ? [`HANDSHAKE_MAX_AGE=${s.handshakeMaxAge}`] : []),
  ];
  writeFileSync(join(work, "agent.env"), conf.join("\n") + "\n");
  const bash = ["bash", ...(s.trace ? ["-x"] : []), AGENT, join(work, "agent.env")];
  const argv = s.withoutWireguard ? bash : ["nsenter", "-t", String(lab.anchorPid("w1")), "-m", ...bash];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: dockerEnv(), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The restart counts the agent recorded on its last run, by container. */
function recordedRestarts(): Record<string, number> {
  return Object.fromEntries(
    readFileSync(join(work, "state/restarts"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]),
  );
}

/** The newest heartbeat Kuma records for the agent's monitor after a run. */
async function lastBeat(s: Scenario = {}): Promise<{ status: number; msg: string }> {
  const seen = client.heartbeats.length;
  const r = agent(s);
  expect(r.status, r.stderr).toBe(0);
  return client.heartbeat(monitorId, (h) => client.heartbeats.indexOf(h) >= seen, 20_000);
}

describe("the worker health agent, on a real Docker engine and WireGuard, pushing to Uptime Kuma", () => {
  it("a worker the hub does not know yet: no handshake, pushes down saying so; up once the hub adds it", async () => {
    const beat = await lastBeat();
    expect(beat).toMatchObject({ status: 0, msg: "no WireGuard handshake with the hub" });
    // What hub-sync does for a new worker: the peer, in place.
    lab.exec("hub", ["wg", "set", "wg0", "peer", keys.w1.publicKey, "allowed-ips", `${W1}/32`]);
    await eventually(() => ping("w1", mesh.hub), "the worker's handshake with the hub", 20_000);
    expect((await lastBeat()).status).toBe(1);
  });

  it("healthy: pushes up with what it checked", async () => {
    const beat = await lastBeat();
    expect(beat.status).toBe(1);
    expect(beat.msg).toMatch(/^ok: 2 projects, 4 containers; disk 41%, memory 60% free, handshake \d+s$/);
  });

  it("one unhealthy container: pushes down naming it", async () => {
    expect(inspect("hlsick-auth")).toMatchObject({ state: "running", health: "unhealthy" });
    const beat = await lastBeat({ projects: [...HEALTHY, "hlsick"] });
    expect(beat).toMatchObject({ status: 0, msg: "hlsick-auth unhealthy" });
  });

  it("a full disk: pushes down with the figure", async () => {
    fillDisk(97);
    try {
      const beat = await lastBeat();
      expect(beat).toMatchObject({ status: 0, msg: `disk 97% used (${DISK})` });
    } finally {
      fillDisk(41);
    }
  });

  it("a stale WireGuard handshake: pushes down with its age", async () => {
    // A real handshake, older than the threshold: the threshold lowered to a second rather than waiting five minutes.
    const latest = (): number => Number(lab.exec("w1", ["wg", "show", "wg0", "latest-handshakes"]).split(/\s+/)[1]);
    expect(latest()).toBeGreaterThan(0);
    await eventually(() => Date.now() / 1000 - latest() >= 2.5, "a handshake two seconds old");
    const beat = await lastBeat({ handshakeMaxAge: 1 });
    expect(beat.status).toBe(0);
    expect(beat.msg).toMatch(/^WireGuard handshake \d+s old$/);
    expect(Number(beat.msg.match(/(\d+)s/)![1])).toBeGreaterThanOrEqual(2);
  });

  it("WireGuard down (no wg0): pushes down saying so rather than dying without a word", async () => {
    const beat = await lastBeat({ withoutWireguard: true });
    expect(beat).toMatchObject({ status: 0, msg: "WireGuard interface wg0 is down" });
  });

  it("a container that crashed and came back, and low memory, together: both reasons, and up again once they pass", async () => {
    expect((await lastBeat()).status).toBe(1);
    expect(recordedRestarts()["hlok-flaky"]).toBe(0);
    docker(["exec", "hlok-flaky", "sh", "-c", "echo 3 > /tmp/crashes"]);
    await until("hlok-flaky", (c) => c.restarts === 3 && c.state === "running", "crashed three times, running again");
    const beat = await lastBeat({ memAvailablePct: 4 });
    expect(beat).toMatchObject({ status: 0, msg: "hlok-flaky restarted 3x in the last run; memory 4% available" });
    const again = await lastBeat();
    expect(again.status).toBe(1);
  });

  it("a container in a crash loop and one never started: names both, with the restarts since the last run", async () => {
    const projects = [...HEALTHY, "hlloop", "hlnew"];
    expect(inspect("hlnew-app")).toMatchObject({ state: "created", health: "none", restarts: 0 });
    // Started here, so Docker's back-off between restarts (doubling from 100 ms) is still short.
    compose("hlloop", "up", "-d");
    await lastBeat({ projects });
    const before = recordedRestarts()["hlloop-crash"]!;
    await until("hlloop-crash", (c) => c.restarts > before, "restarted since the agent's last run");
    const beat = await lastBeat({ projects });
    const n = recordedRestarts()["hlloop-crash"]! - before;
    expect(n).toBeGreaterThan(0);
    expect(beat.status).toBe(0);
    // Between two starts Docker says "restarting"; for the instant the command runs, "running".
    expect(beat.msg).toMatch(new RegExp(`^(hlloop-crash restarting; )?hlloop-crash restarted ${n}x in the last run; hlnew-app created$`));
  });

  it("never puts the push token in argv, and fails loudly when Kuma cannot be reached", () => {
    const r = agent({ pushUrl: `http://127.0.0.1:9/api/push/${TOKEN}`, trace: true });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain("health-agent: could not reach Uptime Kuma to report: up: ok:");
    // bash -x prints every command with its arguments: curl's line must not hold the token.
    const curlLines = r.stderr.split("\n").filter((l) => /^\++ curl /.test(l));
    expect(curlLines.length).toBe(1);
    expect(curlLines[0]).not.toContain(TOKEN);
  });
});

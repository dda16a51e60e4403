import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KumaDesired } from "../../src/monitoring/kuma";
import { KumaClient, TestKuma, reconcile } from "../helpers/kuma";
import { ROOT } from "../helpers/stacks";

/**
 * The worker's health agent, run for real: a fake docker, df and wg describe
 * the worker; the push goes to a real Uptime Kuma's push monitor, and the test
 * reads back the heartbeat Kuma recorded, as an operator would see it.
 */
const kuma = new TestKuma(23902);
const ADMIN = { username: "supafleet", password: "Adm1nPassw0rdForTests" };
const TOKEN = "w1healthagentpushtoken0123456789";
const FAKES = join(__dirname, "fakes/health");
const work = mkdtempSync(join(tmpdir(), "supafleet-agent-"));
let client: KumaClient;
let monitorId: number;

const desired: KumaDesired = {
  tag: "supafleet",
  notifications: [],
  monitors: [{ id: "worker/w1/agent", name: "w1 · health agent", type: "push", description: "d", interval: 120, retryInterval: 60, maxretries: 0, pushToken: "${secret:push:worker/w1/agent}" }],
  statusPages: [],
};

beforeAll(async () => {
  await kuma.start();
  const r = reconcile({ url: kuma.url, ...ADMIN, setup: true, desired, secrets: { "push:worker/w1/agent": TOKEN } });
  expect(r.status).toBe(0);
  client = await KumaClient.login(kuma.url, ADMIN.username, ADMIN.password);
  monitorId = (await client.monitors()).find((m) => m.pushToken === TOKEN)!.id;
  for (const p of ["ops", "registry"]) mkdirSync(join(work, "projects", p, "releases/current"), { recursive: true });
  // A project that was removed leaves its directory but no current release: the agent must not expect containers.
  mkdirSync(join(work, "projects", "gone"), { recursive: true });
  writeFileSync(join(work, "agent.env"), `PUSH_URL='${kuma.url}/api/push/${TOKEN}'\nPROJECTS_DIR='${join(work, "projects")}'\nSTATE_DIR='${join(work, "state")}'\nDISK_PATH=/\nMEMINFO='${join(work, "meminfo")}'\n`);
}, 120_000);

afterAll(() => {
  client?.close();
  kuma.stop();
  rmSync(work, { recursive: true, force: true });
});

const HEALTHY = ["ops ops-db running healthy 0", "ops ops-kong running healthy 0", "ops ops-rest running none 0", "registry registry-db running healthy 0"];

function agent(scenario: { containers?: string[]; disk?: number; memAvailablePct?: number; handshakeAge?: number }): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(join(work, "containers"), (scenario.containers ?? HEALTHY).join("\n") + "\n");
  const total = 8_000_000;
  writeFileSync(join(work, "meminfo"), `MemTotal:       ${total} kB\nMemFree:         100000 kB\nMemAvailable:   ${Math.round((total * (scenario.memAvailablePct ?? 60)) / 100)} kB\n`);
  const r = spawnSync("bash", [join(ROOT, "templates/worker/health-agent.sh"), join(work, "agent.env")], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${FAKES}:${process.env.PATH}`, FAKE_HEALTH: join(work, "containers"), FAKE_DISK_PCT: String(scenario.disk ?? 41), FAKE_WG_AGE: String(scenario.handshakeAge ?? 20) },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The newest heartbeat Kuma records for the agent's monitor after a run. */
async function lastBeat(run: () => void): Promise<{ status: number; msg: string }> {
  const seen = client.heartbeats.length;
  run();
  return client.heartbeat(monitorId, (h) => client.heartbeats.indexOf(h) >= seen, 20_000);
}

describe("the worker health agent, pushing to Uptime Kuma", () => {
  it("healthy: pushes up with what it checked", async () => {
    const beat = await lastBeat(() => expect(agent({}).status).toBe(0));
    expect(beat.status).toBe(1);
    expect(beat.msg).toMatch(/^ok: 2 projects, 4 containers; disk 41%, memory 60% free, handshake 2\ds$/);
  });

  it("one unhealthy container: pushes down naming it", async () => {
    const containers = HEALTHY.map((c) => (c.startsWith("ops ops-db") ? "ops ops-db running unhealthy 0" : c));
    const beat = await lastBeat(() => expect(agent({ containers }).status).toBe(0));
    expect(beat.status).toBe(0);
    expect(beat.msg).toBe("ops-db unhealthy");
  });

  it("a full disk (simulated): pushes down with the figure", async () => {
    const beat = await lastBeat(() => expect(agent({ disk: 97 }).status).toBe(0));
    expect(beat.status).toBe(0);
    expect(beat.msg).toBe("disk 97% used (/)");
  });

  it("a stale WireGuard handshake: pushes down with its age", async () => {
    const beat = await lastBeat(() => expect(agent({ handshakeAge: 900 }).status).toBe(0));
    expect(beat.status).toBe(0);
    expect(beat.msg).toMatch(/^WireGuard handshake 90\ds old$/);
  });

  it("a crash-looping container and low memory, together: both reasons, and up again once they pass", async () => {
    expect((await lastBeat(() => expect(agent({}).status).toBe(0))).status).toBe(1);
    const looping = HEALTHY.map((c) => (c.startsWith("ops ops-kong") ? "ops ops-kong running healthy 3" : c));
    const beat = await lastBeat(() => expect(agent({ containers: looping, memAvailablePct: 4 }).status).toBe(0));
    expect(beat.status).toBe(0);
    expect(beat.msg).toBe("ops-kong restarted 3x in the last run; memory 4% available");
    const again = await lastBeat(() => expect(agent({ containers: looping }).status).toBe(0));
    expect(again.status).toBe(1);
  });

  it("never puts the push token in argv, and fails loudly when Kuma cannot be reached", () => {
    writeFileSync(join(work, "bad.env"), `PUSH_URL='http://127.0.0.1:9/api/push/${TOKEN}'\nPROJECTS_DIR='${join(work, "projects")}'\nSTATE_DIR='${join(work, "state")}'\nDISK_PATH=/\nMEMINFO='${join(work, "meminfo")}'\n`);
    const r = spawnSync("bash", ["-x", join(ROOT, "templates/worker/health-agent.sh"), join(work, "bad.env")], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${FAKES}:${process.env.PATH}`, FAKE_HEALTH: join(work, "containers"), FAKE_DISK_PCT: "41", FAKE_WG_AGE: "20" },
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain("health-agent: could not reach Uptime Kuma to report: up: ok:");
    // bash -x prints every command with its arguments: curl's line must not hold the token.
    const curlLines = r.stderr.split("\n").filter((l) => /^\++ curl /.test(l));
    expect(curlLines.length).toBe(1);
    expect(curlLines[0]).not.toContain(TOKEN);
  });
});

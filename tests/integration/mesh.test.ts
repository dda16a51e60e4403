import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentSettings } from "../../src/console/agentPayload";
import { AGENT_PORT, CONSOLE_PORT } from "../../src/console/fleetView";
import { wireguardPublicKey } from "../../src/model/wireguard";
import { KUMA_PORT } from "../../src/monitoring/kuma";
import { bootMasterSets, masterRuleset, workerRuleset } from "../../src/render/hostFirewall";
import { hubPeerSet, hubSyncPayload, type HubPeer } from "../../src/render/hub";
import { hubInterfaceConfig, operatorConfig, workerConfig, type MeshShape } from "../../src/render/mesh";
import { renderNftFile } from "../../src/render/nftables";
import { template } from "../../src/render/templates";
import { renderScript } from "../../src/render/script";
import { renderWgConf } from "../../src/render/wireguardConf";
import { eventually, Lab, type Sweep } from "./netns/lab";

/**
 * The mesh as supafleet renders it, brought up for real: wireguard-go and
 * wg-quick with the rendered configs, the rendered nftables rules, and the
 * real hub-sync script, in network namespaces on documentation addresses.
 */
const mesh: MeshShape = { subnet: "10.100.0.0/24", prefix: 24, hub: "10.100.0.1", port: 51820 };
const UNDERLAY = { master: "192.0.2.1", w1: "192.0.2.2", w2: "192.0.2.3", op: "192.0.2.10", inet: "192.0.2.100" } as const;
const UNDERLAY6 = { master: "2001:db8::1", w1: "2001:db8::2", w2: "2001:db8::3", op: "2001:db8::10", inet: "2001:db8::100" } as const;
// The operator's office, on both families: the stack file's operators[].sshRanges.
const OPERATOR_RANGES = [`${UNDERLAY.op}/32`, `${UNDERLAY6.op}/128`];
const WG = { w1: "10.100.0.2", w2: "10.100.0.3", op: "10.100.0.250" } as const;
const SCRIPTS = join(__dirname, "netns");
// A handful of full sweeps, each a few seconds of nmap.
const SWEEPS = 120_000;
const USERSPACE = { WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" };

const key = (): { privateKey: string; publicKey: string } => {
  const privateKey = randomBytes(32).toString("base64");
  return { privateKey, publicKey: wireguardPublicKey(privateKey) };
};
const keys = { master: key(), w1: key(), w2: key(), op: key() };
const workerPeers = (names: ("w1" | "w2")[]): HubPeer[] => names.map((n) => ({ name: n, address: WG[n], publicKey: keys[n].publicKey }));
const operatorPeers: HubPeer[] = [{ name: "op", address: WG.op, publicKey: keys.op.publicKey }];

/**
 * The worker's agent as WorkerAgent installs it (its settings, a 64-hex key beside them), on the worker's
 * WireGuard address; its files in the host's own /usr/local/lib/supafleet. `down()` ends it.
 */
async function startAgent(w: "w1" | "w2"): Promise<void> {
  const dir = "/usr/local/lib/supafleet/agent";
  lab.exec(w, ["mkdir", "-m", "0700", dir]);
  lab.writeFile(w, `${dir}/agent.json`, JSON.stringify({ ...agentSettings(w, WG[w], mesh.hub), stateDir: `${dir}/state` }));
  lab.writeFile(w, `${dir}/key`, `${randomBytes(32).toString("hex")}\n`);
  // Debian's python3, as on a worker.
  const agent = lab.spawn(w, ["/usr/bin/python3", join(__dirname, "../../templates/worker/worker-agent.py"), `${dir}/agent.json`]);
  let journal = "";
  await new Promise<void>((resolve, reject) => {
    agent.stderr!.on("data", (d: Buffer) => {
      journal += d.toString();
      if (journal.includes("listening on")) resolve();
    });
    agent.once("exit", (code) => reject(new Error(`${w}'s agent exited with ${code}: ${journal}`)));
  });
}

/** What MasterNode's hub-sync command sends, for a given set of workers: Kuma and the console on. */
function hubPayload(workers: ("w1" | "w2")[]): string {
  const state = hubPeerSet(OPERATOR_RANGES, operatorPeers, workerPeers(workers));
  const nft = renderNftFile(masterRuleset({ wireguardPort: mesh.port, allowWorkerToWorker: false, sets: state.firewall, kumaPort: KUMA_PORT, consolePort: CONSOLE_PORT }));
  return hubSyncPayload(renderWgConf({ peers: state.peers }), nft);
}

const lab = new Lab();
let beforeSync: { inet: Sweep; inet6: Sweep; op: Sweep; op6: Sweep } | undefined;
const ping = (from: string, to: string): boolean => lab.try(from, ["ping", "-c", "1", "-W", "1", to]).status === 0;
const probe = (from: string, host: string, port: number): { ok: boolean; answer: string } => {
  const r = lab.try(from, [process.execPath, join(SCRIPTS, "probe.mjs"), host, String(port), "1500"]);
  return { ok: r.status === 0, answer: r.stdout.trim() };
};
/** A listener on every address of a host (listen.mjs), ready when this resolves; `down()` ends it. */
async function listenOn(host: string, port: number): Promise<ChildProcess> {
  const listener = lab.spawn(host, [process.execPath, join(SCRIPTS, "listen.mjs"), String(port)]);
  await new Promise((resolve) => listener.stdout!.once("data", resolve));
  return listener;
}

/**
 * A sweep checked against what must be reachable. A lost probe can only hide a port, never show one, so a
 * result missing expected ports is swept again (twice at most); an extra port fails at once: it is a hole.
 */
async function sweepFor(from: string, target: string, expected: Sweep): Promise<Sweep> {
  let found = await lab.sweep(from, target);
  for (let again = 0; again < 2 && found.reachableCount < expected.reachableCount && found.reachable.every((p) => expected.reachable.includes(p)); again++) {
    found = await lab.sweep(from, target);
  }
  return found;
}
/** Sweeps that go through one host's wireguard-go run one after another: in parallel they overrun it. */
async function inSeries<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const job of jobs) out.push(await job());
  return out;
}

beforeAll(async () => {
  await lab.up(Object.entries(UNDERLAY).map(([name, underlay]) => ({ name, underlay, underlay6: UNDERLAY6[name as keyof typeof UNDERLAY6] })));

  // The master, as its boot data leaves it: sysctls, the boot firewall, the hub interface.
  lab.exec("master", ["sysctl", "-q", "-p", "-"], { input: template("host/sysctl-hub.conf") });
  lab.writeFile("master", "/etc/nftables.d/supafleet.nft", renderNftFile(masterRuleset({ wireguardPort: mesh.port, allowWorkerToWorker: false, sets: bootMasterSets(OPERATOR_RANGES) })));
  lab.exec("master", ["nft", "-f", "/etc/nftables.d/supafleet.nft"]);
  lab.writeFile("master", "/etc/wireguard/wg0.conf", renderWgConf(hubInterfaceConfig(mesh, keys.master.privateKey)));
  lab.exec("master", ["wg-quick", "up", "wg0"], { env: USERSPACE });

  // Each worker, as its boot data leaves it.
  for (const w of ["w1", "w2"] as const) {
    lab.writeFile(w, "/etc/nftables.d/supafleet.nft", renderNftFile(workerRuleset({ subnet: mesh.subnet })));
    lab.exec(w, ["nft", "-f", "/etc/nftables.d/supafleet.nft"]);
    lab.writeFile(w, "/etc/wireguard/wg0.conf", renderWgConf(workerConfig(mesh, { privateKey: keys[w].privateKey, address: WG[w], hubPublicKey: keys.master.publicKey, hubIp: UNDERLAY.master })));
    lab.exec(w, ["wg-quick", "up", "wg0"], { env: USERSPACE });
  }

  // The operator's laptop, with the client config supafleet exports.
  lab.writeFile("op", "/etc/wireguard/wg0.conf", renderWgConf(operatorConfig(mesh, { name: "op", privateKey: keys.op.privateKey, address: WG.op, hubPublicKey: keys.master.publicKey, hubIp: UNDERLAY.master })));
  lab.exec("op", ["wg-quick", "up", "wg0"], { env: USERSPACE });

  // A stand-in for the operator console on the master and w1's real agent, from the start, so every sweep
  // below (the boot firewall's too) sees them. The stand-in listens on every address, not only WireGuard's:
  // the firewall alone must keep it off the public ones.
  await listenOn("master", CONSOLE_PORT);
  await startAgent("w1");

  // SSH to the master as its boot data leaves it, before any hub-sync: only the operators' ranges get in.
  const ssh = await listenOn("master", 22);
  const [inet, inet6, op, op6] = await Promise.all([
    lab.sweep("inet", UNDERLAY.master),
    lab.sweep("inet", UNDERLAY6.master),
    sweepFor("op", UNDERLAY.master, { reachable: [22], reachableCount: 1 }),
    sweepFor("op", UNDERLAY6.master, { reachable: [22], reachableCount: 1 }),
  ]);
  beforeSync = { inet, inet6, op, op6 };
  ssh.kill("SIGKILL");

  // Then what `pulumi up` does over SSH: the real hub-sync script with the real payload.
  lab.exec("master", ["bash", "-c", renderScript("host/hub-sync.sh")], { input: hubPayload(["w1", "w2"]) });

  // A database-like listener on every address of w1 and w2, port 5432.
  for (const w of ["w1", "w2"]) await listenOn(w, 5432);
  await eventually(() => ping("w1", mesh.hub) && ping("w2", mesh.hub) && ping("op", mesh.hub), "every peer's handshake with the hub");
}, 120_000);

afterAll(() => lab.down());

describe("the WireGuard mesh and host firewalls, in network namespaces", () => {
  it("the master and each worker reach each other over WireGuard", () => {
    for (const w of ["w1", "w2"] as const) {
      expect(ping("master", WG[w]), `master → ${w}`).toBe(true);
      expect(ping(w, mesh.hub), `${w} → master`).toBe(true);
    }
  });

  // Sweeps on separate paths run side by side; the last test shows a sweep sees every open port.
  const nothing: Sweep = { reachable: [], reachableCount: 0 };
  const only22: Sweep = { reachable: [22], reachableCount: 1 };
  // Over WireGuard, an operator also reaches the console (its CLI; the console checks the Access token).
  const sshAndConsole: Sweep = { reachable: [22, CONSOLE_PORT], reachableCount: 2 };

  it("a full TCP sweep from the internet finds nothing on the master or a worker, on IPv4 or IPv6", { timeout: SWEEPS }, async () => {
    const targets = [UNDERLAY.master, UNDERLAY6.master, UNDERLAY.w1, UNDERLAY6.w1];
    const found = await Promise.all(targets.map((t) => lab.sweep("inet", t)));
    expect(Object.fromEntries(targets.map((t, i) => [t, found[i]]))).toEqual(Object.fromEntries(targets.map((t) => [t, nothing])));
  });

  it("a full TCP sweep from an operator finds only the master's SSH on its public address, SSH and the console over WireGuard, and nothing on a worker (not its agent)", { timeout: SWEEPS }, async () => {
    const expected: Record<string, Sweep> = { [UNDERLAY.master]: only22, [mesh.hub]: sshAndConsole, [WG.w1]: nothing, [WG.w2]: nothing };
    const targets = Object.keys(expected);
    // The public address over the internet, beside the three over WireGuard, which go one at a time.
    const overMesh = inSeries(targets.filter((t) => t !== UNDERLAY.master).map((t) => () => sweepFor("op", t, expected[t]!)));
    const [overInternet, meshFound] = await Promise.all([sweepFor("op", UNDERLAY.master, expected[UNDERLAY.master]!), overMesh]);
    const found = targets.map((t) => (t === UNDERLAY.master ? overInternet : meshFound[targets.filter((x) => x !== UNDERLAY.master).indexOf(t)]!));
    expect(Object.fromEntries(targets.map((t, i) => [t, found[i]]))).toEqual(expected);
  });

  it("a full TCP sweep from one worker finds nothing on the other (not its agent), and only Kuma and the console on the master, while a host without a firewall shows every port (so a sweep can see a hole)", { timeout: SWEEPS }, async () => {
    const kumaAndConsole: Sweep = { reachable: [KUMA_PORT, CONSOLE_PORT], reachableCount: 2 };
    const [overMesh, overInternet, toMaster] = await Promise.all([lab.sweep("w2", WG.w1), lab.sweep("w2", UNDERLAY.w1), sweepFor("w1", mesh.hub, kumaAndConsole)]);
    expect({ overMesh, overInternet, toMaster }).toEqual({ overMesh: nothing, overInternet: nothing, toMaster: kumaAndConsole });
    // The operator's laptop has no firewall here: every port answers, if only with a reset. Twice the packets of a
    // dropping target, so at a quarter of the rate: at the full one, a loaded machine (CI's) lost every answer three times over.
    expect((await lab.sweep("inet", UNDERLAY.op, 5_000)).reachableCount, "internet → the operator's laptop").toBe(65535);
  });

  it("an operator without a grant reaches nothing on a worker: not its Postgres, not its SSH", async () => {
    // The operator's only peer is the hub; straight to the worker's public address, nothing answers.
    expect(lab.exec("op", ["wg", "show", "wg0", "peers"]).trim()).toBe(keys.master.publicKey);
    expect(probe("op", UNDERLAY.w1, 5432)).toEqual({ ok: false, answer: "timeout" });
    const ssh = await listenOn("w1", 22);
    try {
      expect(probe("op", WG.w1, 5432)).toEqual({ ok: false, answer: "timeout" });
      expect(probe("op", WG.w1, 22)).toEqual({ ok: false, answer: "timeout" });
      // The master (the bastion) does reach both.
      expect(probe("master", WG.w1, 22)).toEqual({ ok: true, answer: `hello from ${mesh.hub}` });
    } finally {
      ssh.kill("SIGKILL");
    }
  });

  it("a database grant in the stack file opens that port to that operator, and nothing else", { timeout: SWEEPS }, async () => {
    const managed = renderNftFile(workerRuleset({ subnet: mesh.subnet, databaseGrants: [{ operator: "op", address: WG.op, port: 5432 }] }));
    lab.exec("w1", ["bash", "-c", renderScript("host/firewall-sync.sh")], { input: managed });
    await eventually(() => probe("op", WG.w1, 5432).ok, "operator → w1's Postgres, granted");
    // The worker sees the operator's WireGuard address: the packet came in on wg0, forwarded by the hub.
    expect(probe("op", WG.w1, 5432).answer).toBe(`hello from ${WG.op}`);
    expect(probe("op", WG.w2, 5432)).toEqual({ ok: false, answer: "timeout" });
    const ssh = await listenOn("w1", 22);
    try {
      expect(probe("op", WG.w1, 22)).toEqual({ ok: false, answer: "timeout" });
      // Every other port of w1 stays shut to that operator: the grant is one port wide.
      expect(await sweepFor("op", WG.w1, { reachable: [5432], reachableCount: 1 })).toEqual({ reachable: [5432], reachableCount: 1 });
    } finally {
      ssh.kill("SIGKILL");
    }
  });

  it("a listener on a worker's 5432 answers the master over WireGuard, and neither the internet nor the other worker", () => {
    expect(probe("master", WG.w1, 5432)).toEqual({ ok: true, answer: `hello from ${mesh.hub}` });
    expect(probe("inet", UNDERLAY.w1, 5432)).toEqual({ ok: false, answer: "timeout" });
    expect(probe("w2", WG.w1, 5432)).toEqual({ ok: false, answer: "timeout" });
    expect(probe("w2", UNDERLAY.w1, 5432)).toEqual({ ok: false, answer: "timeout" });
    expect(ping("w2", WG.w1)).toBe(false);
  });

  it("the console answers workers and operators over WireGuard, seeing their own addresses; the agent answers the master as the master", () => {
    // The console takes a worker's report only from that worker's address.
    expect(probe("w1", mesh.hub, CONSOLE_PORT)).toEqual({ ok: true, answer: `hello from ${WG.w1}` });
    expect(probe("op", mesh.hub, CONSOLE_PORT)).toEqual({ ok: true, answer: `hello from ${WG.op}` });
    // The agent refuses any address but the hub's with 403; the master's unsigned command gets past that, to the signature.
    const unsigned = JSON.stringify({ payload: "e30", signature: "AAAA" });
    const answer = lab.exec("master", ["curl", "-sS", "-m", "5", "-w", " %{http_code}", "-H", "Content-Type: application/json", "--data-binary", "@-", `http://${WG.w1}:${AGENT_PORT}/v1/command`], { input: unsigned });
    expect(answer).toBe('{"error": "the signature is wrong"} 401');
  });

  it("the master's boot firewall admits SSH only from the operators' ranges, before its first hub-sync: every TCP port swept, IPv4 and IPv6", () => {
    expect(beforeSync).toEqual({ inet: nothing, inet6: nothing, op: only22, op6: only22 });
  });

  it("the internet reaches nothing on the master but WireGuard", () => {
    const wgPort = lab.exec("master", ["nft", "list", "chain", "inet", "supafleet", "input"]);
    expect(wgPort).toContain("udp dport 51820 accept");
    // SSH from a non-operator address is dropped by the synced ssh_sources set.
    const listener = lab.spawn("master", [process.execPath, join(SCRIPTS, "listen.mjs"), "22"]);
    return new Promise<void>((resolve) => {
      listener.stdout!.once("data", () => {
        expect(probe("inet", UNDERLAY.master, 22)).toEqual({ ok: false, answer: "timeout" });
        expect(probe("op", UNDERLAY.master, 22).ok).toBe(true);
        listener.kill("SIGKILL");
        resolve();
      });
    });
  });

  it("removing a worker from the config and re-applying leaves the other worker's tunnel up", async () => {
    const handshakeBefore = lab.exec("master", ["wg", "show", "wg0", "latest-handshakes"]);
    const w1Before = handshakeBefore.split("\n").find((l) => l.startsWith(keys.w1.publicKey))!;
    // A connection held open across the change: it must never drop.
    const hold = lab.spawn("master", [process.execPath, join(SCRIPTS, "hold.mjs"), WG.w1, "5432", "3000"]);
    const held = new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = "";
      hold.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      hold.on("exit", (code) => resolve({ code, out }));
    });
    await new Promise((r) => setTimeout(r, 800));

    const synced = lab.exec("master", ["bash", "-c", renderScript("host/hub-sync.sh")], { input: hubPayload(["w1"]) });
    expect(synced).toContain("hub-sync: 2 peers");

    const { code, out } = await held;
    expect(out).toMatch(/sent (\d+), answered \1/);
    expect(code).toBe(0);
    expect(lab.exec("master", ["wg", "show", "wg0", "peers"]).split("\n").filter(Boolean).sort()).toEqual([keys.op.publicKey, keys.w1.publicKey].sort());
    expect(lab.exec("master", ["wg", "show", "wg0", "latest-handshakes"]).split("\n")).toContain(w1Before);
    expect(ping("master", WG.w1)).toBe(true);
    expect(ping("master", WG.w2)).toBe(false);
  });
});

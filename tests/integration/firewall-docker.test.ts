import { API_ONLY_SERVICES } from "../../src/model/projectServices";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wireguardPublicKey } from "../../src/model/wireguard";
import { DOCKER_DAEMON } from "../../src/render/bootData";
import { bootMasterSets, masterRuleset, workerRuleset, type WorkerFirewallArgs } from "../../src/render/hostFirewall";
import { hubPeerSet, hubSyncPayload, type HubPeer } from "../../src/render/hub";
import { hubInterfaceConfig, operatorConfig, workerConfig, type MeshShape } from "../../src/render/mesh";
import { renderNftFile } from "../../src/render/nftables";
import { template } from "../../src/render/templates";
import { renderScript } from "../../src/render/script";
import { renderWgConf } from "../../src/render/wireguardConf";
import { signApiKey } from "../../src/supabase/keys";
import { docker, dockerEnv, requireEngine, startEngine, stopEngine } from "../lab/engine";
import { LabProject, release, type ScriptRun } from "../lab/project";
import { lockWorkerData, WORKER_DOCKER_DATA, WORKER_RELEASE, workerDataProblem } from "../lab/workerEngine";
import { eventually, Lab, type Sweep } from "./netns/lab";

/**
 * The host firewall and Docker together, on one worker: the namespace lab's mesh (wireguard-go, the rendered
 * rulesets, the real hub-sync), and in the worker's namespace its own dockerd, started with the daemon.json its
 * boot data renders (live-restore, the address pools), its data root seeded by scripts/lab/build-images.ts. On it,
 * a project's stack as the program renders it, published on the worker's WireGuard address, deployed by the real
 * project-config, project-assets and project-deploy scripts run on the worker. Full TCP sweeps (nmap, all 65535
 * ports) then show who reaches what: the hub the gateway and the database, nobody else anything, before and after
 * dockerd restarts. A firewall-sync reload then leaves the whole ruleset (nft, Docker's tables included) the very
 * one those sweeps proved, rule for rule; and neither removes the other's rules.
 */
const mesh: MeshShape = { subnet: "10.100.0.0/24", prefix: 24, hub: "10.100.0.1", port: 51820 };
const UNDERLAY = { master: "192.0.2.1", w1: "192.0.2.2", w2: "192.0.2.3", op: "192.0.2.10", inet: "192.0.2.100" } as const;
const UNDERLAY6 = { master: "2001:db8::1", w1: "2001:db8::2", w2: "2001:db8::3", op: "2001:db8::10", inet: "2001:db8::100" } as const;
const OPERATOR_RANGES = [`${UNDERLAY.op}/32`, `${UNDERLAY6.op}/128`];
const WG = { w1: "10.100.0.2", w2: "10.100.0.3", op: "10.100.0.250" } as const;
const USERSPACE = { WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" };
const SWEEPS = 120_000;

const key = (): { privateKey: string; publicKey: string } => {
  const privateKey = randomBytes(32).toString("base64");
  return { privateKey, publicKey: wireguardPublicKey(privateKey) };
};
const keys = { master: key(), w1: key(), w2: key(), op: key() };
const workerPeers: HubPeer[] = (["w1", "w2"] as const).map((n) => ({ name: n, address: WG[n], publicKey: keys[n].publicKey }));
const operatorPeers: HubPeer[] = [{ name: "op", address: WG.op, publicKey: keys.op.publicKey }];

const lab = new Lab();
const W1 = (): string => lab.ns("w1");
const work = mkdtempSync(join(tmpdir(), "supafleet-fwdk-"));
const DAEMON_JSON = join(work, "daemon.json");
const workerEngineEnv = (): Record<string, string> => ({ SUPAFLEET_LAB_DOCKER_DATA: WORKER_DOCKER_DATA, SUPAFLEET_LAB_DOCKER_CONFIG: DAEMON_JSON });
/** `docker …` against the worker's own engine. */
const wdocker = (args: readonly string[], allowFail = false): { status: number; stdout: string; stderr: string } => docker(args, { netns: W1(), allowFail });

/**
 * A project deployed on the worker's engine: the program's compose file, .env and kong.yml (LabProject's
 * rendering), bound to the worker's WireGuard address, the real scripts run inside the worker's namespaces.
 */
class WorkerProject extends LabProject {
  override get address(): string {
    return WG.w1;
  }

  override async start(): Promise<this> {
    this.anonKey = await signApiKey(this.jwtSecret, "anon");
    this.serviceRoleKey = await signApiKey(this.jwtSecret, "service_role");
    return this;
  }

  override run(script: string, stdin: string, extra: Record<string, string> = {}): ScriptRun {
    // A loaded machine (the whole suite on two cores) can take minutes to bring the stack up healthy.
    const env = { ...process.env, SUPAFLEET_ROOT: this.root, SUPAFLEET_WAIT_TIMEOUT: "240", SUPAFLEET_PROBE_TRIES: "10", SUPAFLEET_PROBE_INTERVAL: "1", ...extra };
    const r = spawnSync("nsenter", ["-t", String(lab.anchorPid("w1")), "-m", "-n", "bash", "-c", script], {
      input: stdin,
      encoding: "utf8",
      env: dockerEnv(env, W1()),
      maxBuffer: 1 << 24,
      timeout: 360_000,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }
}
// API-only: the firewall sees what a project publishes (gateway and db), the same whatever else it runs.
const project = new WorkerProject("hlfw", 0, 1, { services: API_ONLY_SERVICES, studio: "master" });
const PORTS = [project.ports.gateway, project.ports.db].sort((a, b) => a - b);

let releaseLock: (() => void) | undefined;
let dockerdStarted = false;

/** What the worker's firewall holds, and Docker's rules beside it, as `nft` and `iptables` list them on the worker. */
const supafleetTable = (): string => lab.exec("w1", ["nft", "list", "table", "inet", "supafleet"]);
const dockerRules = (): string => ["nat", "filter"].map((t) => lab.exec("w1", ["iptables", "-t", t, "-S"])).join("");
/** Every table of the worker's netfilter, Docker's included, without counters: what decides what a sweep finds. */
const ruleset = (): string => lab.exec("w1", ["nft", "--stateless", "list", "ruleset"]);
/** The ruleset the sweeps after dockerd's restart proved. */
let swept: string | undefined;
/** Docker's DNAT of each published port to its container, on the WireGuard address only. */
function expectDockerPublishing(rules: string): void {
  expect(rules).toMatch(/^-N DOCKER$/m);
  expect(rules).toMatch(/^-N DOCKER-USER$/m);
  for (const port of PORTS) expect(rules).toMatch(new RegExp(`^-A DOCKER -d ${WG.w1}/32 .*--dport ${port} -j DNAT --to-destination 172\\.`, "m"));
  expect(rules).not.toMatch(/-A DOCKER -d 0\.0\.0\.0/);
}

/** The API through the gateway, from the master over WireGuard: what cloudflared on the master does. */
function apiFromHub(): string {
  const k = project.anonKey;
  return lab.exec("master", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-H", `apikey: ${k}`, "-H", `Authorization: Bearer ${k}`, `http://${WG.w1}:${project.ports.gateway}/rest/v1/`]);
}

const ping = (from: string, to: string): boolean => lab.try(from, ["ping", "-c", "1", "-W", "1", to]).status === 0;

const nothing: Sweep = { reachable: [], reachableCount: 0 };

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

/** The hub's full sweep of the worker's WireGuard address: every port, the open ones named (the same retry rule). */
async function openFromHub(): Promise<number[]> {
  let open = await lab.openPorts("master", WG.w1);
  for (let again = 0; again < 2 && open.length < PORTS.length && open.every((p) => PORTS.includes(p)); again++) open = await lab.openPorts("master", WG.w1);
  return open;
}

/**
 * Every sweep of a phase. Those through the master's wireguard-go go one after another (in parallel they overrun
 * it); those on the underlay run beside them. The internet also tries the WireGuard address straight over the
 * shared switch (a route to 10.100.0.0/24 via the worker's public address): the one way to Docker's DNAT without
 * WireGuard. The other worker is stopped at the hub, before the worker's own rules, so it is swept once.
 */
async function sweepAll(set: "full" | "again"): Promise<void> {
  const overMesh: [string, string][] = [["op", WG.w1], ...(set === "full" ? [["w2", WG.w1] as [string, string]] : [])];
  const underlay: [string, string][] = [
    ["inet", UNDERLAY.w1],
    ["inet", UNDERLAY6.w1],
    ["inet", WG.w1],
    ...(set === "full"
      ? ([
          ["op", UNDERLAY6.w1],
          ["w2", UNDERLAY.w1],
        ] as [string, string][])
      : []),
  ];
  const label = ([from, to]: [string, string]): string => `${from} → ${to}${from === "inet" && to === WG.w1 ? " (over the switch)" : ""}`;
  const series = (async () => {
    const hub = await openFromHub();
    const out: Sweep[] = [];
    for (const [from, to] of overMesh) out.push(await sweepFor(from, to, nothing));
    return { hub, out };
  })();
  const [meshFound, underlayFound] = await Promise.all([series, Promise.all(underlay.map(([from, to]) => sweepFor(from, to, nothing)))]);
  const all = [...overMesh, ...underlay];
  const found = [...meshFound.out, ...underlayFound];
  expect({ [`master → ${WG.w1}: open`]: meshFound.hub, ...Object.fromEntries(all.map((s, i) => [label(s), found[i]!])) }).toEqual({
    [`master → ${WG.w1}: open`]: PORTS,
    ...Object.fromEntries(all.map((s) => [label(s), nothing])),
  });
}

/** Packets Docker's DNAT has sent to the database's container so far (its rule's counter). */
function dnatToDb(): number {
  const line = lab.exec("w1", ["iptables", "-t", "nat", "-L", "DOCKER", "-v", "-n", "-x"]).split("\n").find((l) => l.includes(`dpt:${project.ports.db} `));
  if (line === undefined) throw new Error("no DNAT rule for the database's port");
  return Number(line.trim().split(/\s+/)[0]);
}
/** pg_isready from a host: "accepting connections", or "no response" when the SYN is dropped (it waits a second). */
const pgReady = (from: string, wait = 1): string => lab.try(from, ["pg_isready", "-h", WG.w1, "-p", String(project.ports.db), "-t", String(wait)]).stdout.trim();

const workerFirewall = (a: Omit<WorkerFirewallArgs, "subnet"> = {}): string => renderNftFile(workerRuleset({ subnet: mesh.subnet, ...a }));
const firewallSync = (ruleset: string): string => lab.exec("w1", ["bash", "-c", renderScript("host/firewall-sync.sh")], { input: ruleset });

beforeAll(async () => {
  requireEngine();
  const problem = workerDataProblem();
  if (problem !== undefined) throw new Error(problem);
  releaseLock = lockWorkerData();
  await lab.up(Object.entries(UNDERLAY).map(([name, underlay]) => ({ name, underlay, underlay6: UNDERLAY6[name as keyof typeof UNDERLAY6] })));

  // The master as hub-sync leaves it: the hub interface, its peers and its firewall.
  lab.exec("master", ["sysctl", "-q", "-p", "-"], { input: template("host/sysctl-hub.conf") });
  lab.writeFile("master", "/etc/nftables.d/supafleet.nft", renderNftFile(masterRuleset({ wireguardPort: mesh.port, allowWorkerToWorker: false, sets: bootMasterSets(OPERATOR_RANGES) })));
  lab.exec("master", ["nft", "-f", "/etc/nftables.d/supafleet.nft"]);
  lab.writeFile("master", "/etc/wireguard/wg0.conf", renderWgConf(hubInterfaceConfig(mesh, keys.master.privateKey)));
  lab.exec("master", ["wg-quick", "up", "wg0"], { env: USERSPACE });
  const state = hubPeerSet(OPERATOR_RANGES, operatorPeers, workerPeers);
  const nft = renderNftFile(masterRuleset({ wireguardPort: mesh.port, allowWorkerToWorker: false, sets: state.firewall }));
  lab.exec("master", ["bash", "-c", renderScript("host/hub-sync.sh")], { input: hubSyncPayload(renderWgConf({ peers: state.peers }), nft) });

  // Each worker as its boot data leaves it: the firewall first, then WireGuard.
  for (const w of ["w1", "w2"] as const) {
    lab.writeFile(w, "/etc/nftables.d/supafleet.nft", workerFirewall());
    lab.exec(w, ["nft", "-f", "/etc/nftables.d/supafleet.nft"]);
    lab.writeFile(w, "/etc/wireguard/wg0.conf", renderWgConf(workerConfig(mesh, { privateKey: keys[w].privateKey, address: WG[w], hubPublicKey: keys.master.publicKey, hubIp: UNDERLAY.master })));
    lab.exec(w, ["wg-quick", "up", "wg0"], { env: USERSPACE });
  }
  lab.writeFile("op", "/etc/wireguard/wg0.conf", renderWgConf(operatorConfig(mesh, { name: "op", privateKey: keys.op.privateKey, address: WG.op, hubPublicKey: keys.master.publicKey, hubIp: UNDERLAY.master })));
  lab.exec("op", ["wg-quick", "up", "wg0"], { env: USERSPACE });
  // The internet's attacker, on the same switch, routes the mesh's addresses to the worker's public one.
  lab.exec("inet", ["ip", "route", "add", mesh.subnet, "via", UNDERLAY.w1]);

  // Then Docker, after wg0 (docker-after-wireguard.conf), with the worker's rendered daemon.json.
  writeFileSync(DAEMON_JSON, JSON.stringify(DOCKER_DAEMON, null, 2) + "\n");
  startEngine(W1(), workerEngineEnv());
  dockerdStarted = true;
  // The data root is this test's: whatever an interrupted run left goes.
  const left = wdocker(["ps", "-aq"]).stdout.split("\n").filter(Boolean);
  if (left.length > 0) wdocker(["rm", "-f", "-v", ...left]);
  wdocker(["volume", "prune", "-af"]);
  wdocker(["network", "prune", "-f"]);

  await eventually(() => ping("w1", mesh.hub) && ping("w2", mesh.hub) && ping("op", mesh.hub), "every peer's handshake with the hub");
  await project.start();
  project.configure();
  let deployed = project.deploy(release(WORKER_RELEASE));
  if (deployed.status !== 0) {
    // On a loaded machine a healthcheck (node starting in a container) can time out during the gate. Once no
    // container is unhealthy any more, the deploy runs again, as an operator re-running `pulumi up` would.
    const first = deployed.stderr.slice(-1500);
    await eventually(() => !Object.values(health()).includes("unhealthy"), "the stack's healthchecks to recover", 120_000).catch(() => undefined);
    deployed = project.deploy(release(WORKER_RELEASE));
    if (deployed.status !== 0) throw new Error(`project-deploy.sh on the worker failed twice:\n${first}\n---\n${deployed.stderr}`);
  }
}, 420_000);

afterAll(() => {
  if (dockerdStarted) {
    const ids = wdocker(["ps", "-aq"], true).stdout.split("\n").filter(Boolean);
    if (ids.length > 0) wdocker(["rm", "-f", "-v", ...ids], true);
    wdocker(["volume", "prune", "-af"], true);
    wdocker(["network", "prune", "-f"], true);
    stopEngine(W1(), workerEngineEnv());
  }
  lab.down();
  releaseLock?.();
  rmSync(project.root, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** Each of the project's containers: its id, state and when it last started. */
function running(): Record<string, [string, string, string]> {
  const ids = wdocker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${project.name}`]).stdout.split("\n").filter(Boolean);
  const all = JSON.parse(wdocker(["container", "inspect", ...ids]).stdout) as { Name: string; Id: string; State: { Status: string; StartedAt: string } }[];
  return Object.fromEntries(all.map((c) => [c.Name.slice(1), [c.Id, c.State.Status, c.State.StartedAt]]));
}
/** Each of the project's containers' health ("none" without a healthcheck). */
function health(): Record<string, string> {
  const ids = wdocker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${project.name}`]).stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return {};
  const all = JSON.parse(wdocker(["container", "inspect", ...ids]).stdout) as { Name: string; State: { Health?: { Status: string } } }[];
  return Object.fromEntries(all.map((c) => [c.Name.slice(1), c.State.Health?.Status ?? "none"]));
}
/** Every service the project runs has its container, running. (Health was the deploy's gate; a loaded machine makes it flap since.) */
function expectStackUp(): void {
  const cs = running();
  const services = project.services;
  expect(Object.fromEntries(Object.entries(cs).map(([n, c]) => [n, c[1]]))).toEqual(Object.fromEntries(services.map((s) => [project.container(s), "running"])));
}

describe("the host firewall and Docker together, on a worker", () => {
  it("the project's stack runs on the worker's own dockerd, published on the WireGuard address only, behind the worker's firewall", () => {
    expectStackUp();
    const published = wdocker(["ps", "--filter", `label=com.docker.compose.project=${project.name}`, "--format", "{{.Ports}}"]).stdout;
    expect(published.split(/[\n,]\s*/).filter((p) => p.includes("->")).sort()).toEqual([`${WG.w1}:${project.ports.db}->5432/tcp`, `${WG.w1}:${project.ports.gateway}->8000/tcp`].sort());
    expectDockerPublishing(dockerRules());
    expect(supafleetTable()).toContain('comment "project ports, published on the WireGuard address, for the master"');
    // The gateway answers the master as cloudflared reaches it: over WireGuard, through Docker's DNAT.
    expect(apiFromHub()).toBe("200");
    expect(pgReady("master", 10)).toContain("accepting connections");
  });

  it("Docker's DNAT takes the operator's and the internet's packets for the database, and the worker's forward guard drops them", () => {
    for (const from of ["op", "inet"]) {
      const before = dnatToDb();
      expect(pgReady(from), from).toContain("no response");
      expect(dnatToDb(), `${from}: rewritten by Docker`).toBeGreaterThan(before);
    }
    // Without the supafleet table, Docker's own rules let both in: the worker's guard is what keeps them out.
    lab.exec("w1", ["nft", "delete", "table", "inet", "supafleet"]);
    try {
      for (const from of ["op", "inet"]) expect(pgReady(from, 10), `${from}, no host firewall`).toContain("accepting connections");
    } finally {
      firewallSync(workerFirewall());
    }
  });

  it("a full TCP sweep: the hub reaches the gateway and the database; the internet, the other worker and an operator without a grant reach nothing, on IPv4 or IPv6", { timeout: SWEEPS }, async () => {
    await sweepAll("full");
  });

  it("dockerd restarts: the stack stays up (live-restore), Docker's rules come back, the supafleet table is untouched, and the sweeps say the same", { timeout: SWEEPS }, async () => {
    const table = supafleetTable();
    expectStackUp();
    const before = running();
    const pid = Number(readFileSync(`/run/${W1()}/dockerd.pid`, "utf8"));
    process.kill(pid, "SIGTERM");
    await eventually(() => spawnSync("kill", ["-0", String(pid)]).status !== 0, "dockerd to exit", 30_000);
    startEngine(W1(), workerEngineEnv());
    expect(Number(readFileSync(`/run/${W1()}/dockerd.pid`, "utf8"))).not.toBe(pid);
    // The same containers, never restarted: the worker's daemon.json (live-restore) keeps them running while dockerd is away.
    expect(running()).toEqual(before);
    expect(supafleetTable()).toBe(table);
    expectDockerPublishing(dockerRules());
    expect(apiFromHub()).toBe("200");
    expect(pgReady("master", 10)).toContain("accepting connections");
    const proved = ruleset();
    await sweepAll("again");
    expect(ruleset()).toBe(proved);
    swept = proved;
  });

  it("firewall-sync reloads the supafleet table: Docker's rules are untouched, and the whole ruleset is the one the sweeps proved", async () => {
    expect(swept, "needs the sweeps after dockerd's restart").toBeDefined();
    const rules = dockerRules();
    expect(firewallSync(workerFirewall())).toMatch(/^firewall-sync: \d+ accept rules$/m);
    expect(dockerRules()).toBe(rules);
    // firewall-sync changes nothing but nftables: the same ruleset, rule for rule, lets through what the sweeps found, no more.
    expect(ruleset()).toBe(swept);
    expect(apiFromHub()).toBe("200");
  });

  it("a database grant opens the project's Postgres, behind Docker's DNAT, to that operator and to no other port", { timeout: SWEEPS }, async () => {
    const rules = dockerRules();
    firewallSync(workerFirewall({ databaseGrants: [{ operator: "op", address: WG.op, port: project.ports.db }] }));
    expect(dockerRules()).toBe(rules);
    expect(pgReady("op", 10)).toContain("accepting connections");
    const granted: Sweep = { reachable: [project.ports.db], reachableCount: 1 };
    expect(await sweepFor("op", WG.w1, granted)).toEqual(granted);
  });
});

// npm run bench:runtime [-- --steps 1,5,10,15,20 --containers 8 --settle 20 --samples 6 --interval 5 --no-reboot --only proxy|noproxy --no-write]
//
// What a worker spends outside its containers as the projects on it grow (issue 25): dockerd, containerd, the
// containerd shims, the docker-proxies and the kernel's objects, with N "projects" of cheap containers shaped like
// a worker's, for N = 1, 5, 10, 15 and 20.
//
// The engine is the lab's (the binaries of /opt/supafleet-docker, started by scripts/lab/dockerd.sh), but an
// instance of its own: in its own network namespace (supafleet-rt) and data root (/var/lib/supafleet-rt), started
// with the daemon.json a worker's boot data renders (src/render/bootData.ts DOCKER_DAEMON: live-restore, the
// address pools, json-file logs; Docker's default userland proxy, so one docker-proxy per published port), then
// again with `"userland-proxy": false` added (what the shared lab engine runs with). Its own instance so that the
// daemons' memory is this bench's containers' alone, not the test runs' on the shared engine; its data root is
// seeded with the one image it runs (supafleet-lab/base, saved from the shared engine) and removed after.
//
// A project here: the worker's compose shape (src/supabase/compose.ts) with the lab's base image: --containers of
// its services (8 by default: db, meta, auth, rest, realtime, storage, imgproxy, gateway; a full project with its
// Studio on the master runs 9, an API-only one 5), each `restart: unless-stopped` with a memory limit and a
// healthcheck timed like the real ones (every 10 s, every 1 s while starting), all on the project's own bridge
// network; db and gateway run a tiny listener (netcat) and are published on one address (10.100.0.2, on a veth
// standing for the worker's WireGuard interface), the others `sleep infinity`. Projects are added one at a time
// (`docker compose up -d --wait`); after each step, once every container is healthy and the step has settled, the
// bench samples:
// - dockerd and containerd: RSS, PSS, anonymous RSS, and the peak RSS since the daemon started (VmHWM);
// - every containerd-shim-runc-v2 of the engine: their sum and per container (RSS, PSS, and USS, the private
//   pages: what one more shim adds);
// - every docker-proxy (dockerd's children): per published port, the same three;
// - the containers' own memory cgroups (usage, and kernel memory where cgroup v1 accounts it): inside the limits;
// - /proc/meminfo's kernel figures (Slab, SUnreclaim, KernelStack, PageTables, Percpu) against the empty engine:
//   machine-wide, so other work on the machine moves them too;
// - the daemons' and shims' CPU over the sampling window (healthchecks are execs through all three).
// Then, with every project running, a reboot: the engine is stopped (dockerd.sh stop kills containerd and every
// shim; the bench kills what the shims leave running in the containers, as a reboot would) and started again,
// dockerd restarts every `unless-stopped` container at once, and the bench reads dockerd's and containerd's peak
// RSS until all are healthy again.
// Run as root, under the lab's lock: flock /tmp/supafleet-lab.lock npm run bench:runtime
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release as kernel, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DOCKER_DAEMON } from "../../src/render/bootData";
import { SERVICES } from "../../src/model/services";
import { docker, dockerEnv, startEngine, stopEngine } from "../../tests/lab/engine";
import { useEngine } from "../../tests/lab/engineUsers";
import { BASE_IMAGE } from "../../tests/lab/images/catalog";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "1,5,10,15,20" },
    settle: { type: "string", default: "20" },
    samples: { type: "string", default: "6" },
    interval: { type: "string", default: "5" },
    "no-reboot": { type: "boolean", default: false },
    containers: { type: "string", default: "8" },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const STEPS = values.steps.split(",").map(Number);
if (STEPS.some((n, i) => !Number.isInteger(n) || n < 1 || (i > 0 && n <= STEPS[i - 1]!))) throw new Error(`--steps must be rising positive integers, not ${values.steps}`);
const SETTLE_S = Number(values.settle);
const SAMPLES = Number(values.samples);
const INTERVAL_S = Number(values.interval);
const ROOT = join(__dirname, "..", "..");

const NETNS = "supafleet-rt";
const RUN = `/run/${NETNS}`;
const DATA = `/var/lib/${NETNS}`;
/** The worker's WireGuard address, on a dummy interface in the engine's namespace. */
const BIND = "10.100.0.2";
const PUBLISHED: Readonly<Record<string, number>> = { db: 5432, gateway: 8000 };
const PREFIX = "rt";
/** A project's services: db and gateway (published) and as many others as --containers asks, in start order. */
const PROJECT_SERVICES = ["db", ...SERVICES.filter((s) => !(s in PUBLISHED)), "gateway"].slice(0, Number(values.containers) - 1).concat("gateway").filter((s, i, a) => a.indexOf(s) === i);
const CONTAINERS_PER_PROJECT = PROJECT_SERVICES.length;
const PUBLISHED_PORTS_PER_PROJECT = PROJECT_SERVICES.filter((s) => s in PUBLISHED).length;
if (CONTAINERS_PER_PROJECT !== Number(values.containers)) throw new Error(`--containers must be 2 to ${SERVICES.length}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => void process.stderr.write(`[bench:runtime ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const f1 = (x: number): string => x.toFixed(1);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function sh(argv: readonly string[], allowFail = false): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 });
  const out = { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (out.status !== 0 && !allowFail) throw new Error(`${argv.join(" ")} failed (${out.status}): ${out.stderr}`);
  return out;
}

/** `docker …` against this bench's engine. */
const rdocker = (args: readonly string[], opts: { input?: string; allowFail?: boolean } = {}) => docker(args, { ...opts, netns: NETNS });

interface Mem {
  rss: number;
  pss: number;
  /** Private pages (clean and dirty): what the process alone holds. */
  uss: number;
  anon: number;
  /** Peak RSS since the process started. */
  hwm: number;
}

/** A process's memory, in MiB; undefined when it is gone. */
function procMem(pid: number): Mem | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) / 1024;
    return {
      rss: kb(status, "VmRSS"),
      pss: kb(rollup, "Pss"),
      uss: kb(rollup, "Private_Clean") + kb(rollup, "Private_Dirty"),
      anon: kb(status, "RssAnon"),
      hwm: kb(status, "VmHWM"),
    };
  } catch {
    return undefined;
  }
}

/** User and system CPU seconds of a process. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

const pidOf = (daemon: "dockerd" | "containerd"): number => Number(readFileSync(join(RUN, `${daemon}.pid`), "utf8").trim());

/** This engine's shims (by the containerd address they were given) and docker-proxies (dockerd's children). */
function runtimeProcesses(): { shims: number[]; proxies: number[] } {
  const dockerd = pidOf("dockerd");
  const shims: number[] = [];
  const proxies: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("containerd-shim-runc-v2") && argv.join(" ").includes(`${RUN}/containerd`)) shims.push(Number(d));
      if (argv[0]?.endsWith("docker-proxy")) {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === dockerd) proxies.push(Number(d));
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return { shims, proxies };
}

/** /proc/meminfo's kernel figures, in MiB. */
function kernelMem(): Record<string, number> {
  const text = readFileSync("/proc/meminfo", "utf8");
  const keys = ["Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "Percpu", "MemAvailable"];
  return Object.fromEntries(keys.map((k) => [k, Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) / 1024]));
}

/** The memory cgroup of a container (cgroup v1 or v2), as /proc/<pid>/cgroup of its init names it. */
function cgroupMem(pid: number): { usage: number; kmem: number } | undefined {
  try {
    const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
    const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
    const read = (f: string): number => (existsSync(f) ? Number(readFileSync(f, "utf8").trim()) / 1048576 : NaN);
    if (v1) {
      const dir = join("/sys/fs/cgroup/memory", v1.split(":")[2]!);
      return { usage: read(join(dir, "memory.usage_in_bytes")), kmem: read(join(dir, "memory.kmem.usage_in_bytes")) };
    }
    const v2 = lines.find((l) => l.startsWith("0::"));
    if (!v2) return undefined;
    const dir = join(existsSync("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup", v2.slice(3));
    const stat = existsSync(join(dir, "memory.stat")) ? readFileSync(join(dir, "memory.stat"), "utf8") : "";
    const kernelBytes = Number(/^kernel (\d+)$/m.exec(stat)?.[1] ?? NaN);
    return { usage: read(join(dir, "memory.current")), kmem: kernelBytes / 1048576 };
  } catch {
    return undefined;
  }
}

/** One project's compose file: the worker's shape (src/supabase/compose.ts), cheap containers. */
function composeFile(project: number): string {
  const name = `${PREFIX}${String(project).padStart(2, "0")}`;
  // As compose.ts's health(): every 10 s, every second while starting.
  const check = (test: string[]) => ({ test, interval: "10s", timeout: "5s", retries: 5, start_period: "10s", start_interval: "1s" });
  const services = Object.fromEntries(
    PROJECT_SERVICES.map((s) => {
      const port = PUBLISHED[s];
      return [
        s,
        {
          image: BASE_IMAGE,
          container_name: `${name}-${s}`,
          restart: "unless-stopped",
          mem_limit: "64m",
          ...(port === undefined
            ? { command: ["sleep", "infinity"], healthcheck: check(["CMD", "true"]) }
            : {
                command: ["nc", "-lk", String(port)],
                ports: [`${BIND}:${20000 + project * 10 + (s === "db" ? 0 : 1)}:${port}`],
                healthcheck: check(["CMD", "nc", "-z", "127.0.0.1", String(port)]),
              }),
        },
      ];
    }),
  );
  return JSON.stringify({ name, services, networks: { default: { name: `${name}-net` } } });
}

function composeUp(project: number): void {
  const r = spawnSync("docker", ["compose", "-f", "-", "up", "-d", "--wait", "--wait-timeout", "300", "--quiet-pull"], {
    input: composeFile(project),
    encoding: "utf8",
    env: dockerEnv(process.env, NETNS),
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`compose up of project ${project} failed (${r.status}): ${r.stderr.slice(-2000)}`);
}

/** Running, healthy, and the rest, of this engine's containers. */
function health(): { running: number; healthy: number; other: string[]; restarts: number } {
  const ids = rdocker(["ps", "-aq"]).stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return { running: 0, healthy: 0, other: [], restarts: 0 };
  const rows = rdocker(["inspect", "--format", "{{.Name}}\t{{.State.Status}}\t{{if .State.Health}}{{.State.Health.Status}}{{end}}\t{{.RestartCount}}", ...ids]).stdout.split("\n").filter(Boolean);
  let running = 0;
  let healthy = 0;
  let restarts = 0;
  const other: string[] = [];
  for (const row of rows) {
    const [name, state, hs, rc] = row.split("\t");
    if (state === "running") running++;
    if (state === "running" && hs === "healthy") healthy++;
    else other.push(`${name} ${state} ${hs}`);
    restarts += Number(rc);
  }
  return { running, healthy, other, restarts };
}

async function waitHealthy(containers: number, timeoutS: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const h = health();
    if (h.healthy === containers) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > timeoutS * 1000) throw new Error(`${h.healthy} of ${containers} containers healthy after ${timeoutS} s: ${h.other.slice(0, 10).join(", ")}`);
    await sleep(2000);
  }
}

interface Sample {
  dockerd: Mem;
  containerd: Mem;
  shims: { count: number; rss: number; pss: number; uss: number };
  proxies: { count: number; rss: number; pss: number; uss: number };
  cgroups: { count: number; usage: number; kmem: number };
  kernel: Record<string, number>;
}

function sample(): Sample {
  const { shims, proxies } = runtimeProcesses();
  const mems = (pids: number[]) => pids.map(procMem).filter((m): m is Mem => m !== undefined);
  const total = (ms: Mem[]) => ({ count: ms.length, rss: sum(ms.map((m) => m.rss)), pss: sum(ms.map((m) => m.pss)), uss: sum(ms.map((m) => m.uss)) });
  // A shim's child is its container's init.
  const inits = shims.flatMap((p) => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  const cg = inits.map(cgroupMem).filter((c): c is { usage: number; kmem: number } => c !== undefined);
  return {
    dockerd: procMem(pidOf("dockerd"))!,
    containerd: procMem(pidOf("containerd"))!,
    shims: total(mems(shims)),
    proxies: total(mems(proxies)),
    cgroups: { count: cg.length, usage: sum(cg.map((c) => c.usage)), kmem: sum(cg.map((c) => c.kmem)) },
    kernel: kernelMem(),
  };
}

interface Step {
  projects: number;
  containers: number;
  publishedPorts: number;
  /** Seconds to add this step's projects, and until all were healthy. */
  upSeconds: number;
  samples: Sample[];
  /** Percent of one core over the sampling window. */
  cpu: { dockerd: number; containerd: number; shims: number };
  restarts: number;
  links: number;
  /** The machine's load average (1 min) at the end of the step: other work shares these cores. */
  load: number;
}

interface Config {
  name: "proxy" | "noproxy";
  daemon: Record<string, unknown>;
  empty: Sample;
  steps: Step[];
  reboot?: { killed: number; seconds: number; dockerdHwm: number; containerdHwm: number; after: Sample };
}

async function measureSteps(): Promise<Step[]> {
  const steps: Step[] = [];
  let running = 0;
  for (const target of STEPS) {
    const t0 = Date.now();
    for (let p = running + 1; p <= target; p++) composeUp(p);
    for (const id of rdocker(["ps", "-aq", "--no-trunc"]).stdout.split("\n").filter(Boolean)) OURS.add(id);
    running = target;
    const containers = running * CONTAINERS_PER_PROJECT;
    await waitHealthy(containers, 300);
    const upSeconds = (Date.now() - t0) / 1000;
    log(`${running} projects (${containers} containers) up and healthy in ${f1(upSeconds)} s; settling ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000);
    const { shims } = runtimeProcesses();
    const cpu0 = { dockerd: cpuSeconds(pidOf("dockerd")), containerd: cpuSeconds(pidOf("containerd")), shims: sum(shims.map(cpuSeconds)) };
    const w0 = Date.now();
    const samples: Sample[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const tick = Date.now();
      const s = sample();
      if (s.shims.count !== containers) throw new Error(`found ${s.shims.count} shims for ${containers} containers`);
      samples.push(s);
      if (i < SAMPLES - 1) await sleep(Math.max(0, INTERVAL_S * 1000 - (Date.now() - tick)));
    }
    const window = (Date.now() - w0) / 1000;
    const cpu = {
      dockerd: ((cpuSeconds(pidOf("dockerd")) - cpu0.dockerd) / window) * 100,
      containerd: ((cpuSeconds(pidOf("containerd")) - cpu0.containerd) / window) * 100,
      shims: ((sum(shims.map(cpuSeconds)) - cpu0.shims) / window) * 100,
    };
    const h = health();
    if (h.healthy !== containers) throw new Error(`while sampling: ${h.other.slice(0, 10).join(", ")}`);
    const links = sh(["ip", "-n", NETNS, "-o", "link"]).stdout.split("\n").filter(Boolean).length;
    const load = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
    steps.push({ projects: running, containers, publishedPorts: running * PUBLISHED_PORTS_PER_PROJECT, upSeconds, samples, cpu, restarts: h.restarts, links, load });
    const m = (f: (s: Sample) => number) => f1(median(samples.map(f)));
    log(
      `N=${running}: dockerd ${m((s) => s.dockerd.rss)} MiB RSS, containerd ${m((s) => s.containerd.rss)}, shims ${m((s) => s.shims.pss)} PSS (${m((s) => s.shims.uss / s.shims.count)} USS each), ` +
        `proxies ${samples[0]!.proxies.count} × ${m((s) => (s.proxies.count ? s.proxies.pss / s.proxies.count : 0))} PSS; CPU dockerd ${f1(cpu.dockerd)}% containerd ${f1(cpu.containerd)}% shims ${f1(cpu.shims)}%; load ${load}`,
    );
  }
  return steps;
}

/** Every container this bench made, by id: what killLeftovers looks for. */
const OURS = new Set<string>();

/** A container's cgroup directories, one per hierarchy (cgroupfs driver, v1 or v2; or systemd's scope). */
function cgroupDirs(id: string): string[] {
  const dirs: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    for (const d of [join("/sys/fs/cgroup", h, "docker", id), join("/sys/fs/cgroup", h, "system.slice", `docker-${id}.scope`)]) if (existsSync(join(d, "cgroup.procs"))) dirs.push(d);
  }
  return dirs;
}

/**
 * Kills what is left in this bench's containers once the engine is stopped. dockerd.sh stop kills containerd and
 * the shims, but a container's processes outlive its shim (they are reparented to init): a real reboot ends them,
 * this has to. With `remove`, also their cgroups, which docker could not remove while they ran.
 */
async function killLeftovers(remove: boolean): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const pids = [...OURS].flatMap(cgroupDirs).flatMap((d) => readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number));
    if (pids.length === 0) break;
    for (const pid of new Set(pids)) {
      try {
        process.kill(pid, "SIGKILL");
        killed++;
      } catch {
        // Gone meanwhile.
      }
    }
    await sleep(200);
  }
  if (remove) {
    for (const d of [...OURS].flatMap(cgroupDirs)) {
      try {
        rmdirSync(d);
      } catch {
        // Still busy, or removed meanwhile.
      }
    }
  }
  return killed;
}

function removeContainers(): void {
  const ids = rdocker(["ps", "-aq"], { allowFail: true }).stdout.split("\n").filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) rdocker(["rm", "-f", "-v", ...ids.slice(i, i + 50)], { allowFail: true });
  rdocker(["network", "prune", "-f"], { allowFail: true });
}

/** The namespace is made here, not by dockerd.sh, so that it (and the address) outlives a stop: a reboot's restart binds to it. */
function makeNamespace(): void {
  if (!existsSync(`/var/run/netns/${NETNS}`)) sh(["ip", "netns", "add", NETNS]);
  sh(["ip", "-n", NETNS, "link", "set", "lo", "up"]);
  if (sh(["ip", "-n", NETNS, "link", "show", "wg0"], true).status !== 0) {
    // A veth pair with both ends here: this kernel has no dummy interfaces.
    sh(["ip", "-n", NETNS, "link", "add", "wg0", "type", "veth", "peer", "name", "wg0-peer"]);
    sh(["ip", "-n", NETNS, "link", "set", "wg0-peer", "up"]);
    sh(["ip", "-n", NETNS, "addr", "add", `${BIND}/24`, "dev", "wg0"]);
    sh(["ip", "-n", NETNS, "link", "set", "wg0", "up"]);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the Docker lab runs as root (network namespaces, dockerd)");
  const work = mkdtempSync(join(tmpdir(), "supafleet-bench-runtime-"));
  const env = (daemonJson: string) => ({ SUPAFLEET_LAB_DOCKER_DATA: DATA, SUPAFLEET_LAB_DOCKER_CONFIG: daemonJson });
  let started: string | undefined;
  const configs: Config[] = [];
  const t0 = Date.now();
  const cleanup = async (): Promise<void> => {
    if (started !== undefined) {
      removeContainers();
      stopEngine(NETNS, env(started));
    }
    await killLeftovers(true);
    sh(["ip", "netns", "del", NETNS], true);
    rmSync(DATA, { recursive: true, force: true });
    rmSync(`/run/${NETNS}.lock`, { force: true });
    rmSync(work, { recursive: true, force: true });
  };
  try {
    if (existsSync(DATA) || existsSync(RUN)) throw new Error(`${DATA} or ${RUN} exists: another bench:runtime runs, or one was killed (then: bash scripts/lab/dockerd.sh stop ${NETNS}; ip netns del ${NETNS}; rm -rf ${DATA})`);
    makeNamespace();
    const image = join(work, "base.tar");
    {
      log(`saving ${BASE_IMAGE} from the shared lab engine`);
      const release = useEngine();
      try {
        docker(["image", "save", "-o", image, BASE_IMAGE]);
      } finally {
        release();
      }
    }
    const info: string[] = [];
    const wanted = values.only === undefined ? (["proxy", "noproxy"] as const) : ([values.only] as ("proxy" | "noproxy")[]);
    for (const name of wanted) {
      const daemon: Record<string, unknown> = name === "proxy" ? { ...DOCKER_DAEMON } : { ...DOCKER_DAEMON, "userland-proxy": false };
      const daemonJson = join(work, `daemon-${name}.json`);
      writeFileSync(daemonJson, JSON.stringify(daemon, null, 2));
      log(`starting the engine with ${name === "proxy" ? "the worker's daemon.json (userland proxy on)" : 'the worker\'s daemon.json and "userland-proxy": false'}`);
      startEngine(NETNS, env(daemonJson));
      started = daemonJson;
      if (info.length === 0) {
        rdocker(["image", "load", "-q", "-i", image]);
        info.push(...rdocker(["info", "--format", "{{.ServerVersion}}\t{{.CgroupVersion}}\t{{.CgroupDriver}}\t{{.Driver}}"]).stdout.trim().split("\t"));
        info.push(rdocker(["compose", "version", "--short"]).stdout.trim());
      }
      await sleep(10_000);
      const empty = sample();
      const config: Config = { name, daemon, empty, steps: await measureSteps() };
      if (!values["no-reboot"]) {
        const containers = STEPS.at(-1)! * CONTAINERS_PER_PROJECT;
        log(`reboot: stopping the engine with ${containers} containers (containerd and every shim killed), starting it again`);
        stopEngine(NETNS, env(daemonJson));
        const killed = await killLeftovers(false);
        log(`reboot: killed ${killed} processes the shims left in the containers`);
        const r0 = Date.now();
        startEngine(NETNS, env(daemonJson));
        await waitHealthy(containers, 300);
        const seconds = (Date.now() - r0) / 1000;
        const after = sample();
        config.reboot = { killed, seconds, dockerdHwm: after.dockerd.hwm, containerdHwm: after.containerd.hwm, after };
        log(`reboot: all ${containers} healthy again in ${f1(seconds)} s; dockerd peak ${f1(after.dockerd.hwm)} MiB, containerd peak ${f1(after.containerd.hwm)} MiB`);
      }
      configs.push(config);
      removeContainers();
      stopEngine(NETNS, env(daemonJson));
      started = undefined;
      const left = await killLeftovers(true);
      if (left > 0) log(`killed ${left} processes left in removed containers`);
    }

    const date = new Date().toISOString().slice(0, 10);
    const m = (st: Step, f: (s: Sample) => number): string => f1(median(st.samples.map(f)));
    const lines: string[] = [
      `Run of ${date}: \`npm run bench:runtime\` (Docker ${info[0]}, Compose ${info[4]}, cgroup v${info[1]} with the ${info[2]} driver, ${info[3]}; kernel ${kernel()}, ${cpus().length} cores, ` +
        `${Math.round(totalmem() / 2 ** 30)} GiB). ${CONTAINERS_PER_PROJECT} containers and ${PUBLISHED_PORTS_PER_PROJECT} published ports per project; medians of ${SAMPLES} samples ${INTERVAL_S} s apart, ${SETTLE_S} s after every container was healthy. MiB.`,
    ];
    for (const c of configs) {
      lines.push(
        "",
        c.name === "proxy" ? "The worker's daemon.json (userland proxy on, Docker's default):" : 'The worker\'s daemon.json with `"userland-proxy": false`:',
        "",
        "| projects | containers | dockerd RSS | dockerd anon | dockerd peak | containerd RSS | containerd peak | shims PSS total | shim PSS / container | shim USS / container | docker-proxy PSS / port | docker-proxy USS / port | SUnreclaim Δ | KernelStack Δ | containers' cgroups (kmem) | CPU % of a core (dockerd / containerd / shims) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        `| 0 | 0 | ${f1(c.empty.dockerd.rss)} | ${f1(c.empty.dockerd.anon)} | ${f1(c.empty.dockerd.hwm)} | ${f1(c.empty.containerd.rss)} | ${f1(c.empty.containerd.hwm)} | — | — | — | — | — | — | — | — | — |`,
      );
      for (const st of c.steps) {
        const perPort = st.samples[0]!.proxies.count > 0;
        lines.push(
          `| ${st.projects} | ${st.containers} | ${m(st, (s) => s.dockerd.rss)} | ${m(st, (s) => s.dockerd.anon)} | ${f1(st.samples.at(-1)!.dockerd.hwm)} | ${m(st, (s) => s.containerd.rss)} | ${f1(st.samples.at(-1)!.containerd.hwm)} | ` +
            `${m(st, (s) => s.shims.pss)} | ${m(st, (s) => s.shims.pss / s.shims.count)} | ${m(st, (s) => s.shims.uss / s.shims.count)} | ` +
            `${perPort ? `${m(st, (s) => s.proxies.pss / s.proxies.count)} (${st.samples[0]!.proxies.count} proxies)` : "none"} | ${perPort ? m(st, (s) => s.proxies.uss / s.proxies.count) : "—"} | ` +
            `${m(st, (s) => s.kernel.SUnreclaim! - c.empty.kernel.SUnreclaim!)} | ${m(st, (s) => s.kernel.KernelStack! - c.empty.kernel.KernelStack!)} | ${m(st, (s) => s.cgroups.usage)} (${m(st, (s) => s.cgroups.kmem)}) | ` +
            `${f1(st.cpu.dockerd)} / ${f1(st.cpu.containerd)} / ${f1(st.cpu.shims)} |`,
        );
      }
      if (c.reboot) {
        lines.push(
          "",
          `Reboot with ${c.steps.at(-1)!.containers} containers: all healthy again ${f1(c.reboot.seconds)} s after the engine's start; peak RSS since the start: dockerd ${f1(c.reboot.dockerdHwm)}, containerd ${f1(c.reboot.containerdHwm)}; ` +
            `then dockerd ${f1(c.reboot.after.dockerd.rss)} and containerd ${f1(c.reboot.after.containerd.rss)} RSS.`,
        );
      }
    }
    const table = lines.join("\n");
    console.log(table);
    if (!values["no-write"]) {
      mkdirSync(join(ROOT, "bench/results"), { recursive: true });
      const file = join(ROOT, "bench/results", `runtime-${date}.json`);
      const settings = { steps: STEPS, settle: SETTLE_S, samples: SAMPLES, interval: INTERVAL_S, containersPerProject: CONTAINERS_PER_PROJECT, publishedPortsPerProject: PUBLISHED_PORTS_PER_PROJECT, bind: BIND };
      writeFileSync(file, JSON.stringify({ date, info, kernel: kernel(), cores: cpus().length, settings, seconds: (Date.now() - t0) / 1000, configs, table }, null, 2) + "\n");
      log(`wrote ${file}`);
    }
    log(`done in ${f1((Date.now() - t0) / 1000)} s`);
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

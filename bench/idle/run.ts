// npm run bench:idle [-- --samples 12 --interval 5 --settle 20 --no-write]
//
// Idle memory of every container that runs for real in this lab, measured with
// `docker stats --no-stream` on the lab's Docker engine (tests/lab/engine.ts):
// - PostgreSQL and postgres-meta, in a whole project deployed by the real
//   worker scripts (tests/lab/project.ts, containers idle-db, idle-meta, …);
//   the project's other services are stand-ins and are not measured;
// - Uptime Kuma, n8n and Caddy, each in its own container (idle-kuma,
//   idle-n8n, idle-caddy) with the memory limit the master's compose gives it;
// - the engine's own cost with that project running: dockerd, containerd, one
//   containerd-shim per container, and one docker-proxy (the lab runs without
//   the userland proxy; a worker runs one per published port).
// Each container is sampled only once it answers, after it settled; the table
// gives the median and the maximum of the samples. The table goes to stdout
// and between the bench:idle markers of docs/sizing.md.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release as kernel, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GATE_IMAGE, N8N_IMAGE, n8nEnvironment } from "../../src/automation/n8nCompose";
import { KUMA_IMAGE } from "../../src/monitoring/kumaCompose";
import { CONTAINERS_PER_PROJECT, SERVICE_MEMORY_MIB } from "../../src/model/sizing";
import { docker, ENGINE_NETNS, ENGINE_PREFIX } from "../../tests/lab/engine";
import { useEngine } from "../../tests/lab/engineUsers";
import { LabProject, release } from "../../tests/lab/project";

const { values } = parseArgs({
  options: {
    samples: { type: "string", default: "12" },
    interval: { type: "string", default: "5" },
    settle: { type: "string", default: "20" },
    "no-write": { type: "boolean", default: false },
  },
});
const SAMPLES = Number(values.samples);
const INTERVAL_S = Number(values.interval);
const SETTLE_S = Number(values.settle);
const ROOT = join(__dirname, "..", "..");
const SIZING_MD = join(ROOT, "docs/sizing.md");
const BEGIN = "<!-- bench:idle begin -->";
const END = "<!-- bench:idle end -->";
const RUN = `/run/${ENGINE_NETNS}`;
const RELEASE = "2026.08";
const PROJECT = "idle";
// Last octet of the project's address on the lab's veth, and its slot: used by no test file.
const HOST_OCTET = 246;

/** The master's limits for its add-ons, as their compose files set them. */
const ADDON_LIMIT = { kuma: "512m", n8n: "1g", caddy: "64m" } as const;

/**
 * The lab's Kuma image is npm's uptime-kuma 2.0.0-dev.0, whose SQLite patches sit in db/ where its server looks
 * for them in db/old_migrations/ (tests/helpers/kuma.ts links them the same way); as built, it exits on first start.
 */
const KUMA_START = 'for f in /app/db/patch-*.sql; do ln -sf "$f" /app/db/old_migrations/; done; exec tini -- node server/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => void process.stderr.write(`[bench:idle] ${m}\n`);

function toMiB(s: string): number {
  const m = /^([\d.]+)\s*([KMGT]?i?B)$/.exec(s.trim());
  if (!m) throw new Error(`cannot read a memory figure from "${s}"`);
  const unit = { B: 1 / 1048576, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024, TiB: 1048576 }[m[2]!] ?? NaN;
  return Number(m[1]) * unit;
}

/** `docker stats --no-stream` for the named containers: name → MiB in use (usage less inactive file pages, as docker computes it). */
function stats(names: readonly string[]): Record<string, number> {
  const out = docker(["stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", ...names]).stdout;
  return Object.fromEntries(
    out
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [name, usage] = l.split("\t");
        return [name!, toMiB(usage!.split("/")[0]!)];
      }),
  );
}

/** Resident and proportional set size of a process, in MiB. */
function procMem(pid: number): { rss: number; pss: number } {
  const kb = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) / 1024;
  return { rss: kb(readFileSync(`/proc/${pid}/status`, "utf8"), "VmRSS"), pss: kb(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"), "Pss") };
}

const pidOf = (daemon: "dockerd" | "containerd"): number => Number(readFileSync(join(RUN, `${daemon}.pid`), "utf8").trim());

/** The containerd shims of the given container ids (one per container). */
function shims(ids: readonly string[]): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith("containerd-shim-runc-v2")) continue;
    const id = argv[argv.indexOf("-id") + 1];
    if (id !== undefined && ids.includes(id)) pids.push(Number(d));
  }
  return pids;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f1 = (x: number): string => x.toFixed(1);

async function waitFor(what: string, check: () => boolean, timeoutS: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutS * 1000) throw new Error(`${what} did not answer within ${timeoutS} s`);
    await sleep(1000);
  }
  return (Date.now() - start) / 1000;
}

/** A probe from inside the container, as the compose healthchecks do: the add-ons sit on their own bridge network. */
const nodeProbe = (container: string, url: string, expect = "r.ok"): boolean =>
  docker(["exec", container, "node", "-e", `fetch(${JSON.stringify(url)}).then(async (r) => process.exit(${expect} ? 0 : 1), () => process.exit(1))`], { allowFail: true }).status === 0;

/** One docker-proxy, as dockerd starts one per published port when the userland proxy is on (Docker's default, and the workers'). */
async function dockerProxy(): Promise<{ rss: number; pss: number }> {
  const port = 39000 + Math.floor(Math.random() * 900);
  const p = spawn(join(ENGINE_PREFIX, "usr/sbin/docker-proxy"), ["-proto", "tcp", "-host-ip", "127.0.0.1", "-host-port", String(port), "-container-ip", "127.0.0.1", "-container-port", String(port + 1)], {
    stdio: ["ignore", "ignore", "ignore", "pipe"],
  });
  try {
    // It writes "0\n" on fd 3 once it listens, as dockerd expects.
    await new Promise<void>((resolve, reject) => {
      p.stdio[3]!.once("data", () => resolve());
      p.once("exit", (c) => reject(new Error(`docker-proxy exited with ${c}`)));
    });
    await sleep(2000);
    return procMem(p.pid!);
  } finally {
    p.kill();
  }
}

/**
 * The nightly backup's host side: restic reading a dump on stdin, as backup.sh runs it (pg_dump itself runs in the
 * db container, through docker exec, so it counts against that container's limit). Peak RSS of a first backup of
 * 256 MiB of incompressible data into a new repository; restic's index, and so its memory, grows with the repository.
 */
function resticPeak(work: string): { version: string; peakMiB: number } | undefined {
  if (!existsSync("/usr/bin/time") || spawnSync("restic", ["version"]).status !== 0) return undefined;
  const env = { ...process.env, RESTIC_PASSWORD: "bench", RESTIC_CACHE_DIR: join(work, "restic-cache") };
  const repo = join(work, "restic-repo");
  const dump = randomBytes(256 << 20);
  const init = spawnSync("restic", ["-r", repo, "init", "-q"], { env, encoding: "utf8" });
  if (init.status !== 0) throw new Error(`restic init failed: ${init.stderr}`);
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "restic", "-r", repo, "backup", "-q", "--stdin", "--stdin-filename", "db.sql"], { env, encoding: "utf8", input: dump, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`restic backup failed: ${r.stderr}`);
  const kib = Number(r.stderr.trim().split("\n").at(-1));
  return { version: spawnSync("restic", ["version"], { encoding: "utf8" }).stdout.split(" ")[1] ?? "?", peakMiB: kib / 1024 };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the Docker lab runs as root (network namespaces, dockerd)");
  const releaseEngine = useEngine();
  const info = docker(["info", "--format", "{{.ServerVersion}}\t{{.CgroupVersion}}\t{{.CgroupDriver}}\t{{.Driver}}"]).stdout.trim().split("\t");
  const engineContainers = (): number => docker(["ps", "-q"]).stdout.split("\n").filter(Boolean).length;
  const before = { dockerd: procMem(pidOf("dockerd")), containerd: procMem(pidOf("containerd")), containers: engineContainers() };

  const work = mkdtempSync(join(tmpdir(), "supafleet-bench-idle-"));
  const addons = ["idle-kuma", "idle-n8n", "idle-caddy"];
  const project = new LabProject(PROJECT, HOST_OCTET, 1);
  // Only what this bench creates: its add-on containers and network, and project "idle" (left by an interrupted run).
  const removeContainers = (): void => {
    const left = docker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${PROJECT}`], { allowFail: true }).stdout.split("\n").filter(Boolean);
    docker(["rm", "-f", "-v", ...addons, ...left], { allowFail: true });
    docker(["network", "rm", "idle-addons"], { allowFail: true });
  };
  const cleanup = (): void => {
    removeContainers();
    project.stop();
    rmSync(work, { recursive: true, force: true });
  };
  removeContainers();
  try {
    log(`deploying project ${PROJECT} (release ${RELEASE}) with the worker scripts`);
    await project.start();
    project.configure();
    const t0 = Date.now();
    // On a loaded machine (other test runs on the same 2 cores) a healthcheck can time out before the database
    // or postgres-meta is up, and Compose gives up on an unhealthy service; the next attempt finds the database
    // initialised. Deploying is not what this bench measures.
    for (let attempt = 1; ; attempt++) {
      const deploy = project.deploy(release(RELEASE), { SUPAFLEET_WAIT_TIMEOUT: "600" });
      if (deploy.status === 0) break;
      const states = Object.entries(project.containers()).map(([n, c]) => `${n}: ${c.state} ${c.health}${c.oomKilled ? " OOM-killed" : ""} restarts=${c.restarts}`);
      const why = `project-deploy.sh failed (${deploy.status}): ${deploy.stderr.slice(-1500)}\n${states.join("\n")}`;
      if (attempt === 3 || states.some((s) => s.includes("OOM-killed"))) throw new Error(why);
      log(`deploy attempt ${attempt} failed (${states.filter((s) => !s.includes(" healthy")).join("; ")}); again`);
    }
    log(`project deployed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // The add-ons after the project: booting n8n takes a core for a minute, which the deploy's healthchecks would miss.
    docker(["network", "create", "idle-addons"]);
    const kumaData = join(work, "kuma");
    mkdirSync(kumaData);
    docker(["run", "-d", "--name", "idle-kuma", "--network", "idle-addons", "--memory", ADDON_LIMIT.kuma,
      "-e", "UPTIME_KUMA_HOST=0.0.0.0", "-e", "UPTIME_KUMA_PORT=3001", "-e", "UPTIME_KUMA_DB_TYPE=sqlite", "-e", "TZ=UTC",
      "-v", `${kumaData}:/app/data`, "--entrypoint", "sh", KUMA_IMAGE, "-c", KUMA_START]);
    const n8nData = join(work, "n8n");
    mkdirSync(n8nData, { mode: 0o700 });
    chownSync(n8nData, 1000, 1000);
    const n8nEnv = { ...n8nEnvironment("n8n.lab.invalid"), N8N_ENCRYPTION_KEY: randomBytes(24).toString("hex") };
    docker(["run", "-d", "--name", "idle-n8n", "--network", "idle-addons", "--memory", ADDON_LIMIT.n8n,
      ...Object.entries(n8nEnv).flatMap(([k, v]) => ["-e", `${k}=${v}`]), "-v", `${n8nData}:/home/node/.n8n`, N8N_IMAGE]);
    const caddyfile = join(work, "Caddyfile");
    writeFileSync(caddyfile, ':8080 {\n\trespond "ok" 200\n}\n');
    docker(["run", "-d", "--name", "idle-caddy", "--network", "idle-addons", "--memory", ADDON_LIMIT.caddy, "-v", `${caddyfile}:/etc/caddy/Caddyfile:ro`, GATE_IMAGE]);

    // postgres-meta connected to the database: one introspection call, as Studio makes when it opens.
    await waitFor("postgres-meta /schemas", () => nodeProbe("idle-meta", "http://localhost:8080/schemas", "r.ok && Array.isArray(await r.json())"), 60);
    await waitFor("Uptime Kuma", () => nodeProbe("idle-kuma", "http://127.0.0.1:3001/api/entry-page"), 180);
    await waitFor("n8n /healthz", () => nodeProbe("idle-n8n", "http://127.0.0.1:5678/healthz"), 300);
    await waitFor("Caddy", () => docker(["exec", "idle-caddy", "curl", "-fsS", "http://127.0.0.1:8080/"], { allowFail: true }).status === 0, 60);
    log(`all answer; settling ${SETTLE_S} s, then ${SAMPLES} samples ${INTERVAL_S} s apart`);
    await sleep(SETTLE_S * 1000);

    const measured = ["idle-db", "idle-meta", ...addons];
    const projectIds = docker(["ps", "-q", "--no-trunc", "--filter", `label=com.docker.compose.project=${PROJECT}`]).stdout.split("\n").filter(Boolean);
    if (projectIds.length !== CONTAINERS_PER_PROJECT) throw new Error(`project ${PROJECT} runs ${projectIds.length} containers, not ${CONTAINERS_PER_PROJECT}`);
    const series: Record<string, number[]> = Object.fromEntries(measured.map((n) => [n, []]));
    const daemons: Record<"dockerd" | "containerd" | "shim", { rss: number; pss: number }[]> = { dockerd: [], containerd: [], shim: [] };
    const running: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const tick = Date.now();
      const s = stats(measured);
      for (const n of measured) {
        if (s[n] === undefined) throw new Error(`docker stats has no figure for ${n}`);
        series[n]!.push(s[n]!);
      }
      daemons.dockerd.push(procMem(pidOf("dockerd")));
      daemons.containerd.push(procMem(pidOf("containerd")));
      const sh = shims(projectIds).map(procMem);
      if (sh.length !== projectIds.length) throw new Error(`found ${sh.length} shims for the project's ${projectIds.length} containers`);
      daemons.shim.push({ rss: sh.reduce((a, b) => a + b.rss, 0) / sh.length, pss: sh.reduce((a, b) => a + b.pss, 0) / sh.length });
      running.push(engineContainers());
      const health = project.containers();
      const bad = Object.entries(health).filter(([, c]) => c.state !== "running" || c.oomKilled || c.restarts > 0);
      if (bad.length > 0) throw new Error(`while sampling: ${bad.map(([n, c]) => `${n} ${c.state}${c.oomKilled ? " OOM-killed" : ""} restarts=${c.restarts}`).join(", ")}`);
      if (i < SAMPLES - 1) await sleep(Math.max(0, INTERVAL_S * 1000 - (Date.now() - tick)));
    }
    const proxy = await dockerProxy();
    const restic = resticPeak(work);

    const version = (c: string, argv: string[]): string => docker(["exec", c, ...argv], { allowFail: true }).stdout.trim().split("\n")[0] ?? "?";
    const pkg = (c: string, file: string): string => {
      const v = docker(["exec", c, "node", "-p", `require(${JSON.stringify(file)}).version`], { allowFail: true }).stdout.trim();
      return v || "?";
    };
    const node = version("idle-meta", ["node", "--version"]);
    const what: Record<string, { service: string; runs: string; limit: string }> = {
      "idle-db": { service: "db", runs: `${version("idle-db", ["/usr/lib/postgresql/15/bin/postgres", "--version"]).replace("postgres (PostgreSQL) ", "PostgreSQL ")}, the lab's supabase/postgres shape; the project's roles and migrations applied`, limit: `${SERVICE_MEMORY_MIB.db} MiB` },
      "idle-meta": { service: "meta", runs: `@supabase/postgres-meta ${pkg("idle-meta", "/usr/src/app/node_modules/@supabase/postgres-meta/package.json")} (npm) on Node ${node}, connected, after one /schemas call`, limit: `${SERVICE_MEMORY_MIB.meta} MiB` },
      "idle-kuma": { service: "Uptime Kuma (master)", runs: `uptime-kuma ${pkg("idle-kuma", "/app/package.json")} (npm) on Node ${node}, SQLite, fresh, no monitors`, limit: ADDON_LIMIT.kuma.replace("m", " MiB") },
      "idle-n8n": { service: "n8n (master)", runs: `n8n ${pkg("idle-n8n", "/usr/local/lib/n8n/node_modules/n8n/package.json")} (npm) on Node ${node}, SQLite, fresh, no workflows`, limit: "1024 MiB" },
      "idle-caddy": { service: "Caddy (master, n8n's webhook gate)", runs: `Caddy ${version("idle-caddy", ["caddy", "version"])} (Debian), one \`respond\` site`, limit: ADDON_LIMIT.caddy.replace("m", " MiB") },
    };
    const date = new Date().toISOString().slice(0, 10);
    const daemonRow = (name: string, xs: { rss: number; pss: number }[], note: string): string =>
      `| ${name} | ${f1(median(xs.map((x) => x.rss)))} | ${f1(Math.max(...xs.map((x) => x.rss)))} | ${f1(median(xs.map((x) => x.pss)))} | ${note} |`;
    const lines = [
      `Run of ${date}: \`npm run bench:idle\` on the lab's engine (Docker ${info[0]}, cgroup v${info[1]} with the ${info[2]} driver, ${info[3]};`,
      `kernel ${kernel()}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB). ${SAMPLES} samples ${INTERVAL_S} s apart, ${SETTLE_S} s after every container answered.`,
      "",
      "| container | service | what runs | limit | idle median MiB | idle max MiB |",
      "|---|---|---|---:|---:|---:|",
      ...measured.map((n) => `| ${n} | ${what[n]!.service} | ${what[n]!.runs} | ${what[n]!.limit} | ${f1(median(series[n]!))} | ${f1(Math.max(...series[n]!))} |`),
      "",
      `The engine's own memory with the project running (${projectIds.length} containers; ${Math.min(...running)}–${Math.max(...running)} containers on the engine in all, other test runs included):`,
      "",
      "| process | RSS median MiB | RSS max MiB | PSS median MiB | note |",
      "|---|---:|---:|---:|---|",
      daemonRow("dockerd", daemons.dockerd, `before the bench's containers: ${f1(before.dockerd.rss)} MiB RSS with ${before.containers} containers on the engine`),
      daemonRow("containerd", daemons.containerd, `before: ${f1(before.containerd.rss)} MiB RSS`),
      daemonRow("containerd-shim-runc-v2, per container", daemons.shim, `one per container, outside the containers' limits; the PSS shares the binary's pages`),
      `| docker-proxy, per published port | ${f1(proxy.rss)} | ${f1(proxy.rss)} | ${f1(proxy.pss)} | one idle proxy, started as dockerd starts it (the lab's engine runs without them) |`,
      ...(restic
        ? [`| restic ${restic.version} backup --stdin, peak | ${f1(restic.peakMiB)} | ${f1(restic.peakMiB)} | — | the host side of a nightly backup: 256 MiB of incompressible data into a new repository (\`/usr/bin/time\`'s maximum RSS) |`]
        : []),
    ];
    const table = lines.join("\n");
    console.log(table);
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results", `idle-${date}.json`), JSON.stringify({ date, info, before, series, daemons, proxy, restic, running, what }, null, 2));
    if (!values["no-write"]) {
      const doc = readFileSync(SIZING_MD, "utf8");
      const a = doc.indexOf(BEGIN);
      const b = doc.indexOf(END);
      if (a < 0 || b < a) throw new Error(`docs/sizing.md has no ${BEGIN} … ${END} section to write the table into`);
      writeFileSync(SIZING_MD, `${doc.slice(0, a + BEGIN.length)}\n${table}\n${doc.slice(b)}`);
      log("wrote the table to docs/sizing.md");
    }
  } finally {
    cleanup();
    releaseEngine();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

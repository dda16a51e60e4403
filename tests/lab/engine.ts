import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * The lab's real Docker engine (Debian 13's docker.io 26 and Compose v2),
 * started by scripts/lab/dockerd.sh in its own network namespace. The suite's
 * global setup starts it once; tests reach it through the socket, and run
 * anything that must see its published ports inside ENGINE_NETNS.
 */
export const ENGINE_NETNS = "supafleet-dk";
export const ENGINE_PREFIX = process.env.SUPAFLEET_LAB_DOCKER ?? "/opt/supafleet-docker";
const DOCKERD_SH = join(__dirname, "../../scripts/lab/dockerd.sh");

/** The environment in which `docker` and `docker compose` talk to the lab's engine. */
export function dockerEnv(base: NodeJS.ProcessEnv = process.env, netns = ENGINE_NETNS): NodeJS.ProcessEnv {
  return {
    ...base,
    PATH: `${ENGINE_PREFIX}/usr/bin:${ENGINE_PREFIX}/usr/sbin:${base.PATH ?? "/usr/bin:/bin"}`,
    DOCKER_CONFIG: `${ENGINE_PREFIX}/cfg`,
    DOCKER_HOST: `unix:///run/${netns}/docker.sock`,
  };
}

export function engineInstalled(): boolean {
  return existsSync(`${ENGINE_PREFIX}/usr/sbin/dockerd`);
}

export function engineRunning(netns = ENGINE_NETNS): boolean {
  return spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { env: dockerEnv(process.env, netns), stdio: "ignore" }).status === 0;
}

function dockerdSh(action: "start" | "stop", netns: string, extraEnv: Record<string, string> = {}): void {
  const r = spawnSync("bash", [DOCKERD_SH, action, netns], { encoding: "utf8", env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) throw new Error(`scripts/lab/dockerd.sh ${action} ${netns} failed: ${r.stderr}`);
}

export function startEngine(netns = ENGINE_NETNS, extraEnv: Record<string, string> = {}): void {
  if (!engineInstalled()) throw new Error(`no Docker engine in ${ENGINE_PREFIX}: run scripts/install-test-deps.sh (it runs scripts/lab/install-docker-engine.sh)`);
  dockerdSh("start", netns, extraEnv);
}

export function stopEngine(netns = ENGINE_NETNS, extraEnv: Record<string, string> = {}): void {
  dockerdSh("stop", netns, extraEnv);
}

/** `docker …` against the lab's engine; throws with its stderr when it fails. */
export function docker(args: readonly string[], opts: { input?: string; netns?: string; allowFail?: boolean } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("docker", args, { input: opts.input, encoding: "utf8", env: dockerEnv(process.env, opts.netns), maxBuffer: 64 << 20 });
  const out = { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (out.status !== 0 && !opts.allowFail) throw new Error(`docker ${args.join(" ")} failed (${out.status}): ${out.stderr}`);
  return out;
}

/** For tests that need the engine: a clear failure, naming the set-up step, when it is not there. */
export function requireEngine(): void {
  if (process.getuid?.() !== 0) throw new Error("the Docker lab runs as root (network namespaces, dockerd)");
  if (!engineInstalled()) throw new Error(`no Docker engine in ${ENGINE_PREFIX}: run \`bash scripts/install-test-deps.sh\``);
  if (!engineRunning()) throw new Error("the lab's Docker engine is not running: vitest's global setup (tests/lab/globalSetup.ts) starts it");
}

/** Whether a process still runs (signal 0 only asks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, docker, ENGINE_NETNS, startEngine, stopEngine } from "./engine";

/**
 * The lab's engine is shared by whatever runs at once (test runs, the image build, a bench): each
 * registers its pid here, and only the last one out stops the engine.
 */
const USERS = `/run/${ENGINE_NETNS}-users`;

function others(me: string): string[] {
  return readdirSync(USERS).filter((p) => p !== me && alive(Number(p)));
}

/**
 * Registers this process, starts the engine if needed, and returns the release. `sweep` removes every
 * container, volume and network when this is the last user (tests leave them; a build does not).
 */
export function useEngine(opts: { sweep?: boolean } = {}): () => void {
  mkdirSync(USERS, { recursive: true });
  // Processes that were killed never unregistered; their pids could be reused.
  for (const p of readdirSync(USERS)) if (!alive(Number(p))) rmSync(join(USERS, p), { force: true });
  const me = String(process.pid);
  writeFileSync(join(USERS, me), "");
  startEngine();
  return () => {
    rmSync(join(USERS, me), { force: true });
    if (others(me).length > 0) return;
    if (opts.sweep === true) {
      const ids = docker(["ps", "-aq"], { allowFail: true }).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) docker(["rm", "-f", "-v", ...ids], { allowFail: true });
      docker(["volume", "prune", "-af"], { allowFail: true });
      docker(["network", "prune", "-f"], { allowFail: true });
    }
    stopEngine();
  };
}

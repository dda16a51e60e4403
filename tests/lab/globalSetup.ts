import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, docker, engineInstalled, ENGINE_NETNS, startEngine, stopEngine } from "./engine";

/**
 * Starts the lab's Docker engine once for the whole run, and stops it after,
 * removing every container, volume and network the tests left. Runs of vitest
 * that overlap share the engine: each registers itself, and the last one out
 * cleans up and stops it.
 */
const USERS = `/run/${ENGINE_NETNS}-users`;
const me = join(USERS, String(process.pid));

export function setup(): void {
  // Without the engine (a machine where only the unit tests are run), the tests that need it say so themselves.
  if (!engineInstalled() || process.getuid?.() !== 0) return;
  mkdirSync(USERS, { recursive: true });
  // Runs that were killed never unregistered; their pids could be reused.
  for (const p of readdirSync(USERS)) if (!alive(Number(p))) rmSync(join(USERS, p), { force: true });
  writeFileSync(me, "");
  startEngine();
}

export function teardown(): void {
  if (!engineInstalled() || process.getuid?.() !== 0) return;
  rmSync(me, { force: true });
  const others = readdirSync(USERS).filter((p) => alive(Number(p)));
  if (others.length > 0) return;
  const ids = docker(["ps", "-aq"], { allowFail: true }).stdout.split("\n").filter(Boolean);
  if (ids.length > 0) docker(["rm", "-f", "-v", ...ids], { allowFail: true });
  docker(["volume", "prune", "-af"], { allowFail: true });
  docker(["network", "prune", "-f"], { allowFail: true });
  stopEngine();
}

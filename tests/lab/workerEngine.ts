import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RELEASES } from "../../src/model/releases";
import { alive, docker, dockerEnv, startEngine, stopEngine } from "./engine";

/**
 * A second Docker engine, for a test that runs one inside a worker's network
 * namespace of the namespace lab (tests/integration/firewall-docker.test.ts):
 * its own data root, seeded with one release's images from the lab's main
 * engine (docker save | docker load), since nothing can be pulled. The seed is
 * cached: it runs again only when an image is missing or its id has changed.
 */
export const WORKER_DOCKER_DATA = "/var/lib/supafleet-dk-worker";
/** The release whose stack the worker runs. */
export const WORKER_RELEASE = "2026.02";
const STAMP = join(WORKER_DOCKER_DATA, "seeded-from");
/** One engine at a time on the data root: the seed step and the test both take it. */
const LOCK = "/run/supafleet-dk-worker.lock";

export function workerImages(): string[] {
  return [...new Set(Object.values(RELEASES[WORKER_RELEASE]!.images))].sort();
}

/** Each image and its id on the main engine: what the worker's data root must hold. */
function wanted(): string {
  const ids = docker(["image", "inspect", "--format", "{{.Id}}", ...workerImages()], { allowFail: true });
  if (ids.status !== 0) throw new Error(`the main lab engine lacks an image the worker needs: ${ids.stderr.trim()}`);
  const list = ids.stdout.trim().split("\n");
  return workerImages().map((n, i) => `${n} ${list[i]}`).join("\n") + "\n";
}

function seeded(): string | undefined {
  try {
    return readFileSync(STAMP, "utf8");
  } catch {
    return undefined;
  }
}

/** Why the worker's data root is not ready, or undefined when it holds every image, current. */
export function workerDataProblem(): string | undefined {
  const want = wanted();
  if (seeded() === want) return undefined;
  return `${WORKER_DOCKER_DATA} does not hold the current images of release ${WORKER_RELEASE}: run npx tsx scripts/lab/build-images.ts`;
}

/** A dockerd still running on the data root (left by a run that was killed): a second one would corrupt it. */
function strayDockerd(): number | undefined {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("dockerd") && argv.includes(join(WORKER_DOCKER_DATA, "docker"))) return Number(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

/** Takes the lock directory, or says who holds it. */
function tryLock(): { taken: true } | { taken: false; holder: number } {
  try {
    mkdirSync(LOCK);
    writeFileSync(join(LOCK, "pid"), String(process.pid));
    return { taken: true };
  } catch {
    try {
      return { taken: false, holder: Number(readFileSync(join(LOCK, "pid"), "utf8")) };
    } catch {
      // Taken a moment ago, its pid not written yet.
      return { taken: false, holder: NaN };
    }
  }
}

/** Takes the data root for this process (waiting while another live one holds it); returns the release. */
export function lockWorkerData(timeoutMs = 240_000): () => void {
  const deadline = Date.now() + timeoutMs;
  for (let lock = tryLock(); !lock.taken; lock = tryLock()) {
    if (Number.isInteger(lock.holder) && !alive(lock.holder)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${WORKER_DOCKER_DATA} stays in use by process ${lock.holder} (${LOCK})`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
  const release = (): void => rmSync(LOCK, { recursive: true, force: true });
  const stray = strayDockerd();
  if (stray !== undefined) {
    release();
    throw new Error(`a dockerd (pid ${stray}) left by an interrupted run still uses ${WORKER_DOCKER_DATA}: stop it (scripts/lab/dockerd.sh stop <its netns>, or kill ${stray})`);
  }
  return release;
}

/**
 * build-images' last step: loads the worker's images into its data root through a temporary engine, only when
 * one is missing or outdated. Never builds anything. Says what it did, or nothing when it had nothing to do.
 */
export function seedWorkerEngine(): string | undefined {
  const want = wanted();
  if (seeded() === want) return undefined;
  const release = lockWorkerData();
  const netns = "supafleet-dk-seed";
  const t0 = Date.now();
  try {
    startEngine(netns, { SUPAFLEET_LAB_DOCKER_DATA: WORKER_DOCKER_DATA });
    const seedHost = dockerEnv(process.env, netns).DOCKER_HOST!;
    const r = spawnSync("bash", ["-c", 'set -o pipefail; docker save "$@" | DOCKER_HOST="$SEED_HOST" docker load -q', "_", ...workerImages()], {
      encoding: "utf8",
      env: { ...dockerEnv(), SEED_HOST: seedHost },
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`seeding the worker engine failed: ${r.stderr.slice(-2000)}`);
    // Images of an earlier seed, now untagged, only take disk.
    docker(["image", "prune", "-f"], { netns });
    writeFileSync(STAMP, want);
  } finally {
    stopEngine(netns, { SUPAFLEET_LAB_DOCKER_DATA: WORKER_DOCKER_DATA });
    release();
  }
  return `the worker engine's data root (${WORKER_DOCKER_DATA}) holds release ${WORKER_RELEASE}'s images, in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

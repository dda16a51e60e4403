/**
 * Builds the images the lab's Docker engine runs (tests/lab/images/catalog.ts),
 * locally, since nothing can be pulled. Cached: the base is rebuilt only when its
 * package list or Node changes, each image only when its Dockerfile or inputs do.
 * Run by `npm test`'s pretest step and by .ci/run; the suite itself only starts the engine.
 *   npx tsx scripts/lab/build-images.ts [--force] [--if-possible]
 * --if-possible (npm test's pretest) skips, saying why, where the lab cannot run: not root, or no engine
 * installed; the tests that need the engine then fail naming the set-up step.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_IMAGE, BASE_PACKAGES, labImages, ROOT, type LabImage } from "../../tests/lab/images/catalog";
import { supabaseShapeSql } from "../../tests/lab/images/shape";
import { dockerEnv, engineInstalled, engineRunning, startEngine, stopEngine } from "../../tests/lab/engine";
import { seedWorkerEngine } from "../../tests/lab/workerEngine";

const CACHE = process.env.SUPAFLEET_LAB_CACHE ?? "/var/cache/supafleet-lab";
const force = process.argv.includes("--force");
const LABEL = "supafleet.lab.digest";

function die(msg: string): never {
  console.error(`build-images: ${msg}`);
  process.exit(1);
}

function run(argv: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: dockerEnv(), maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) die(`${argv.slice(0, 3).join(" ")} … failed (${r.status ?? r.signal}): ${String(r.stderr ?? "").slice(-2000)}`);
  return String(r.stdout ?? "");
}

const sha = (...parts: (string | Buffer)[]): string => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
};

function labelOf(image: string): string | undefined {
  const r = spawnSync("docker", ["image", "inspect", "-f", `{{index .Config.Labels "${LABEL}"}}`, image], { encoding: "utf8", env: dockerEnv() });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Debian 12 with the packages, and this machine's Node (the same glibc): one layer every image shares. */
function buildBase(): string {
  const node = readFileSync(process.execPath);
  const digest = sha(BASE_PACKAGES.join(","), node);
  if (!force && labelOf(BASE_IMAGE) === digest) return digest;
  mkdirSync(CACHE, { recursive: true });
  const tar = join(CACHE, `base-${sha(BASE_PACKAGES.join(","))}.tar`);
  if (!existsSync(tar)) {
    console.log(`build-images: mmdebstrap bookworm with ${BASE_PACKAGES.join(" ")} (about a minute)`);
    // mmdebstrap picks its output format by the file's extension.
    const partial = tar.replace(/\.tar$/, ".partial.tar");
    run(["mmdebstrap", "--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, "bookworm", partial], { stdio: ["ignore", "ignore", "pipe"] });
    run(["mv", partial, tar]);
  }
  const tree = mkdtempSync(join(tmpdir(), "supafleet-lab-base-"));
  try {
    run(["tar", "-C", tree, "-xf", tar]);
    cpSync(process.execPath, join(tree, "usr/local/bin/node"));
    const imp = spawnSync("bash", ["-c", `tar -C "$1" -c . | docker import -c "$2" -c "$3" -c "$4" - "$5:latest"`, "_", tree,
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8", `LABEL ${LABEL}=${digest}`, BASE_IMAGE], { encoding: "utf8", env: dockerEnv() });
    if (imp.status !== 0) die(`docker import of the base failed: ${imp.stderr}`);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  console.log(`build-images: ${BASE_IMAGE} (${digest})`);
  return digest;
}

/** tests/lab/images plus what its Dockerfiles copy from elsewhere: a small build context. */
function stageImagesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "supafleet-lab-context-"));
  cpSync(join(ROOT, "tests/lab/images"), dir, { recursive: true });
  cpSync(join(ROOT, "node_modules/yaml"), join(dir, "standin/node_modules/yaml"), { recursive: true });
  writeFileSync(join(dir, "postgres/supabase-shape.sql"), supabaseShapeSql());
  return dir;
}

function build(img: LabImage, base: string, staged: string): void {
  const context = img.context === join(ROOT, "tests/lab/images") ? staged : img.context;
  const inputs = img.inputs.map((f) => readFileSync(f.startsWith(join(ROOT, "tests/lab/images")) ? f.replace(join(ROOT, "tests/lab/images"), staged) : f));
  const digest = sha(base, img.dockerfile, ...inputs);
  const [first, ...tags] = img.names;
  if (!force && img.names.every((n) => labelOf(n) === digest)) return;
  const t0 = Date.now();
  const dockerfile = `${img.dockerfile}\nLABEL ${LABEL}=${digest}\n`;
  // The legacy builder: no BuildKit plugin here, and every FROM is a local image.
  const r = spawnSync("docker", ["build", "-q", "-t", first!, "-f", "-", context], {
    input: dockerfile,
    encoding: "utf8",
    env: { ...dockerEnv(), DOCKER_BUILDKIT: "0" },
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) die(`building ${first} failed: ${r.stderr.slice(-3000)}`);
  for (const t of tags) run(["docker", "tag", first!, t]);
  console.log(`build-images: ${img.names.join(", ")} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function main(): void {
  const why = process.getuid?.() !== 0 ? "not root: the lab's engine runs as root in its own network namespace" : !engineInstalled() ? "no lab engine: run bash scripts/install-test-deps.sh" : undefined;
  if (why !== undefined) {
    if (process.argv.includes("--if-possible")) {
      console.log(`build-images: skipped (${why}); tests that need the Docker lab will fail`);
      return;
    }
    die(why);
  }
  const wasRunning = engineRunning();
  startEngine();
  const staged = stageImagesDir();
  try {
    const base = buildBase();
    for (const img of labImages()) build(img, base, staged);
    // Old images of earlier builds only take disk.
    spawnSync("docker", ["image", "prune", "-f"], { env: dockerEnv(), stdio: "ignore" });
    console.log("build-images: every lab image is current");
    // The firewall-with-Docker test's second engine: its own data root, loaded from these images (cached).
    const seeded = seedWorkerEngine();
    if (seeded !== undefined) console.log(`build-images: ${seeded}`);
  } finally {
    rmSync(staged, { recursive: true, force: true });
    if (!wasRunning) stopEngine();
  }
}

main();

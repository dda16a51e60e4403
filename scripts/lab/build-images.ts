/**
 * Builds the images the lab's Docker engine runs (tests/lab/images/catalog.ts),
 * locally, since nothing can be pulled. Cached: the base is rebuilt only when its
 * package list or Node changes, each image only when its Dockerfile or inputs do.
 * Run by `npm test`'s pretest step (scripts/lab/prepare.sh); the suite itself only starts the engine.
 *   npx tsx scripts/lab/build-images.ts [--force]
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { BASE_IMAGE, BASE_PACKAGES, labImages, ROOT, type LabImage } from "../../tests/lab/images/catalog";
import { supabaseShapeSql } from "../../tests/lab/images/shape";
import { dockerEnv, engineInstalled } from "../../tests/lab/engine";
import { useEngine } from "../../tests/lab/engineUsers";
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

/** The base's Debian 12 tree, cached as a tarball: mmdebstrap runs once per package list. */
function baseTarball(): string {
  mkdirSync(CACHE, { recursive: true });
  const tar = join(CACHE, `base-${sha(BASE_PACKAGES.join(","))}.tar`);
  if (!existsSync(tar)) {
    console.log(`build-images: mmdebstrap bookworm with ${BASE_PACKAGES.join(" ")} (about a minute)`);
    // mmdebstrap picks its output format by the file's extension.
    const partial = tar.replace(/\.tar$/, ".partial.tar");
    run(["mmdebstrap", "--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, "bookworm", partial], { stdio: ["ignore", "ignore", "pipe"] });
    run(["mv", partial, tar]);
  }
  return tar;
}

/** Unpacks the base into a fresh folder, with this machine's Node (the same glibc) and n8n's user. */
function baseTree(): string {
  const tree = mkdtempSync(join(tmpdir(), "supafleet-lab-tree-"));
  run(["tar", "-C", tree, "-xf", baseTarball()]);
  cpSync(process.execPath, join(tree, "usr/local/bin/node"));
  run(["chroot", tree, "useradd", "-u", "1000", "-m", "-s", "/bin/sh", "node"]);
  return tree;
}

const BASE_CHANGES = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8"];

/** `docker import` of the base's tree plus host folders, one layer, with a heartbeat while it runs. */
function importTree(name: string, trees: readonly { from: string; to: string }[], changes: readonly string[], digest: string): void {
  const tree = baseTree();
  try {
    const args = ["-C", tree, "."];
    for (const t of trees) {
      const parent = dirname(t.from);
      const leaf = basename(t.from);
      args.push(`--transform=s,^${leaf}\\(/\\|$\\),${t.to}\\1,`, "-C", parent, leaf);
    }
    const all = [...BASE_CHANGES, ...changes, `LABEL ${LABEL}=${digest}`];
    // name, then each change, then "--", then tar's arguments; a heartbeat while it runs (n8n takes minutes).
    const script = [
      'n=$1; shift; c=(); while [ "$1" != -- ]; do c+=(-c "$1"); shift; done; shift',
      '( while sleep 30; do echo "build-images: still importing $n…"; done ) & hb=$!',
      'set -o pipefail; rc=0; tar -c "$@" | docker import "${c[@]}" - "$n" > /dev/null || rc=$?',
      'kill "$hb"; exit "$rc"',
    ].join("\n");
    const r = spawnSync("bash", ["-c", script, "_", name, ...all, "--", ...args], { env: dockerEnv(), stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) die(`docker import of ${name} failed (${r.status ?? r.signal}); its error is above`);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/** The base every built image starts FROM. */
function buildBase(): string {
  const digest = sha(BASE_PACKAGES.join(","), readFileSync(process.execPath), "user node 1000");
  if (!force && labelOf(BASE_IMAGE) === digest) return digest;
  importTree(`${BASE_IMAGE}:latest`, [], [], digest);
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
  const inputs = img.inputs.map((f) => readFileSync(f.startsWith(join(ROOT, "tests/lab/images")) ? f.replace(join(ROOT, "tests/lab/images"), staged) : f));
  // The trees by their place in the checkout: a clone elsewhere (CI's) holds the same images.
  const recipe = img.kind === "build" ? img.dockerfile : JSON.stringify([img.trees.map((t) => ({ from: relative(ROOT, t.from), to: t.to })), img.changes]);
  const digest = sha(base, recipe, ...inputs);
  const [first, ...tags] = img.names;
  if (!force && img.names.every((n) => labelOf(n) === digest)) return;
  const t0 = Date.now();
  if (img.kind === "import") {
    importTree(first!, img.trees, img.changes, digest);
  } else {
    const context = img.context === join(ROOT, "tests/lab/images") ? staged : img.context;
    // The legacy builder: no BuildKit plugin here, and every FROM is a local image.
    const r = spawnSync("docker", ["build", "-q", "-t", first!, "-f", "-", context], {
      input: `${img.dockerfile}\nLABEL ${LABEL}=${digest}\n`,
      encoding: "utf8",
      env: { ...dockerEnv(), DOCKER_BUILDKIT: "0" },
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) die(`building ${first} failed: ${r.stderr.slice(-3000)}`);
  }
  for (const t of tags) run(["docker", "tag", first!, t]);
  console.log(`build-images: ${img.names.join(", ")} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function main(): void {
  if (process.getuid?.() !== 0) die("run as root: the lab's engine runs as root in its own network namespace");
  if (!engineInstalled()) die("no lab engine: run bash scripts/install-test-deps.sh");
  const release = useEngine();
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
    release();
  }
}

main();

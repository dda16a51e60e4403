import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMAGE_SUITES, IMAGES } from "../../src/model/serverTypes";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { bootPackages, type NodeRole } from "../../src/render/bootData";
import { allBootPackages } from "../../scripts/lab/boot-packages";
import { runDoc } from "../helpers/offline";
import { stackDoc } from "../helpers/stacks";

/**
 * Does every package the boot data names install on each image the config
 * allows, and does `docker compose` work there afterwards? The tree is the
 * image's Debian suite as scripts/lab/build-boot-rootfs.sh builds it, with the
 * packages' .debs already in its apt cache: apt installs them with
 * `--no-download`, as cloud-init would (recommends included), and no daemon starts.
 */

const CACHE = join(process.env.SUPAFLEET_LAB_CACHE ?? "/var/cache/supafleet-lab", "rootfs");
const SETUP = "npm run lab:rootfs (as root, after npm ci; it needs deb.debian.org)";
const INSTALL_TIMEOUT_MS = 150_000;

const trees: string[] = [];

/** Any mount left under a tree (there should be none: the chroot's /proc lives in its own mount namespace). */
function unmountUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync("umount", ["-l", m]);
}

afterAll(() => {
  for (const dir of trees) {
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Runs a command in the tree, as root, with a fresh /proc in private mount and PID
 * namespaces: the mount goes when the command ends, and so does anything it left running.
 */
function inTree(dir: string, command: string[], timeout = 30_000): { status: number | null; output: string } {
  const env = ["/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"];
  const r = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--", "sh", "-ec", 'mount -t proc proc "$1/proc"; d=$1; shift; exec chroot "$d" "$@"', "sh", dir, ...env, ...command],
    { encoding: "utf8", timeout, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 },
  );
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error !== undefined ? `\n${r.error.message}` : ""}` };
}

const tail = (s: string, lines = 40): string => s.trimEnd().split("\n").slice(-lines).join("\n");

/** The cached tree of an image, refused with the command that builds it when it is missing or stale. */
function cachedTree(image: keyof typeof IMAGE_SUITES): string {
  const tar = join(CACHE, `${image}.tar`);
  const manifest = join(CACHE, `${image}.manifest`);
  if (!existsSync(tar) || !existsSync(manifest)) {
    throw new Error(`no cached ${image} tree at ${tar}: build it with ${SETUP}`);
  }
  const fields = new Map(
    readFileSync(manifest, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)] as const),
  );
  const packages = allBootPackages().join(" ");
  if (fields.get("suite") !== IMAGE_SUITES[image] || fields.get("packages") !== packages) {
    throw new Error(
      `the cached ${image} tree (${tar}) was built for suite ${fields.get("suite")} with packages "${fields.get("packages")}"; ` +
        `the boot data now installs "${packages}" on ${IMAGE_SUITES[image]}: rebuild it with ${SETUP}`,
    );
  }
  return tar;
}

const ROLE_OF_COMPONENT: Readonly<Record<string, NodeRole>> = {
  "supafleet:index:MasterNode": "master",
  "supafleet:index:WorkerNode": "worker",
  "supafleet:index:RmmNode": "rmm",
};

/** Every distinct package list the prod stack's boot data renders (master, workers, RMM host), with its servers. */
let renderedLists: { servers: string[]; roles: Set<NodeRole>; packages: string[] }[] = [];

beforeAll(async () => {
  const snapshot = await runDoc("prod", stackDoc("prod"));
  const byList = new Map<string, (typeof renderedLists)[number]>();
  for (const s of snapshot.resources.filter((r) => r.type === "hcloud:index/server:Server")) {
    const envelope = s.inputs.userData;
    if (!isSecretEnvelope(envelope)) throw new Error(`${s.name}: boot data is not a secret`);
    const role = ROLE_OF_COMPONENT[(s.parent ?? "").split("::")[0] ?? ""];
    if (role === undefined) throw new Error(`${s.name}: a server under ${s.parent}, not a master, worker or RMM host`);
    const packages = (parse((envelope as { value: string }).value) as { packages: string[] }).packages;
    const entry = byList.get(packages.join(" ")) ?? { servers: [], roles: new Set<NodeRole>(), packages };
    entry.servers.push(s.name);
    entry.roles.add(role);
    byList.set(packages.join(" "), entry);
  }
  renderedLists = [...byList.values()];
});

describe("the boot data's packages on every image the config allows", () => {
  it("are what bootPackages says for each role, and every one is pre-fetched by the lab's trees", () => {
    const roles = new Set(renderedLists.flatMap((l) => [...l.roles]));
    expect([...roles].sort()).toEqual(["master", "rmm", "worker"]);
    for (const l of renderedLists) for (const role of l.roles) expect(l.packages, l.servers.join(", ")).toEqual(bootPackages(role));
    const fetched = new Set(allBootPackages());
    for (const l of renderedLists) for (const p of l.packages) expect(fetched.has(p), `${p} (${l.servers.join(", ")})`).toBe(true);
  });

  for (const image of IMAGES) {
    it(
      `${image} (Debian ${IMAGE_SUITES[image]}): they install offline, and docker compose is Compose v2`,
      () => {
        expect(renderedLists.length, "package lists rendered from Pulumi.prod.yaml").toBeGreaterThan(0);
        const tar = cachedTree(image);
        const dir = mkdtempSync(join(tmpdir(), `supafleet-boot-${image}-`));
        trees.push(dir);
        const untar = spawnSync("tar", ["-xf", tar, "-C", dir], { encoding: "utf8" });
        expect(untar.status, untar.stderr).toBe(0);
        // As in a container build: dpkg asks invoke-rc.d, and nothing starts.
        writeFileSync(join(dir, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });

        for (const { servers, packages } of renderedLists) {
          // cloud-init's own apt-get line (cc_package_update_upgrade_install), offline.
          const r = inTree(
            dir,
            ["apt-get", "--option=Dpkg::Options::=--force-confold", "--option=Dpkg::options::=--force-unsafe-io", "--assume-yes", "--quiet", "--no-download", "-o", "APT::Install-Recommends=true", "install", ...packages],
            INSTALL_TIMEOUT_MS,
          );
          expect(r.status, `apt-get install on ${image} for ${servers.join(", ")}:\n${tail(r.output)}`).toBe(0);
        }

        const compose = inTree(dir, ["docker", "compose", "version"]);
        expect(compose.output, `docker compose version on ${image}`).toMatch(/^Docker Compose version v?2\.\d+/m);
        expect(compose.status).toBe(0);
        const docker = inTree(dir, ["docker", "--version"]);
        expect(docker.output, `docker --version on ${image}`).toMatch(/^Docker version \d+\.\d+/m);
        expect(docker.status).toBe(0);
        expect(inTree(dir, ["dockerd", "--version"]).output, `dockerd --version on ${image}`).toMatch(/^Docker version \d+\.\d+/m);
      },
      INSTALL_TIMEOUT_MS * 2,
    );
  }
});

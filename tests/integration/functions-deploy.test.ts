import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ONLY_SERVICES } from "../../src/model/projectServices";
import { bundlePayload, type FunctionsBundle } from "../../src/functions/bundle";
import { treeHash } from "../../src/functions/read";
import { docker, dockerEnv, requireEngine } from "../lab/engine";
import { LabProject, release, type ScriptRun } from "../lab/project";

/**
 * The real functions-deploy.sh, as ProjectFunctions sends it, against the lab's real Docker
 * engine: two projects' functions containers, each started from the compose file the program
 * renders (only that service: the edge runtime is a stand-in, and the rest of a project does not
 * take part). A deploy lands the files in the container's view, restarts that project's
 * container and no other, and a function taken out of the folder is gone.
 */

const shape = { services: { ...API_ONLY_SERVICES, functions: true }, studio: "master" as const };
const a = new LabProject("fna", 60, 1, shape);
const b = new LabProject("fnb", 61, 2, shape);
const VIEW = "/home/deno/functions";
const RELEASE = release("2026.02");

/** A bundle of the given files, as src/functions/bundle.ts makes one (its content needs no router here). */
function bundle(files: Record<string, string>): FunctionsBundle {
  const map = new Map(Object.entries(files).map(([p, c]) => [p, Buffer.from(c)]));
  return { files: map, verifyJwt: {}, sha256: treeHash(map) };
}

/** Runs the script for `files`; `claim` is the hash it is told (and the payload says), the files' own by default. */
function deploy(p: LabProject, files: Record<string, string>, claim?: { script: string; payload: string }): ScriptRun {
  const b = bundle(files);
  const script = p.script("functions-deploy.sh", { CONTAINER: p.container("functions"), FUNCTIONS_SHA256: claim?.script ?? b.sha256 });
  return p.run(script, bundlePayload({ ...b, sha256: claim?.payload ?? b.sha256 }), { SUPAFLEET_FUNCTIONS_SETTLE: "1", SUPAFLEET_FUNCTIONS_WAIT: "30" });
}

/** Starts only the functions service of the project's compose file, as the project's deploy would. */
function startFunctions(p: LabProject): void {
  const release = p.dir("releases", "current");
  mkdirSync(release, { recursive: true });
  writeFileSync(`${release}/compose.yaml`, p.composeText(RELEASE));
  const r = spawnSync("docker", ["compose", "--project-name", p.name, "--project-directory", release, "-f", `${release}/compose.yaml`, "--env-file", p.dir("secrets", "staged", ".env"), "up", "--detach", "--no-deps", "functions"], {
    encoding: "utf8",
    env: dockerEnv({ ...process.env, KONG_CONFIG_SHA256: "", SUPAFLEET_WAL_ROOT: p.walRoot }),
  });
  if (r.status !== 0) throw new Error(`compose up functions failed: ${r.stderr}`);
}

const startedAt = (p: LabProject): string => docker(["inspect", "-f", "{{.State.StartedAt}}", p.container("functions")]).stdout.trim();
const inView = (p: LabProject, path: string): string | undefined => {
  const r = docker(["exec", p.container("functions"), "cat", `${VIEW}/${path}`], { allowFail: true });
  return r.status === 0 ? r.stdout : undefined;
};

const v1 = { "main/index.ts": "// router\n", "checkout/index.ts": "export const v = 1;\n", "webhook/index.mjs": "export const w = 1;\n", "_shared/cors.ts": "export {};\n" };

beforeAll(async () => {
  requireEngine();
  await Promise.all([a.start(), b.start()]);
  // The secrets the config step stages, which the first deploy would move into place.
  for (const p of [a, b]) p.configure();
}, 60_000);
afterAll(() => {
  a.stop();
  b.stop();
});

describe("functions-deploy.sh on the lab engine", () => {
  it("before the project's first deploy, writes the files and leaves the starting to that deploy", () => {
    for (const p of [a, b]) {
      const r = deploy(p, v1);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`no ${p.container("functions")} yet`);
      startFunctions(p);
    }
    expect(inView(a, "checkout/index.ts")).toBe(v1["checkout/index.ts"]);
    expect(inView(a, "webhook/index.mjs")).toBe(v1["webhook/index.mjs"]);
  }, 60_000);

  it("lands a change in the container's view, restarts that project's functions container and not another's, and removes a function taken out", () => {
    const before = { a: startedAt(a), b: startedAt(b) };
    const v2: Record<string, string> = { ...v1, "checkout/index.ts": "export const v = 2;\n" };
    delete v2["webhook/index.mjs"];
    const r = deploy(a, v2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`functions-deploy(fna): 3 files, sha256 ${bundle(v2).sha256.slice(0, 12)}`);
    expect(startedAt(a)).not.toBe(before.a);
    expect(startedAt(b)).toBe(before.b);
    expect(docker(["inspect", "-f", "{{.State.Running}}", a.container("functions")]).stdout.trim()).toBe("true");
    expect(inView(a, "checkout/index.ts")).toBe(v2["checkout/index.ts"]);
    expect(inView(a, "webhook/index.mjs")).toBeUndefined();
    // The other project's functions are its own, untouched.
    expect(inView(b, "webhook/index.mjs")).toBe(v1["webhook/index.mjs"]);
    // One folder is kept on the worker, the live one, and the link points at it.
    expect(readdirSync(a.dir("functions.d"))).toEqual([bundle(v2).sha256]);
    expect(readlinkSync(a.dir("functions"))).toBe(`functions.d/${bundle(v2).sha256}`);
  }, 60_000);

  it("refuses a payload that is not the one of its hash, or files that do not hash to it, and changes nothing", () => {
    const live = readlinkSync(a.dir("functions"));
    const before = startedAt(a);
    const tampered = { ...v1, "checkout/index.ts": "tampered\n" };
    const sent = deploy(a, tampered, { script: bundle(v1).sha256, payload: bundle(tampered).sha256 });
    expect(sent.status).not.toBe(0);
    expect(sent.stderr).toContain(`the payload is not the one of hash ${bundle(v1).sha256}`);
    const written = deploy(a, tampered, { script: bundle(v1).sha256, payload: bundle(v1).sha256 });
    expect(written.status).not.toBe(0);
    expect(written.stderr).toContain(`the files written hash to ${bundle(tampered).sha256}, not ${bundle(v1).sha256}; nothing was changed`);
    expect(readlinkSync(a.dir("functions"))).toBe(live);
    expect(startedAt(a)).toBe(before);
    expect(readdirSync(a.dir("functions.d"))).toEqual([live.replace("functions.d/", "")]);
  }, 60_000);
});

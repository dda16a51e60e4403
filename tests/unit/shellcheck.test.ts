import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOffline } from "../../src/offline/run";
import { readStackFile } from "../../src/offline/stackFile";
import { writeSnapshot } from "../../src/offline/write";
import { PRELUDE, renderScript } from "../../src/render/script";
import { TEMPLATES_DIR } from "../../src/render/templates";
import { ROOT } from "../helpers/stacks";

/**
 * shellcheck over every shell script the fleet runs: each one in templates/
 * (bodies, tools and libraries), each body as renderScript renders it, and each
 * script the offline plan renders into out/<env>/ (commands, the files their
 * payloads install, cloud-init's shell commands). No finding is left, and a
 * `# shellcheck disable=` says why on its own line.
 */

const STACKS = ["staging", "prod"];
const work = mkdtempSync(join(tmpdir(), "supafleet-shellcheck-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Script {
  /** Where it comes from, for the report. */
  readonly origin: string;
  readonly text: string;
  /** The shell that runs it: bash, or sh for cloud-init's `sh -c`. */
  readonly shell: "bash" | "sh";
  /** Files one payload installs together keep their names side by side, so that one can source another. */
  readonly installedAs?: { readonly payload: string; readonly name: string };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const isShell = (path: string, text: string): boolean => path.endsWith(".sh") || /^#!\/(usr\/bin\/env |bin\/|usr\/bin\/)(ba)?sh\b/.test(text);

/** The shell scripts in one environment's out/: what each command runs, and what its payload installs. */
function scriptsInOut(dir: string): Script[] {
  const found: Script[] = [];
  const resources = JSON.parse(readFileSync(join(dir, "resources.json"), "utf8")) as { type: string; name: string; inputs: Record<string, unknown> }[];
  for (const r of resources.filter((r) => r.type === "command:remote:Command")) {
    for (const step of ["create", "update", "delete"] as const) {
      const text = r.inputs[step];
      // A command's script is run by root's login shell on the server: bash.
      if (typeof text === "string") found.push({ origin: `${r.name}.${step}`, text, shell: "bash" });
    }
    // A payload for install-files (one that holds secrets is redacted here; its scripts are checked in templates/).
    const stdin = r.inputs.stdin;
    if (typeof stdin === "string" && stdin.startsWith('{"files":')) {
      // install-files gives each file as { content, mode }; a project's assets are plain text by relative path.
      const files = (JSON.parse(stdin) as { files: Record<string, { content: string } | string> }).files;
      for (const [path, f] of Object.entries(files)) {
        const content = typeof f === "string" ? f : f.content;
        if (isShell(path, content)) found.push({ origin: `${r.name}.stdin:${path}`, text: content, shell: "bash", installedAs: { payload: r.name, name: basename(path) } });
      }
    }
  }
  for (const path of walk(dir)) {
    const text = readFileSync(path, "utf8");
    if (isShell(path, text)) found.push({ origin: relative(dir, path), text, shell: "bash" });
    if (basename(path) === "cloud-init.yaml") {
      const doc = parse(text) as { bootcmd?: unknown[]; runcmd?: unknown[] };
      for (const cmd of [...(doc.bootcmd ?? []), ...(doc.runcmd ?? [])]) {
        if (Array.isArray(cmd) && cmd[0] === "sh" && cmd[1] === "-c") found.push({ origin: `${relative(dir, path)}: sh -c`, text: `${cmd[2] as string}\n`, shell: "sh" });
      }
    }
  }
  return found;
}

/** The documented values of a body: `#   NAME[, NAME…]   what it is` lines in its opening comment. */
function documentedValues(body: string): string[] {
  const names: string[] = [];
  for (const line of body.split("\n")) {
    if (!line.startsWith("#")) break;
    const m = /^# {3}([A-Z][A-Z0-9_]*(?:, [A-Z][A-Z0-9_]*)*) {2,}\S/.exec(line);
    if (m) names.push(...m[1]!.split(", "));
  }
  return names;
}

/** shellcheck's findings, one line each (gcc format), or "" when there are none. */
function shellcheck(files: readonly { path: string; shell: "bash" | "sh" }[], extra: string[] = []): string {
  const out: string[] = [];
  for (const shell of ["bash", "sh"] as const) {
    const group = files.filter((f) => f.shell === shell).map((f) => f.path);
    if (group.length === 0) continue;
    const r = spawnSync("shellcheck", ["--norc", "--format=gcc", `--shell=${shell}`, ...extra, ...group], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.error) throw new Error(`shellcheck did not run (${r.error.message}); install it: bash scripts/install-test-deps.sh`);
    out.push(r.stdout, r.stderr);
  }
  return out.join("").trim();
}

const templateScripts = walk(TEMPLATES_DIR).filter((p) => p.endsWith(".sh"));
// A body is what renderScript takes: no shebang, and not one of the sourced libraries.
const LIBRARIES = new Set([PRELUDE, "worker/backup-lib.sh"]);
const bodies = templateScripts.map((p) => relative(TEMPLATES_DIR, p)).filter((rel) => !LIBRARIES.has(rel) && !readFileSync(join(TEMPLATES_DIR, rel), "utf8").startsWith("#!"));

let rendered: Script[] = [];

beforeAll(async () => {
  const out = join(work, "out");
  for (const stack of STACKS) {
    const snapshot = await runOffline(stack, readStackFile(join(ROOT, `Pulumi.${stack}.yaml`)));
    if (snapshot.error !== undefined) throw new Error(snapshot.error);
    rendered.push(
      ...scriptsInOut(writeSnapshot(snapshot, out).dir).map((s) => ({
        ...s,
        origin: `out/${stack}/${s.origin}`,
        ...(s.installedAs !== undefined ? { installedAs: { ...s.installedAs, payload: `${stack}-${s.installedAs.payload}` } } : {}),
      })),
    );
  }
  // Many commands run the same script, and many payloads install the same files: each is checked once.
  const payloads = new Map<string, string>();
  for (const s of rendered) {
    if (s.installedAs === undefined) continue;
    const key = `${payloads.get(s.installedAs.payload) ?? ""}\0${s.installedAs.name}\0${s.text}`;
    payloads.set(s.installedAs.payload, key);
  }
  const firstOf = new Map<string, string>();
  for (const [payload, key] of payloads) if (!firstOf.has(key)) firstOf.set(key, payload);
  const kept = new Set(firstOf.values());
  rendered = [...new Map(rendered.filter((s) => s.installedAs === undefined || kept.has(s.installedAs.payload)).map((s) => [`${s.shell}\n${s.installedAs?.payload ?? ""}\n${s.text}`, s])).values()];
}, 120_000);

/** Writes scripts to files named after their origin; findings then name the script. */
function toFiles(scripts: readonly Script[], dir: string): { path: string; shell: "bash" | "sh" }[] {
  return scripts.map((s, i) => {
    const path = s.installedAs !== undefined ? join(dir, s.installedAs.payload, s.installedAs.name) : join(dir, `${String(i).padStart(3, "0")}-${s.origin.replace(/[^A-Za-z0-9.@-]+/g, "_")}`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, s.text);
    return { path, shell: s.shell };
  });
}

describe("shellcheck", () => {
  it("finds nothing in the scripts in templates/, tools and libraries followed where they source each other", () => {
    expect(templateScripts.length).toBeGreaterThan(30);
    // Sourced files are followed from the tool's own folder, and the prelude from templates/lib, as on a server.
    const findings = shellcheck(
      templateScripts.map((path) => ({ path, shell: "bash" })),
      ["--external-sources", "--source-path=SCRIPTDIR", "--source-path=SCRIPTDIR/../lib"],
    );
    expect(findings.replaceAll(`${ROOT}/`, "")).toBe("");
  });

  it("finds nothing in any body as renderScript renders it, with the values its opening comment documents", () => {
    expect(bodies.length).toBeGreaterThan(20);
    const scripts = bodies.map((rel) => {
      const body = readFileSync(join(TEMPLATES_DIR, rel), "utf8");
      const values = Object.fromEntries(documentedValues(body).map((name) => [name, `${name.toLowerCase()}-value`]));
      return { origin: rel, text: renderScript(rel, values), shell: "bash" as const };
    });
    expect(shellcheck(toFiles(scripts, join(work, "bodies")))).toBe("");
  });

  it("finds nothing in any shell script the offline plan renders into out/ (commands, installed files, cloud-init's sh -c)", () => {
    const origins = rendered.map((s) => s.origin);
    // The plan renders the scripts that matter: every kind is there.
    for (const expected of [/out\/staging\/ops-deploy\.create/, /backup-tools\.stdin:\/usr\/local\/lib\/supafleet\/backup\.sh/, /out\/prod\/nodes\/rmm\/prepare\.sh/, /cloud-init\.yaml: sh -c/, /monitoring-reconcile\.update/]) {
      expect(origins.some((o) => expected.test(o)), String(expected)).toBe(true);
    }
    const files = toFiles(rendered, join(work, "rendered"));
    expect(shellcheck(files.filter((f) => f.shell === "bash"), ["--external-sources", "--source-path=SCRIPTDIR"])).toBe("");
    // Boot data's one sh -c (the firewall before anything else starts) means `A && B || true` as it is written:
    // load the ruleset where nft is installed, and never fail the boot. It is left as it is, because boot data is
    // pinned on every server (ignoreChanges), and SC2015 is the one finding excused, here.
    expect(shellcheck(files.filter((f) => f.shell === "sh"), ["--exclude=SC2015"])).toBe("");
  });

  it("has a reason next to every disable, in templates/ and in what is rendered", () => {
    const texts = [...templateScripts.map((p) => ({ origin: relative(ROOT, p), text: readFileSync(p, "utf8") })), ...rendered];
    const bare: string[] = [];
    for (const { origin, text } of texts) {
      for (const line of text.split("\n")) {
        if (/#\s*shellcheck\s+disable=/.test(line) && !/disable=\S+\s+#\s*\S/.test(line)) bare.push(`${origin}: ${line.trim()}`);
      }
    }
    expect(bare).toEqual([]);
  });
});

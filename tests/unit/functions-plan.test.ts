import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { PROGRAM_ROOT } from "../../src/functions/names";
import { treeHash } from "../../src/functions/read";
import { byKey, runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/**
 * Functions in the offline plan (the real program under the mock runtime): each project's
 * ProjectFunctions and its deploy command, whose inputs carry the files' hash, so that
 * changing one function of project A changes A's functions command and nothing of B's.
 */

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// In the repository, as a stack file's folder must be; removed afterwards.
const dir = mkdtempSync(join(PROGRAM_ROOT, "tests/fixtures/functions/.plan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const folder = (name: string): string => relative(PROGRAM_ROOT, join(dir, name));
function write(path: string, content: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), content);
}

const staging = stackDoc("staging") as Doc;
const withFunctions = staging["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).filter((p: Doc) => p.services?.functions !== false);
const A = withFunctions[0].name as string;
const B = withFunctions[1].name as string;

function doc(): Doc {
  const c = clone(staging);
  for (const p of c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? [])) {
    if (p.name === A) p.functions = { path: folder("a"), verifyJwt: { webhook: false } };
    if (p.name === B) p.functions = folder("b");
  }
  return c;
}

const names = (changes: Change[]): string[] => changes.map((c) => `${c.kind} ${c.name}`).sort();
let base: Snapshot;

beforeAll(async () => {
  write("a/checkout/index.ts", "export const v = 1;\n");
  write("a/webhook/index.ts", "export const w = 1;\n");
  write("b/report/index.ts", "export const r = 1;\n");
  base = await runDoc("staging", doc());
  expect(base.error).toBeUndefined();
}, 60_000);

describe("edge functions in the plan", () => {
  it("give each project one ProjectFunctions under its SupabaseProject, whose deploy its project's deploy waits for", () => {
    const r = byKey(base);
    for (const p of withFunctions.map((x: Doc) => x.name as string)) {
      const component = r.get(`supafleet:index:ProjectFunctions::${p}-functions`)!;
      expect(component.parent).toBe(`supafleet:index:SupabaseProject::${p}`);
      const deploy = r.get(`command:remote:Command::${p}-functions-deploy`)!;
      expect(deploy.parent).toBe(component.key);
      expect(r.get(`command:remote:Command::${p}-deploy`)!.dependsOn).toContain(deploy.key);
    }
    // A project that runs no edge runtime gets none.
    for (const p of staging["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).filter((x: Doc) => x.services?.functions === false)) {
      expect(r.has(`supafleet:index:ProjectFunctions::${p.name}-functions`)).toBe(false);
    }
  });

  it("carry the files and their hash in the deploy command, and the JWT choices in the manifest beside the router", () => {
    const deploy = byKey(base).get(`command:remote:Command::${A}-functions-deploy`)!;
    const payload = JSON.parse(deploy.inputs.stdin as string) as { sha256: string; base64: Record<string, string> };
    expect(Object.keys(payload.base64).sort()).toEqual(["checkout/index.ts", "main/index.ts", "main/route.ts", "main/verify-jwt.json", "webhook/index.ts"]);
    expect(JSON.parse(Buffer.from(payload.base64["main/verify-jwt.json"]!, "base64").toString())).toEqual({ verifyJwt: { checkout: true, webhook: false } });
    expect(treeHash(new Map(Object.entries(payload.base64).map(([p, c]) => [p, Buffer.from(c, "base64")])))).toBe(payload.sha256);
    expect(deploy.inputs.create as string).toContain(`FUNCTIONS_SHA256='${payload.sha256}'`);
    // The plan shows what is deployed: each function's choice and each file's hash.
    const shown = JSON.parse(base.files.find((f) => f.path === `projects/${A}/functions.json`)!.content) as { sha256: string; verifyJwt: Record<string, boolean> };
    expect(shown).toMatchObject({ sha256: payload.sha256, verifyJwt: { checkout: true, webhook: false } });
  });

  it("change only project A's functions command when one of A's functions changes, is added or is removed", async () => {
    write("a/checkout/index.ts", "export const v = 2;\n");
    const changed = diffSnapshots(base, await runDoc("staging", doc()));
    expect(names(changed)).toEqual([`update ${A}-functions-deploy`]);
    expect(changed[0]!.paths.sort()).toEqual(["create", "stdin.base64.checkout/index.ts", "stdin.sha256"]);

    write("a/refund/index.ts", "export const r = 1;\n");
    rmSync(join(dir, "a/webhook"), { recursive: true });
    write("a/checkout/index.ts", "export const v = 1;\n");
    const reshaped = diffSnapshots(base, await runDoc("staging", withVerify(A, {})));
    expect(names(reshaped)).toEqual([`update ${A}-functions-deploy`]);
    expect(reshaped[0]!.paths).toEqual(expect.arrayContaining(["stdin.base64.refund/index.ts", "stdin.base64.webhook/index.ts", "stdin.base64.main/verify-jwt.json"]));
  }, 60_000);

  it("refuse a missing folder in the offline plan with the project's path, and register nothing", async () => {
    const c = doc();
    const index = c["supafleet:tenants"].findIndex((t: Doc) => (t.projects ?? []).some((p: Doc) => p.name === B));
    const j = c["supafleet:tenants"][index].projects.findIndex((p: Doc) => p.name === B);
    c["supafleet:tenants"][index].projects[j].functions = "functions/nowhere";
    const s = await runDoc("staging", c);
    expect(s.error).toContain("nothing was deployed");
    expect(s.error).toContain(`tenants[${index}].projects[${j}].functions: the folder functions/nowhere does not exist`);
    expect(s.resources).toEqual([]);
  });
});

/** The stack with project `name`'s verifyJwt replaced (its folder kept). */
function withVerify(name: string, verifyJwt: Record<string, boolean>): Doc {
  const c = doc();
  for (const p of c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? [])) if (p.name === name) p.functions = { path: p.functions.path, verifyJwt };
  return c;
}

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkFleetConfig } from "../../src/config/load";
import { checkFunctionFolders } from "../../src/functions/check";
import { clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";

/**
 * A project's `functions:` through the real config loading, with its folder checks as the
 * program adds them (src/main.ts): every refusal is one issue with its stack-file path, listed
 * with the file's other problems, before anything is planned or deployed.
 */

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const root = mkdtempSync(join(tmpdir(), "supafleet-functions-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const files: Record<string, string> = {
  "functions/shop/checkout/index.ts": "export {};",
  "functions/shop/stripe-webhook/index.js": "export {};",
  "functions/shop/_shared/cors.ts": "export {};",
  "functions/broken/a/index.ts": "export {};",
  "functions/broken/b/handler.ts": "export {};",
  "functions/routerless/main/index.ts": "export {};",
  "functions/empty/README.md": "nothing here",
  "outside/x/index.ts": "export {};",
};
for (const [p, c] of Object.entries(files)) {
  mkdirSync(dirname(join(root, p)), { recursive: true });
  writeFileSync(join(root, p), c);
}
const elsewhere = mkdtempSync(join(tmpdir(), "supafleet-functions-elsewhere-"));
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));
mkdirSync(join(elsewhere, "x"));
writeFileSync(join(elsewhere, "x/index.ts"), "export {};");
symlinkSync(elsewhere, join(root, "functions/escape"));

const staging = stackDoc("staging") as Doc;
/** Where a staging project that runs the functions service sits, and a second one. */
const placed = staging["supafleet:tenants"].flatMap((t: Doc, i: number) => (t.projects ?? []).map((p: Doc, j: number) => ({ p, at: `tenants[${i}].projects[${j}]`, i, j }))).filter((x: Doc) => x.p.services?.functions !== false);
const [A, B] = placed as { at: string; i: number; j: number }[];

/** The issues of staging with project A's (and optionally B's) functions set so. */
function issues(a: unknown, b?: unknown): { path: string; message: string }[] {
  const doc = clone(staging);
  doc["supafleet:tenants"][A!.i].projects[A!.j].functions = a;
  if (b !== undefined) doc["supafleet:tenants"][B!.i].projects[B!.j].functions = b;
  return checkFleetConfig(withDeclaredSecrets(validatorInput(doc, "staging")), [checkFunctionFolders(root)]).issues;
}

describe("a project's functions in the stack file", () => {
  it("accepts a folder of functions, in the short form and with verifyJwt", () => {
    expect(issues("functions/shop")).toEqual([]);
    expect(issues({ path: "functions/shop", verifyJwt: { "stripe-webhook": false } })).toEqual([]);
  });

  it("refuses a folder that does not exist", () => {
    expect(issues("functions/smarteros")).toEqual([{ path: `${A!.at}.functions`, message: expect.stringMatching(/^the folder functions\/smarteros does not exist/) }]);
  });

  it("refuses a path out of the repository, by its spelling or through a link", () => {
    for (const bad of ["../outside", "/etc", "functions/../outside", "./functions/shop"]) {
      expect(issues(bad), bad).toEqual([{ path: `${A!.at}.functions.path`, message: expect.stringMatching(/^must be a folder of this repository/) }]);
    }
    expect(issues("functions/escape")).toEqual([{ path: `${A!.at}.functions`, message: expect.stringMatching(/^functions\/escape leaves the repository/) }]);
  });

  it("refuses an empty folder, a function without an entry file, and one named main", () => {
    expect(issues("functions/empty")).toEqual([{ path: `${A!.at}.functions`, message: expect.stringMatching(/^functions\/empty holds no function/) }]);
    expect(issues("functions/broken")).toEqual([{ path: `${A!.at}.functions`, message: expect.stringMatching(/^functions\/broken\/b has no entry file; the runtime starts one of index\.ts, index\.tsx/) }]);
    expect(issues("functions/routerless")).toEqual([
      { path: `${A!.at}.functions`, message: expect.stringMatching(/^functions\/routerless\/main: "main" is the router's name/) },
      { path: `${A!.at}.functions`, message: expect.stringMatching(/^functions\/routerless holds no function/) },
    ]);
  });

  it("refuses a verifyJwt key that names no function of the folder, or that no function could have", () => {
    expect(issues({ path: "functions/shop", verifyJwt: { "stripe-hook": false, checkout: true } })).toEqual([
      { path: `${A!.at}.functions.verifyJwt.stripe-hook`, message: "names no function in functions/shop (it holds checkout, stripe-webhook)" },
    ]);
    // A name no function could have is the schema's refusal; the folder is read once the stack file parses.
    expect(issues({ path: "functions/shop", verifyJwt: { _shared: false, Checkout: false } })).toEqual([
      { path: `${A!.at}.functions.verifyJwt._shared`, message: "must name a function folder: lowercase letters, digits, _ and -" },
      { path: `${A!.at}.functions.verifyJwt.Checkout`, message: "must name a function folder: lowercase letters, digits, _ and -" },
    ]);
    expect(issues({ path: "functions/shop", verifyJwt: { checkout: "no" } })).toEqual([{ path: `${A!.at}.functions.verifyJwt.checkout`, message: 'must be a boolean, not string "no"' }]);
    expect(issues({ path: "functions/shop", verifyJwt: { checkout: false }, verify: true })).toEqual([{ path: `${A!.at}.functions.verify`, message: expect.stringMatching(/is not a known setting/) }]);
  });

  it("refuses functions on a project that does not run the functions service", () => {
    const doc = clone(staging);
    const p = doc["supafleet:tenants"][A!.i].projects[A!.j];
    p.functions = "functions/shop";
    p.services = { ...(p.services ?? {}), functions: false };
    const found = checkFleetConfig(withDeclaredSecrets(validatorInput(doc, "staging")), [checkFunctionFolders(root)]).issues;
    expect(found).toEqual([{ path: `${A!.at}.functions`, message: expect.stringMatching(/does not run the functions service/) }]);
  });

  it("lists every project's problems at once, with the stack file's other problems", () => {
    const doc = clone(staging);
    doc["supafleet:tenants"][A!.i].projects[A!.j].functions = "functions/nowhere";
    doc["supafleet:tenants"][B!.i].projects[B!.j].functions = "functions/empty";
    doc["supafleet:domain"] = "Not A Domain";
    const found = checkFleetConfig(withDeclaredSecrets(validatorInput(doc, "staging")), [checkFunctionFolders(root)]).issues.map((i) => i.path);
    expect(found).toEqual(expect.arrayContaining(["domain", `${A!.at}.functions`, `${B!.at}.functions`]));
  });
});

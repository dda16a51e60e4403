import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { bundlePayload, functionsBundle } from "../../src/functions/bundle";
import { MAX_BYTES, PROGRAM_ROOT } from "../../src/functions/names";
import { readFunctionsFolder, treeHash } from "../../src/functions/read";

/** Reading a project's functions folder: what it sends, its hash, and every refusal. */

const work = mkdtempSync(join(tmpdir(), "supafleet-functions-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

/** A fresh repository root holding `files` (path → content); returns the root. */
function repo(files: Record<string, string | Buffer>): string {
  const root = join(work, `repo-${n++}`);
  mkdirSync(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const problems = (root: string, folder = "fns"): readonly string[] => readFunctionsFolder(root, folder).problems;

describe("reading a functions folder", () => {
  it("reads the sample: its functions, their shared code, and no hidden file", () => {
    const read = readFunctionsFolder(PROGRAM_ROOT, "tests/fixtures/functions/example");
    expect(read.problems).toEqual([]);
    expect(read.folder!.functions).toEqual(["hello-world", "stripe-webhook"]);
    expect([...read.folder!.files.keys()].sort()).toEqual(["README.md", "_shared/cors.js", "hello-world/index.js", "stripe-webhook/index.mjs"]);
  });

  it("leaves out hidden files and folders (.env, .DS_Store, .vscode)", () => {
    const root = repo({ "fns/a/index.ts": "a", "fns/a/.env": "SECRET=1", "fns/.vscode/settings.json": "{}", "fns/.DS_Store": "x" });
    expect([...readFunctionsFolder(root, "fns").folder!.files.keys()]).toEqual(["a/index.ts"]);
  });

  it("stops reading at the size limit, so a link to the repository's root is not walked whole", () => {
    // Read in name order: past x.bin, the badly named file would be a second problem if it were reached.
    const root = repo({ "fns/a/index.ts": "a", "big/x.bin": Buffer.alloc(MAX_BYTES + 1), "big/z/bad name.ts": "z" });
    symlinkSync(join(root, "big"), join(root, "fns/a/all"));
    expect(problems(root)).toEqual([expect.stringMatching(/^fns holds more than the 2\.0 MiB of files a deploy sends \(largest: a\/all\/x\.bin 2\.0 MiB\)/)]);
  });

  it("follows a link that stays in the repository", () => {
    const root = repo({ "lib/util.ts": "export const x = 1;", "fns/a/index.ts": "a" });
    symlinkSync(join(root, "lib/util.ts"), join(root, "fns/a/util.ts"));
    expect(readFunctionsFolder(root, "fns").folder!.files.get("a/util.ts")!.toString()).toBe("export const x = 1;");
  });
});

describe("a folder is refused, with the folder or file named", () => {
  it("when it does not exist", () => {
    expect(problems(repo({}), "functions/smarteros")).toEqual(["the folder functions/smarteros does not exist (paths are relative to the folder holding Pulumi.yaml)"]);
  });

  it("when it is a link out of the repository", () => {
    const outside = repo({ "a/index.ts": "a" });
    const root = repo({});
    symlinkSync(outside, join(root, "fns"));
    expect(problems(root)[0]).toMatch(/^fns leaves the repository \(it resolves to .*\); functions must live in it$/);
  });

  it("when a file or folder in it links out of the repository", () => {
    const outside = repo({ "secret.txt": "s", "dir/index.ts": "x" });
    const root = repo({ "fns/a/index.ts": "a" });
    symlinkSync(join(outside, "secret.txt"), join(root, "fns/a/secret.txt"));
    symlinkSync(join(outside, "dir"), join(root, "fns/b"));
    const p = problems(root);
    expect(p).toContainEqual(expect.stringMatching(/^fns\/a\/secret\.txt links outside the repository/));
    expect(p).toContainEqual(expect.stringMatching(/^fns\/b links outside the repository/));
  });

  it("when it holds no function", () => {
    const root = repo({ "fns/README.md": "nothing", "fns/_shared/x.ts": "x" });
    expect(problems(root)).toEqual(["fns holds no function: each function is a subfolder with an index.ts (folders starting with _ are shared code)"]);
    mkdirSync(join(root, "empty"));
    expect(problems(root, "empty")).toHaveLength(1);
  });

  it("when a function has no entry file edge-runtime starts", () => {
    const root = repo({ "fns/a/index.ts": "a", "fns/b/main.ts": "b", "fns/c/index.mjs": "c", "fns/d/index.tsx": "d", "fns/e/src/index.ts": "e" });
    expect(problems(root)).toEqual([
      "fns/b has no entry file; the runtime starts one of index.ts, index.tsx, index.js, index.mjs, index.jsx",
      "fns/e has no entry file; the runtime starts one of index.ts, index.tsx, index.js, index.mjs, index.jsx",
    ]);
  });

  it("when a function is named main, the router's name", () => {
    expect(problems(repo({ "fns/main/index.ts": "m", "fns/a/index.ts": "a" }))).toEqual([
      'fns/main: "main" is the router\'s name (templates/supabase/functions/main); rename this function',
    ]);
  });

  it("when a function's name is one the router refuses", () => {
    const p = problems(repo({ "fns/Hello/index.ts": "h", "fns/-x/index.ts": "x", "fns/ok_1/index.ts": "o" }));
    expect(p).toEqual([expect.stringMatching(/^fns\/-x: a function name the router refuses/), expect.stringMatching(/^fns\/Hello: a function name the router refuses/)]);
  });

  it("when a file name would reach the worker's shell with a space or quote in it", () => {
    expect(problems(repo({ "fns/a/index.ts": "a", "fns/a/my file.ts": "x" }))).toEqual([expect.stringMatching(/^fns\/a\/my file\.ts: a name the deploy does not take/)]);
  });

  it(`when it weighs more than ${MAX_BYTES / 1024 / 1024} MiB, naming the largest files`, () => {
    const root = repo({ "fns/a/index.ts": "a", "fns/a/big.wasm": Buffer.alloc(MAX_BYTES) });
    expect(problems(root)).toEqual([expect.stringMatching(/^fns holds more than the 2\.0 MiB of files a deploy sends \(largest: a\/big\.wasm 2\.0 MiB, a\/index\.ts 0\.0 MiB\); leave out node_modules/)]);
    expect(problems(repo({ "fns/a/index.ts": "a", "fns/a/ok.wasm": Buffer.alloc(MAX_BYTES - 1) }))).toEqual([]);
  });
});

describe("the tree hash", () => {
  const name = fc.stringMatching(/^[a-z0-9_-]{1,6}$/);
  const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
  // Paths where none is a folder of another, as files on disk are.
  const tree = fc.uniqueArray(fc.tuple(path, fc.uint8Array({ maxLength: 40 })), { minLength: 1, maxLength: 6, selector: ([p]) => p.split("/")[0]! }).map((entries) => new Map(entries.map(([p, c]) => [p, Buffer.from(c)])));

  it("is the hash functions-deploy.sh computes on the worker, for the files it wrote", () => {
    fc.assert(
      fc.property(tree, (files) => {
        const dir = mkdtempSync(join(work, "tree-"));
        for (const [p, c] of files) {
          mkdirSync(dirname(join(dir, p)), { recursive: true });
          writeFileSync(join(dir, p), c);
        }
        const sh = spawnSync("bash", ["-c", "cd \"$1\" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1", "_", dir], { encoding: "utf8" });
        expect(sh.stdout.trim()).toBe(treeHash(files));
      }),
      { numRuns: 15 },
    );
  });

  it("changes when, and only when, a file's content or name changes", () => {
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        const same = a.size === b.size && [...a].every(([p, c]) => b.has(p) && b.get(p)!.equals(c));
        expect(treeHash(a) === treeHash(b)).toBe(same);
        // The order files were found in does not count.
        expect(treeHash(new Map([...a].reverse()))).toBe(treeHash(a));
      }),
    );
  });

  it("changes when one byte of one file does, or a file is renamed", () => {
    fc.assert(
      fc.property(tree, fc.nat(), (files, i) => {
        const [p, c] = [...files][i % files.size]!;
        const flipped = Buffer.from(c.length > 0 ? c : Buffer.from([0]));
        flipped[0] = (flipped[0]! + 1) % 256;
        expect(treeHash(new Map([...files, [p, flipped]]))).not.toBe(treeHash(files));
        const renamed = new Map([...files].map(([q, d]) => [q === p ? `${q}x` : q, d] as const));
        fc.pre(!files.has(`${p}x`));
        expect(treeHash(renamed)).not.toBe(treeHash(files));
      }),
    );
  });
});

describe("the deploy's bundle", () => {
  it("holds the router, its manifest (verify_jwt on unless set false) and the folder's files; the payload's hash is the files'", () => {
    const b = functionsBundle(PROGRAM_ROOT, { path: "tests/fixtures/functions/example", verifyJwt: { "stripe-webhook": false } });
    expect(b.verifyJwt).toEqual({ "hello-world": true, "stripe-webhook": false });
    expect([...b.files.keys()].sort()).toEqual(["README.md", "_shared/cors.js", "hello-world/index.js", "main/index.ts", "main/route.ts", "main/verify-jwt.json", "stripe-webhook/index.mjs"]);
    expect(JSON.parse(b.files.get("main/verify-jwt.json")!.toString())).toEqual({ verifyJwt: { "hello-world": true, "stripe-webhook": false } });
    const payload = JSON.parse(bundlePayload(b)) as { sha256: string; base64: Record<string, string> };
    expect(payload.sha256).toBe(b.sha256);
    expect(treeHash(new Map(Object.entries(payload.base64).map(([p, c]) => [p, Buffer.from(c, "base64")])))).toBe(b.sha256);
  });

  it("is supafleet's hello, checked, for a project without a folder", () => {
    const b = functionsBundle(PROGRAM_ROOT, undefined);
    expect(b.verifyJwt).toEqual({ hello: true });
    expect([...b.files.keys()].sort()).toEqual(["hello/index.ts", "main/index.ts", "main/route.ts", "main/verify-jwt.json"]);
  });
});

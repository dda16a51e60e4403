import { createHash } from "node:crypto";
import { template } from "../render/templates";
import type { FunctionsConfig } from "../config/functions";
import { ROUTER, VERIFY_JWT_MANIFEST } from "./names";
import { readFunctionsFolder, treeHash } from "./read";

/** The router's files, from templates/supabase/functions/main. */
const ROUTER_FILES = ["index.ts", "route.ts"] as const;
/** What a project without a functions folder runs: supafleet's `hello`, which the e2e probe calls. */
export const DEFAULT_FUNCTIONS = ["hello"] as const;

/** Everything a project's functions volume holds: the router, its manifest, and the functions. */
export interface FunctionsBundle {
  /** By path inside the volume (`main/index.ts`, `hello/index.ts`). */
  readonly files: ReadonlyMap<string, Buffer>;
  /** Each function and whether its callers must bring a valid JWT. */
  readonly verifyJwt: Readonly<Record<string, boolean>>;
  /** treeHash of files: the deploy's trigger, and what the worker checks it wrote. */
  readonly sha256: string;
}

/**
 * A project's functions as deployed: its folder's (relative to `root`, which holds Pulumi.yaml),
 * or supafleet's default `hello` when it has none. Throws on a folder the config checks refuse,
 * which they did before anything was built.
 */
export function functionsBundle(root: string, config: FunctionsConfig | undefined): FunctionsBundle {
  const own = new Map<string, Buffer>();
  let functions: readonly string[] = DEFAULT_FUNCTIONS;
  if (config !== undefined) {
    const read = readFunctionsFolder(root, config.path);
    if (read.folder === undefined) throw new Error(`functions folder ${config.path}: ${read.problems.join("; ")}`);
    for (const [path, content] of read.folder.files) own.set(path, content);
    functions = read.folder.functions;
  } else {
    for (const f of DEFAULT_FUNCTIONS) own.set(`${f}/index.ts`, Buffer.from(template(`supabase/functions/${f}/index.ts`)));
  }
  // On unless the stack file says false, as the Supabase CLI's verify_jwt.
  const verifyJwt = Object.fromEntries(functions.map((f) => [f, config?.verifyJwt[f] ?? true]));
  const files = new Map<string, Buffer>([
    ...ROUTER_FILES.map((f) => [`${ROUTER}/${f}`, Buffer.from(template(`supabase/functions/${ROUTER}/${f}`))] as const),
    [VERIFY_JWT_MANIFEST, Buffer.from(`${JSON.stringify({ verifyJwt }, null, 2)}\n`)],
    ...own,
  ]);
  return { files, verifyJwt, sha256: treeHash(files) };
}

/** The deploy's stdin: the files base64-encoded (a function may ship wasm or images), with their hash. */
export function bundlePayload(b: FunctionsBundle): string {
  const base64 = Object.fromEntries([...b.files.keys()].sort().map((p) => [p, b.files.get(p)!.toString("base64")]));
  return JSON.stringify({ sha256: b.sha256, base64 });
}

/** What the offline plan shows of it: each function's JWT choice and each file's hash, not the code. */
export function bundleSummary(b: FunctionsBundle): string {
  const files = Object.fromEntries([...b.files.keys()].sort().map((p) => [p, createHash("sha256").update(b.files.get(p)!).digest("hex")]));
  return `${JSON.stringify({ sha256: b.sha256, verifyJwt: b.verifyJwt, files }, null, 2)}\n`;
}

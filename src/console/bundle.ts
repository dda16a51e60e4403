import { buildSync } from "esbuild";
import { join } from "node:path";

const ENTRY = join(__dirname, "../../templates/console/main.ts");
// One bundle per process: every run of the program (and every test) reads the same files.
const cache = globalThis as { __supafleetConsoleBundle?: string };

/**
 * The console as one ES module with its npm dependencies inside, so the master
 * runs it on Node's own image with no install step and no registry. esbuild's
 * output depends only on the files, so an unchanged console is an unchanged input.
 */
export function consoleBundle(): string {
  if (cache.__supafleetConsoleBundle !== undefined) return cache.__supafleetConsoleBundle;
  const result = buildSync({
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    write: false,
    legalComments: "none",
    logLevel: "silent",
    // Bundled CommonJS modules may still call require() for Node's own modules.
    banner: { js: 'import { createRequire as __supafleetRequire } from "node:module"; const require = __supafleetRequire(import.meta.url);' },
  });
  const text = result.outputFiles[0]!.text;
  cache.__supafleetConsoleBundle = text;
  return text;
}

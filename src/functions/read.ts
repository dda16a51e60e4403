import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { ENTRY_FILES, FILE_NAME, FUNCTION_NAME, isHidden, isShared, MAX_BYTES, ROUTER } from "./names";

/** A project's functions folder as the deploy sends it. */
export interface FunctionsFolder {
  /** Every file, by its path inside the folder (`hello/index.ts`); hidden ones left out. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** Its functions: the subfolders the router routes, sorted. */
  readonly functions: readonly string[];
}

export type FolderRead = { readonly folder: FunctionsFolder; readonly problems: readonly [] } | { readonly folder?: undefined; readonly problems: readonly string[] };

const inside = (root: string, path: string): boolean => {
  const r = relative(root, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
};

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Reads `folder` (relative to `root`, the directory holding Pulumi.yaml) and says
 * everything wrong with it at once: every message names the folder or the file.
 */
export function readFunctionsFolder(root: string, folder: string): FolderRead {
  const realRoot = realpathSync(root);
  const start = resolve(root, folder);
  if (!existsSync(start)) return { problems: [`the folder ${folder} does not exist (paths are relative to the folder holding Pulumi.yaml)`] };
  const real = realpathSync(start);
  if (!inside(realRoot, real)) return { problems: [`${folder} leaves the repository (it resolves to ${real}); functions must live in it`] };
  if (!statSync(real).isDirectory()) return { problems: [`${folder} is a file, not a folder of functions`] };

  const problems: string[] = [];
  const files = new Map<string, Buffer>();
  let bytes = 0;
  const sizes: { path: string; size: number }[] = [];
  const seen = new Set<string>([real]);
  const topNames: string[] = [];
  const topFolders: string[] = [];

  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      // Past the limit nothing more is read: a link to a big folder (the repository's root) is not walked whole.
      if (bytes > MAX_BYTES) return;
      if (isHidden(name)) continue;
      const path = rel === "" ? name : `${rel}/${name}`;
      const shown = `${folder}/${path}`;
      if (!FILE_NAME.test(name)) {
        problems.push(`${shown}: a name the deploy does not take; use letters, digits and . _ @ + - only`);
        continue;
      }
      let target = join(dir, name);
      if (lstatSync(target).isSymbolicLink()) {
        if (!existsSync(target)) {
          problems.push(`${shown} is a link to nothing`);
          continue;
        }
        target = realpathSync(target);
        if (!inside(realRoot, target)) {
          problems.push(`${shown} links outside the repository (to ${target})`);
          continue;
        }
      }
      const st = statSync(target);
      if (rel === "") topNames.push(name);
      if (rel === "" && st.isDirectory()) topFolders.push(name);
      if (st.isDirectory()) {
        if (seen.has(target)) {
          problems.push(`${shown} links back to a folder already read`);
          continue;
        }
        seen.add(target);
        walk(target, path);
      } else if (st.isFile()) {
        bytes += st.size;
        sizes.push({ path, size: st.size });
        if (bytes <= MAX_BYTES) files.set(path, readFileSync(target));
      }
    }
  };
  walk(real, "");

  if (bytes > MAX_BYTES) {
    // What was not read cannot be judged: the rest is checked once the folder is small enough.
    const largest = sizes.sort((a, b) => b.size - a.size).slice(0, 3).map((s) => `${s.path} ${mib(s.size)}`).join(", ");
    return { problems: [...problems, `${folder} holds more than the ${mib(MAX_BYTES)} of files a deploy sends (largest: ${largest}); leave out node_modules and build output: the runtime fetches npm: and jsr: imports itself`] };
  }
  const present = new Set(sizes.map((s) => s.path));
  const functions = topFolders.filter((n) => !isShared(n) && n !== ROUTER);
  if (topNames.includes(ROUTER)) problems.push(`${folder}/${ROUTER}: "${ROUTER}" is the router's name (templates/supabase/functions/main); rename this function`);
  for (const f of functions) {
    if (!FUNCTION_NAME.test(f)) {
      problems.push(`${folder}/${f}: a function name the router refuses; use lowercase letters, digits, _ and -, starting with a letter or digit (or start it with _ for shared code)`);
    } else if (!ENTRY_FILES.some((e) => present.has(`${f}/${e}`))) {
      problems.push(`${folder}/${f} has no entry file; the runtime starts one of ${ENTRY_FILES.join(", ")}`);
    }
  }
  if (functions.length === 0) problems.push(`${folder} holds no function: each function is a subfolder with an ${ENTRY_FILES[0]} (folders starting with _ are shared code)`);
  return problems.length > 0 ? { problems } : { folder: { files, functions }, problems: [] };
}

/**
 * The hash of a tree of files: SHA-256 over one `<sha256 of the content>  ./<path>` line per
 * file, sorted by path. The worker computes the same with
 * `find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum`.
 */
export function treeHash(files: ReadonlyMap<string, Buffer | string>): string {
  const lines = [...files.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => `${createHash("sha256").update(files.get(path)!).digest("hex")}  ./${path}\n`);
  return createHash("sha256").update(lines.join("")).digest("hex");
}

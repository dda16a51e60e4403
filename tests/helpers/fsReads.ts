import childProcess from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One synchronous look at the file system and a digest of what it answered. */
interface Look {
  readonly kind: LookKind;
  readonly path: string;
  readonly answer: string;
}

/** What a piece of code saw on disk while it ran; `unsure` when it reached past what is recorded. */
export interface FsReads {
  readonly looks: Look[];
  unsure: boolean;
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const stat = (s: fs.Stats): string => `${s.isFile() ? "f" : s.isDirectory() ? "d" : s.isSymbolicLink() ? "l" : "o"}:${s.size}:${s.mode}:${s.mtimeMs}`;

/** How each recorded call is answered again, with the real functions, as a digest. */
const real = {
  readFileSync: fs.readFileSync,
  readdirSync: fs.readdirSync,
  statSync: fs.statSync,
  lstatSync: fs.lstatSync,
  existsSync: fs.existsSync,
  realpathSync: fs.realpathSync,
  accessSync: fs.accessSync,
};
type LookKind = keyof typeof real;
const answer: Record<LookKind, (path: string) => string> = {
  readFileSync: (p) => sha(real.readFileSync(p)),
  readdirSync: (p) => real.readdirSync(p, { withFileTypes: true }).map((d) => `${d.name}:${d.isFile() ? "f" : d.isDirectory() ? "d" : d.isSymbolicLink() ? "l" : "o"}`).join("\0"),
  statSync: (p) => stat(real.statSync(p)),
  lstatSync: (p) => stat(real.lstatSync(p)),
  existsSync: (p) => String(real.existsSync(p)),
  realpathSync: (p) => real.realpathSync(p),
  accessSync: (p) => (real.accessSync(p), "ok"),
};

// Above zero while a wrapped call (or a digest) runs: the calls fs makes inside its own are not the program's.
let depth = 0;

function answerNow(kind: LookKind, path: string): string {
  depth++;
  try {
    return answer[kind](path);
  } catch (e) {
    return `error:${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  } finally {
    depth--;
  }
}

// Calls whose inputs a record cannot replay: asynchronous reads, descriptors, other processes.
const FS_UNSURE = ["readFile", "readdir", "stat", "lstat", "access", "open", "openSync", "opendir", "opendirSync", "createReadStream", "watch", "watchFile"] as const;
const CHILD_UNSURE = ["exec", "execFile", "execSync", "execFileSync", "spawn", "spawnSync", "fork"] as const;

const active = new Set<FsReads>();
let restore: (() => void) | undefined;

function patch(): () => void {
  const undo: (() => void)[] = [];
  const swap = (target: Record<string, unknown>, name: string, make: (orig: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown): void => {
    const orig = target[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof orig !== "function") return;
    target[name] = make(orig);
    undo.push(() => (target[name] = orig));
  };
  const fsObject = fs as unknown as Record<string, unknown>;
  for (const kind of Object.keys(real) as LookKind[]) {
    swap(fsObject, kind, (orig) =>
      function (this: unknown, ...args: unknown[]) {
        if (depth > 0) return orig.apply(this, args);
        const p = args[0];
        const path = typeof p === "string" ? resolve(p) : p instanceof URL ? fileURLToPath(p) : Buffer.isBuffer(p) ? resolve(p.toString()) : undefined;
        for (const r of active) {
          if (path === undefined) r.unsure = true;
          else r.looks.push({ kind, path, answer: answerNow(kind, path) });
        }
        depth++;
        try {
          return orig.apply(this, args);
        } finally {
          depth--;
        }
      },
    );
  }
  const unsure = (orig: (...a: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      if (depth === 0) for (const r of active) r.unsure = true;
      return orig.apply(this, args);
    };
  for (const name of FS_UNSURE) swap(fsObject, name, unsure);
  for (const name of ["readFile", "readdir", "stat", "lstat", "access", "open", "opendir"]) swap(fs.promises as unknown as Record<string, unknown>, name, unsure);
  for (const name of CHILD_UNSURE) swap(childProcess as unknown as Record<string, unknown>, name, unsure);
  // Modules that import these by name (`import { readFileSync } from "node:fs"`) see the swap too.
  syncBuiltinESMExports();
  return () => {
    for (const u of undo.reverse()) u();
    syncBuiltinESMExports();
  };
}

/**
 * Runs `fn` and records every synchronous look it takes at the file system
 * (reads, listings, stats, existence, real paths), each with a digest of the
 * answer. Anything it cannot replay (an asynchronous read, a child process)
 * marks the record unsure.
 */
export async function recordingFsReads<T>(fn: () => Promise<T>): Promise<{ value: T; reads: FsReads }> {
  const reads: FsReads = { looks: [], unsure: false };
  if (active.size === 0) restore = patch();
  active.add(reads);
  try {
    return { value: await fn(), reads };
  } finally {
    active.delete(reads);
    if (active.size === 0) {
      restore?.();
      restore = undefined;
    }
  }
}

/** Whether every recorded look would answer the same now. */
export function sameReadsNow(reads: FsReads): boolean {
  if (reads.unsure) return false;
  const checked = new Map<string, string>();
  for (const { kind, path, answer: was } of reads.looks) {
    const key = `${kind}\0${path}`;
    const now = checked.get(key) ?? answerNow(kind, path);
    checked.set(key, now);
    if (now !== was) return false;
  }
  return true;
}

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { renderOutIndex } from "./outIndex";
import type { Snapshot } from "./run";
import { redactInputs } from "./secretEnvelope";
import { renderCounts, renderTree } from "./tree";

/**
 * Resources by parent, then type and name: the mock runtime registers them as their inputs resolve,
 * and that order varies between runs, so a file in registration order would differ with nothing changed.
 */
export function stableOrder<T extends { readonly type: string; readonly name: string; readonly parent?: string }>(resources: readonly T[]): T[] {
  const key = (r: T): string => `${r.parent ?? ""}\u0000${r.type}::${r.name}`;
  return [...resources].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Where one environment's render went, and how many files it holds. */
export interface Written {
  readonly dir: string;
  readonly files: number;
}

/**
 * Writes one environment's render to `<outDir>/<stack>/`: every file a server
 * would receive, the resource tree, counts, inputs and outputs, with secrets
 * already redacted, and INDEX.md saying what each file is. The directory is
 * replaced, so nothing stale survives.
 */
export function writeSnapshot(snapshot: Snapshot, outDir: string): Written {
  const root = join(outDir, snapshot.stack);
  const files = new Map<string, string>(snapshot.files.map((f) => [f.path, f.content]));
  files.set("tree.txt", renderTree(snapshot.resources));
  files.set("counts.txt", renderCounts(snapshot.resources));
  files.set(
    "resources.json",
    JSON.stringify(
      stableOrder(snapshot.resources).map((r) => ({ type: r.type, name: r.name, parent: r.parent ?? null, inputs: redactInputs(r.inputs, "marker") })),
      null,
      2,
    ) + "\n",
  );
  files.set("outputs.json", JSON.stringify(snapshot.outputs, null, 2) + "\n");
  files.set("INDEX.md", renderOutIndex(snapshot.stack, [...files.keys(), "INDEX.md"]));

  rmSync(root, { recursive: true, force: true });
  for (const [rel, content] of files) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return { dir: root, files: files.size };
}

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Snapshot } from "./run";
import { redactInputs } from "./secretEnvelope";
import { renderCounts, renderTree } from "./tree";

/**
 * Writes one environment's render to `<outDir>/<stack>/`: every file a server
 * would receive, the resource tree, counts, inputs and outputs, with secrets
 * already redacted. The directory is replaced, so nothing stale survives.
 */
export function writeSnapshot(snapshot: Snapshot, outDir: string): string {
  const root = join(outDir, snapshot.stack);
  rmSync(root, { recursive: true, force: true });
  const put = (rel: string, content: string): void => {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  };
  for (const f of snapshot.files) put(f.path, f.content);
  put("tree.txt", renderTree(snapshot.resources));
  put("counts.txt", renderCounts(snapshot.resources));
  put(
    "resources.json",
    JSON.stringify(
      snapshot.resources.map((r) => ({ type: r.type, name: r.name, parent: r.parent ?? null, inputs: redactInputs(r.inputs, "marker") })),
      null,
      2,
    ) + "\n",
  );
  put("outputs.json", JSON.stringify(snapshot.outputs, null, 2) + "\n");
  return root;
}

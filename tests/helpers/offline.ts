import { runOffline, type Snapshot } from "../../src/offline/run";
import { engineConfig } from "./stacks";

/** Runs the real program under the mock runtime on a stack-file config block. */
export function runDoc(stack: string, config: Record<string, unknown>): Promise<Snapshot> {
  return runOffline(stack, engineConfig(config));
}

export function byKey(s: Snapshot): Map<string, Snapshot["resources"][number]> {
  return new Map(s.resources.map((r) => [r.key, r]));
}

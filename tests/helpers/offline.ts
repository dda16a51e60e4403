import { runOffline, type Snapshot } from "../../src/offline/run";
import { engineConfig } from "./stacks";

/**
 * The plans already made in this worker, by stack and config. The unit files share their
 * workers (isolate: false), and a dozen of them start from prod's or staging's own plan: each
 * is made once per worker. The program is deterministic, and a snapshot is only read.
 */
const made = new Map<string, Promise<Snapshot>>();

/** Runs the real program under the mock runtime on a stack-file config block. */
export function runDoc(stack: string, config: Record<string, unknown>): Promise<Snapshot> {
  const key = `${stack}\0${JSON.stringify(config)}`;
  let run = made.get(key);
  if (run === undefined) {
    run = runOffline(stack, engineConfig(config));
    made.set(key, run);
  }
  return run;
}

export function byKey(s: Snapshot): Map<string, Snapshot["resources"][number]> {
  return new Map(s.resources.map((r) => [r.key, r]));
}

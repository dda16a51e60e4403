import { runOffline, type Snapshot } from "../../src/offline/run";
import type { EngineConfig } from "../../src/offline/stackFile";
import { recordingFsReads, sameReadsNow, type FsReads } from "./fsReads";
import { engineConfig } from "./stacks";

/**
 * The plans already made in this worker. The unit files share their workers
 * (isolate: false), and a dozen of them start from prod's or staging's own plan.
 * The program is deterministic in its config and what it reads from disk (a
 * functions folder, another stack's file): a plan is reused only for the same
 * stack, working directory and config, and only while every file, folder and
 * stat it read answers as it did (tests/helpers/fsReads.ts); a test that changes
 * a functions folder between two plans gets a new one.
 */
const made = new Map<string, { reads: FsReads; snapshot: Snapshot }[]>();

/** Freezes a snapshot all the way down: a test that changed a shared plan would fail, not mislead the next. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** runOffline, made once per worker for each stack, config and what it read; the snapshot is frozen. */
export async function plan(stack: string, config: EngineConfig): Promise<Snapshot> {
  const key = JSON.stringify([stack, process.cwd(), config]);
  const earlier = made.get(key) ?? [];
  const same = earlier.find((e) => sameReadsNow(e.reads));
  if (same !== undefined) return same.snapshot;
  const { value, reads } = await recordingFsReads(() => runOffline(stack, config));
  const snapshot = deepFreeze(value);
  if (!reads.unsure) made.set(key, [...earlier, { reads, snapshot }]);
  return snapshot;
}

/** Runs the real program under the mock runtime on a stack-file config block. */
export function runDoc(stack: string, config: Record<string, unknown>): Promise<Snapshot> {
  return plan(stack, engineConfig(config));
}

export function byKey(s: Snapshot): Map<string, Snapshot["resources"][number]> {
  return new Map(s.resources.map((r) => [r.key, r]));
}

import * as pulumi from "@pulumi/pulumi";

let fixed: string | undefined;

/** The offline plan fixes the stamp while it runs (undefined lets go), so that two renders of the same stack are byte for byte equal. */
export function fixRunStamp(stamp: string | undefined): void {
  fixed = stamp;
}

/**
 * A reconcile that must put back hand edits runs on every `pulumi up`, not
 * only when its desired state changes: its update script carries this run's
 * stamp (after the shebang, which stays the first line). A preview therefore
 * always lists it as an update; that is the drift check.
 */
export function everyUp(script: string): { create: string; update: string } {
  const stamp = fixed ?? (pulumi.runtime.isDryRun() ? "preview" : new Date().toISOString());
  const line = `# supafleet: re-applied on every pulumi up (${stamp})\n`;
  const shebang = /^#![^\n]*\n/.exec(script)?.[0] ?? "";
  return { create: script, update: `${shebang}${line}${script.slice(shebang.length)}` };
}

import { spawn } from "node:child_process";
import { renderScript } from "../../render/script";
import type { Outcome } from "../result";

/** The worker, reached through the master as jump host: both by mesh address. */
export interface Hops {
  jump: string;
  host: string;
}

export interface RemoteResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RemoteRunner = (hops: Hops, command: string) => Promise<RemoteResult>;

export const SCRATCH_DB = "supafleet_probe";

/** A fresh backup, then the drill restoring it into a scratch database (docs/backups.md). */
export function backupCommand(project: string): string {
  return renderScript("worker/backup-probe.sh", { PROJECT: project, SCRATCH_DB });
}

/** ssh as the runner has it: the key given, never a prompt, the mesh hosts learnt on first use. */
export function sshRunner(keyFile: string, ssh = "ssh"): RemoteRunner {
  return (hops, command) =>
    new Promise((resolve, reject) => {
      const args = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-i", keyFile, "-J", `root@${hops.jump}`, `root@${hops.host}`, command];
      const child = spawn(ssh, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
}

const lastLine = (s: string): string =>
  s
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1) ?? "";

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * drill.sh reports through backup-lib's say (stderr): on success its last line
 * is restore.sh's summary with the RPO put in, e.g.
 * `drill(p): restored snapshot ab12 (taken …) into supafleet_probe: 9 tables match the recorded figures; RPO 0 min, RTO 12s`.
 */
export function drillVerdict(project: string, r: RemoteResult): Outcome {
  const line = lastLine(r.stderr) || lastLine(r.stdout);
  const success = new RegExp(`^drill\\(${escapeRe(project)}\\): restored .*; RPO -?\\d+ min, RTO \\d+ ?s$`);
  if (r.code !== 0) return { ok: false, detail: `exit ${r.code}: ${line || "no output"}` };
  if (!success.test(line)) return { ok: false, detail: `exit 0 but the last line is not the drill's success line: ${line || "no output"}` };
  return { ok: true, detail: line };
}

export async function checkBackup(project: string, hops: Hops, run: RemoteRunner): Promise<Outcome> {
  return drillVerdict(project, await run(hops, backupCommand(project)));
}

import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { renderScript } from "../render/script";

/** Which commit of supafleet a `pulumi up` ran from: recorded in the stack outputs and on every host. */
export interface InfraRelease {
  readonly commit: string;
  /** `git describe --tags --always`: the infra release tag when the commit has one. */
  readonly describe: string;
  /** Uncommitted changes in the working tree at the time of the run. */
  readonly dirty: boolean;
}

let fixed: InfraRelease | undefined;

/** The offline plan fixes it while it runs (undefined lets go), so that renders of two commits differ only where the fleet does. */
export function fixInfraRelease(release: InfraRelease | undefined): void {
  fixed = release;
}

const REPO = resolve(__dirname, "..");

/**
 * From CI's own variables when it sets them (a shallow checkout may lack tags),
 * else from git in this checkout. A run outside any checkout records "unknown"
 * rather than fail: the fleet is still what the stack file says.
 */
export function infraRelease(env: NodeJS.ProcessEnv = process.env): InfraRelease {
  if (fixed !== undefined) return fixed;
  const git = (...args: string[]): string | undefined => {
    try {
      return execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  };
  const commit = env.SUPAFLEET_RELEASE_COMMIT ?? git("rev-parse", "HEAD") ?? "unknown";
  if (!/^([0-9a-f]{40}|unknown)$/.test(commit)) throw new Error(`SUPAFLEET_RELEASE_COMMIT must be a full 40-character commit id, not "${commit}"`);
  const describe = env.SUPAFLEET_RELEASE_DESCRIBE ?? git("describe", "--tags", "--always") ?? commit.slice(0, 12);
  const dirty = env.SUPAFLEET_RELEASE_COMMIT !== undefined ? false : (git("status", "--porcelain", "--untracked-files=no") ?? "") !== "";
  return { commit, describe, dirty };
}

/** What each host keeps in /etc/supafleet/release. */
export function releaseFile(r: InfraRelease, stack: string): string {
  return `${JSON.stringify({ commit: r.commit, describe: r.describe, dirty: r.dirty, stack }, null, 2)}\n`;
}

/** Writes the release file; re-run whenever its content (the commit) changes. */
export const WRITE_RELEASE_FILE = renderScript("host/release-file.sh");

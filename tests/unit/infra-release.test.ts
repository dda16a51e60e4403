import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { infraRelease, releaseFile } from "../../src/resources/infraRelease";

describe("the infra release a pulumi up records", () => {
  it("is this checkout's commit, with git describe and whether the tree has uncommitted changes", () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim() !== "";
    expect(infraRelease({})).toEqual({ commit: head, describe: execFileSync("git", ["describe", "--tags", "--always"], { encoding: "utf8" }).trim(), dirty });
  });

  it("takes CI's commit and tag when it gives them, and refuses a commit id that is not one", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(infraRelease({ SUPAFLEET_RELEASE_COMMIT: sha, SUPAFLEET_RELEASE_DESCRIBE: "infra-2026.12.1" })).toEqual({ commit: sha, describe: "infra-2026.12.1", dirty: false });
    expect(() => infraRelease({ SUPAFLEET_RELEASE_COMMIT: "main" })).toThrow('SUPAFLEET_RELEASE_COMMIT must be a full 40-character commit id, not "main"');
  });

  it("is written to each host as JSON naming the stack", () => {
    const file = releaseFile({ commit: "a".repeat(40), describe: "v1", dirty: true }, "prod");
    expect(JSON.parse(file)).toEqual({ commit: "a".repeat(40), describe: "v1", dirty: true, stack: "prod" });
  });
});

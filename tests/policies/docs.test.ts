import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allPolicies } from "../../policies/rules";

/** docs/policies.md is what reviewers read: its table must be the pack, rule for rule. */
describe("docs/policies.md", () => {
  const rows = readFileSync(join(__dirname, "../../docs/policies.md"), "utf8")
    .split("\n")
    .map((l) => l.match(/^\| `([a-z0-9-]+)` \| ([a-z]+)(?: \(stack\))? \|/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ name: m[1], level: m[2] }));

  it("lists every rule of the pack once, with its enforcement level, and no rule the pack lacks", () => {
    const pack = allPolicies.map((p) => ({ name: p.name, level: p.enforcementLevel ?? "mandatory" }));
    expect(rows).toEqual(pack);
  });
});

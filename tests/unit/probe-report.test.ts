import { describe, expect, it } from "vitest";
import { allPassed, formatTable, toJson } from "../../src/probe/report";
import type { CheckResult } from "../../src/probe/result";

const rows: CheckResult[] = [
  { name: "auth", project: "crm", ok: true, detail: "signed in", ms: 120 },
  { name: "isolation", project: "crm", ok: false, detail: "LEAK: B read A's row", ms: 33 },
  { name: "backup", project: "crm", ok: false, skipped: true, detail: "skipped: no --ssh-key given", ms: 0 },
];

describe("the probe's report", () => {
  it("aligns the columns and says PASS, FAIL or SKIP", () => {
    expect(formatTable(rows)).toBe(
      [
        "CHECK      PROJECT  RESULT   MS  DETAIL",
        "auth       crm      PASS    120  signed in",
        "isolation  crm      FAIL     33  LEAK: B read A's row",
        "backup     crm      SKIP      0  skipped: no --ssh-key given",
        "",
        "3 checks: 1 passed, 1 failed, 1 skipped",
      ].join("\n"),
    );
  });
  it("counts a skip as a failure of the run", () => {
    expect(allPassed(rows.slice(0, 1))).toBe(true);
    expect(allPassed([rows[0]!, rows[2]!])).toBe(false);
    expect(allPassed([])).toBe(false);
  });
  it("writes JSON for the workflow", () => {
    const j = JSON.parse(toJson("prod", new Date(0), rows));
    expect(j).toMatchObject({ stack: "prod", startedAt: "1970-01-01T00:00:00.000Z", ok: false });
    expect(j.results.map((r: { result: string }) => r.result)).toEqual(["PASS", "FAIL", "SKIP"]);
  });
});

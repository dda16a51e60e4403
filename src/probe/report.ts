import type { CheckResult } from "./result";

export const verdictOf = (r: CheckResult): "PASS" | "FAIL" | "SKIP" => (r.skipped ? "SKIP" : r.ok ? "PASS" : "FAIL");

/** Plain aligned columns: readable in a terminal and in a CI log alike. */
export function formatTable(results: readonly CheckResult[]): string {
  const rows = [["CHECK", "PROJECT", "RESULT", "MS", "DETAIL"], ...results.map((r) => [r.name, r.project, verdictOf(r), String(r.ms), r.detail.replace(/\s*\n\s*/g, " | ")])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : i < 4 ? cell.padEnd(widths[i]!) : cell)).join("  ").trimEnd());
  return [...lines, "", summaryLine(results)].join("\n");
}

export function summaryLine(results: readonly CheckResult[]): string {
  const count = (v: string): number => results.filter((r) => verdictOf(r) === v).length;
  return `${results.length} checks: ${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped`;
}

export const allPassed = (results: readonly CheckResult[]): boolean => results.length > 0 && results.every((r) => r.ok);

/** What --json writes, for the workflow to upload. */
export function toJson(stack: string, startedAt: Date, results: readonly CheckResult[]): string {
  return `${JSON.stringify({ stack, startedAt: startedAt.toISOString(), ok: allPassed(results), results: results.map((r) => ({ ...r, result: verdictOf(r) })) }, null, 2)}\n`;
}

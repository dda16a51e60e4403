/**
 * Writes tests/durations.json, the order the suite starts its files in
 * (tests/helpers/longestFirst.ts), from vitest's JSON report of a full run:
 *   npx vitest run --reporter=default --reporter=json --outputFile.json=/tmp/v.json
 *   npx tsx scripts/test-durations.ts /tmp/v.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

interface Report {
  readonly testResults: readonly { readonly name: string; readonly startTime: number; readonly endTime: number }[];
}

const reportPath = process.argv[2];
if (reportPath === undefined) {
  console.error("usage: tsx scripts/test-durations.ts <vitest JSON report of a full run>");
  process.exit(2);
}
const root = join(__dirname, "..");
const report = JSON.parse(readFileSync(reportPath, "utf8")) as Report;
if (report.testResults.length === 0) {
  console.error(`${reportPath} holds no test file`);
  process.exit(1);
}
const seconds = Object.fromEntries(
  report.testResults
    .map((f) => [relative(root, f.name), Math.round((f.endTime - f.startTime) / 100) / 10] as const)
    .sort(([a], [b]) => a.localeCompare(b)),
);
writeFileSync(join(root, "tests/durations.json"), `${JSON.stringify(seconds, null, 2)}\n`);
console.log(`tests/durations.json: ${Object.keys(seconds).length} files`);

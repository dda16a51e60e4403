import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Each file's seconds in a measured run (tests/durations.json, written by
 * scripts/test-durations.ts from vitest's JSON report). A fresh clone has no
 * vitest cache, so without this the files start in the order they are found,
 * and a long one found late (n8n, pitr) runs on alone at the end.
 */
const DURATIONS = join(__dirname, "../durations.json");
const seconds: Readonly<Record<string, number>> = existsSync(DURATIONS) ? JSON.parse(readFileSync(DURATIONS, "utf8")) : {};
/** A file not measured yet starts among the long ones: better early than the tail. */
const UNMEASURED = 30;

/**
 * Longest first within each project, the integration project before the unit one
 * (as vitest's own order): a unit worker then runs file after file with the
 * modules it has loaded, and the short unit files fill the cores at the end.
 */
export default class LongestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cost = (f: TestSpecification): number => seconds[relative(root, f.moduleId)] ?? UNMEASURED;
    const project = (f: TestSpecification): string => f.project.name;
    return Promise.resolve([...files].sort((a, b) => project(a).localeCompare(project(b)) || cost(b) - cost(a)));
  }
}

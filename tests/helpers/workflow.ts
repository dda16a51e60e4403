import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./stacks";

/** The parts of a GitHub Actions workflow the workflow tests read. */
export interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, string>;
  readonly env?: Record<string, string>;
}
export interface Job {
  readonly if?: string;
  readonly needs?: string;
  readonly "runs-on": string;
  readonly environment: string;
  readonly env?: Record<string, string>;
  readonly steps: Step[];
}
export interface Workflow {
  readonly on: Record<string, unknown>;
  readonly jobs: Record<string, Job>;
}

export function readWorkflow(file: string): Workflow {
  return parse(readFileSync(join(ROOT, ".github/workflows", file), "utf8")) as Workflow;
}

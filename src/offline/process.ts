import * as pulumi from "@pulumi/pulumi";

/** Set to 1 to keep stack traces in the offline plan, e.g. to find where the program threw. */
export const STACK_TRACES_ENV = "SUPAFLEET_PLAN_STACK_TRACES";

/**
 * Settings for a process that runs the offline plan (`npm run plan`, the plan
 * benchmark), and only for one: `pulumi up` never calls this. A test process
 * keeps its traces: runOffline turns them off only while the plan runs
 * (withoutStackTraces).
 *
 * The Pulumi SDK records a stack trace for every promise it wraps
 * (`debuggablePromise`: about 170,000 for 100 projects, four for each Output
 * property of every resource) and for every resource it registers, so that a
 * deployment can show where a leaked promise or a resource came from. Under
 * the mock runtime nothing reads them: the mock monitor ignores a resource's
 * source position, and a trace is printed only when a promise leaks and
 * PULUMI_DEBUG_PROMISE_LEAKS is set. Capturing and formatting them was a third
 * of the plan's time (docs/benchmarks.md, "Offline plan").
 *
 * - Source maps are off: mapping each trace doubled the run time.
 * - `Error.stackTraceLimit = 0`: a trace is captured with no frames. An error
 *   the program throws then says what went wrong but not where; set
 *   SUPAFLEET_PLAN_STACK_TRACES=1 to keep the traces.
 * - `Resource.callsites` answers no frames: the SDK lifts the limit to
 *   capture every frame of each registration's stack, for the source position
 *   that the mock monitor drops.
 */
export function useOfflinePlanProcess(env: NodeJS.ProcessEnv = process.env): void {
  process.setSourceMapsEnabled(false);
  if (env[STACK_TRACES_ENV] === "1") return;
  tracesOff();
}

type Callsites = { callsites?: () => unknown[] };
let scoped = 0;
let restore: (() => void) | undefined;

/** Turns the traces off and returns what puts them back. */
function tracesOff(): () => void {
  const resource = pulumi.Resource as unknown as Callsites;
  const before = { limit: Error.stackTraceLimit, callsites: resource.callsites };
  Error.stackTraceLimit = 0;
  if (typeof resource.callsites === "function") resource.callsites = () => [];
  return () => {
    Error.stackTraceLimit = before.limit;
    resource.callsites = before.callsites;
  };
}

/**
 * Runs `fn` with the traces off as useOfflinePlanProcess turns them off, and
 * puts them back after: for a process that runs the plan among other work, a
 * test file for one (vitest maps each trace through source maps, which made
 * the plan's traces most of a program test's CPU). Runs that overlap share
 * one scope: the traces come back when the last ends.
 */
export async function withoutStackTraces<T>(fn: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  if (env[STACK_TRACES_ENV] === "1") return fn();
  if (scoped++ === 0) restore = tracesOff();
  try {
    return await fn();
  } finally {
    if (--scoped === 0) restore?.();
  }
}

/** The line added to an unexpected error's report while traces are off. */
export function stackTraceHint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[STACK_TRACES_ENV] === "1" ? undefined : `(stack traces are off in the offline plan, for speed; run again with ${STACK_TRACES_ENV}=1 to see where this was thrown)`;
}

import * as pulumi from "@pulumi/pulumi";
import { buildFleet, type Fleet } from "./build/fleet";
import { stackOutputs } from "./build/outputs";
import { ConfigError } from "./config/issues";
import { loadFleetConfig, type LoadedConfig } from "./config/load";
import { checkFunctionFolders } from "./functions/check";
import { checkRealtimeTables } from "./rls/realtimeIssues";
import { PROGRAM_ROOT } from "./functions/names";
import { infraRelease } from "./resources/infraRelease";
import { planFleet } from "./plan/planFleet";
import { readStackConfig } from "./stack/config";
import { readSecrets } from "./stack/secrets";

/**
 * Reads and validates the running stack's config in full. A problem ends the
 * run with the list of every problem and no stack trace (a RunError).
 */
export function loadStackConfig(): LoadedConfig & { stack: string; secretsSet: ReadonlySet<string> } {
  const input = readStackConfig();
  try {
    // Beyond the stack file: functions folders on disk (relative to Pulumi.yaml) and the schema packs' tables.
    const loaded = loadFleetConfig(input, [checkFunctionFolders(PROGRAM_ROOT), checkRealtimeTables]);
    return { ...loaded, stack: input.stack, secretsSet: new Set(Object.keys(input.values)) };
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

/**
 * The program: validate the stack's config, plan the fleet, read its secrets
 * (here and nowhere else), then build it. `onFleet` lets the offline plan see
 * the components; Pulumi passes nothing.
 */
export async function main(onFleet?: (fleet: Fleet) => void): Promise<Record<string, unknown>> {
  const { config, stack, secretsSet } = loadStackConfig();
  const plan = planFleet(stack, config, secretsSet);
  // Every host records which commit of supafleet last applied it (/etc/supafleet/release).
  const fleet = buildFleet(plan, readSecrets(plan), infraRelease());
  onFleet?.(fleet);
  return stackOutputs(fleet);
}

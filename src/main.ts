import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./config/fromPulumi";
import { ConfigError } from "./config/issues";
import { loadFleetConfig, type LoadedConfig } from "./config/load";
import { buildFleetModel } from "./model/fleet";
import { buildFleet, stackOutputs, type Fleet } from "./program";

/**
 * Reads and validates the running stack's config in full. A problem ends the
 * run with the list of every problem and no stack trace (a RunError).
 */
export function loadStackConfig(): LoadedConfig & { stack: string } {
  const input = readStackConfig();
  try {
    return { ...loadFleetConfig(input), stack: input.stack };
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

/**
 * The program: validate the stack's config, then build the fleet.
 * `onFleet` lets the offline plan see the components; Pulumi passes nothing.
 */
export async function main(onFleet?: (fleet: Fleet) => void): Promise<Record<string, unknown>> {
  const { config, stack } = loadStackConfig();
  const fleet = buildFleet(buildFleetModel(stack, config));
  onFleet?.(fleet);
  return stackOutputs(fleet);
}

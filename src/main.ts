import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./config/fromPulumi";
import { ConfigError } from "./config/issues";
import { loadFleetConfig } from "./config/load";
import { buildFleetModel } from "./model/fleet";
import { buildFleet, stackOutputs, type Fleet } from "./program";

/**
 * The program: validate the stack's config in full, then build the fleet.
 * A config problem ends the run with its list of problems and no stack trace.
 * `onFleet` lets the offline plan see the components; Pulumi passes nothing.
 */
export async function main(onFleet?: (fleet: Fleet) => void): Promise<Record<string, unknown>> {
  const input = readStackConfig();
  let loaded;
  try {
    loaded = loadFleetConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  const fleet = buildFleet(buildFleetModel(input.stack, loaded.config));
  onFleet?.(fleet);
  return stackOutputs(fleet);
}

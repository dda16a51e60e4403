import * as pulumi from "@pulumi/pulumi";
import { parseConfigValue } from "../config/configValue";
import type { StackConfigInput } from "../config/load";

// Exported by the SDK at runtime but marked internal in its typings.
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;

/** The running stack's config, as the validator takes it. */
export function readStackConfig(): StackConfigInput {
  const raw = pulumi.runtime.allConfig();
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [key, text] of Object.entries(raw)) {
    values[key] = parseConfigValue(text);
    if (isConfigSecret(key)) secretKeys.add(key);
  }
  const stack = pulumi.getStack();
  const organization = currentOrganization();
  return { stack, stackFile: `Pulumi.${stack}.yaml`, values, secretKeys, ...(organization !== undefined ? { organization } : {}) };
}

/** The engine names the organization; the mock runtime may not, and then the messages say `<org>`. */
function currentOrganization(): string | undefined {
  try {
    return pulumi.getOrganization();
  } catch {
    return undefined;
  }
}

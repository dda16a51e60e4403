import * as pulumi from "@pulumi/pulumi";
import type { StackConfigInput } from "./load";

/** Pulumi hands structured config over as JSON text; plain strings stay strings. */
export function parseConfigValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

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

/** A declared secure value; validation has already proved it is present when required. */
export function secretValue(key: string): pulumi.Output<string> | undefined {
  const [namespace, name] = key.split(":") as [string, string];
  return new pulumi.Config(namespace).getSecret(name);
}

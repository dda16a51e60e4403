import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { parseConfigValue } from "../config/configValue";
import type { StackConfigInput } from "../config/load";
import { PROJECT_NAMESPACE } from "../config/secrets";

/** A stack's config the way the Pulumi engine hands it to the program: strings, JSON for structures. */
export interface EngineConfig {
  readonly values: Record<string, string>;
  readonly secretKeys: string[];
  /** The Pulumi ESC environments the stack file imports (`environment:`); offline, their secrets are placeholders. */
  readonly environments?: string[];
}

export class StackFileError extends Error {}

/** What the offline plan puts where a secure value would be: ciphertext it cannot decrypt, or a key the stack lacks. */
export function placeholder(key: string): string {
  return `<offline-placeholder:${key}>`;
}

/** The engine's strings parsed as the program parses them, in the form the validator takes. */
export function stackConfigInput(stack: string, cfg: EngineConfig): StackConfigInput {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg.values)) values[k] = parseConfigValue(v);
  return { stack, stackFile: `Pulumi.${stack}.yaml`, values, secretKeys: new Set(cfg.secretKeys) };
}

/** Reads Pulumi.<stack>.yaml text into the engine's form. */
export function engineConfigFromYaml(text: string, source: string): EngineConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new StackFileError(`${source} is not valid YAML: ${(e as Error).message}`);
  }
  const environment = (doc as { environment?: unknown } | null)?.environment ?? [];
  if (!Array.isArray(environment) || !environment.every((e) => typeof e === "string" && e.length > 0)) {
    throw new StackFileError(`${source}: "environment" must be a list of ESC environment names, such as [supafleet/prod]`);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new StackFileError(`${source}: "config" must be a mapping of keys to values`);
  }
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(config)) {
    const key = rawKey.includes(":") ? rawKey : `${PROJECT_NAMESPACE}:${rawKey}`;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      // Ciphertext cannot be decrypted without the Pulumi CLI; the plan treats it as set.
      values[key] = placeholder(key);
      secretKeys.push(key);
    } else {
      const bad = nonFinite(value, key);
      if (bad !== undefined) throw new StackFileError(`${source}: ${bad} is ${String(getAt(value, bad, key))}; it must be a finite number (YAML reads .inf and .nan as numbers)`);
      values[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { values, secretKeys, environments: environment as string[] };
}

/** The path of a number JSON cannot carry (.inf, .nan), which would otherwise arrive as null. */
function nonFinite(value: unknown, path: string): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = nonFinite(v, `${path}[${i}]`);
      if (p !== undefined) return p;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const p = nonFinite(v, `${path}.${k}`);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

function getAt(value: unknown, path: string, root: string): unknown {
  const steps = path.slice(root.length).match(/\.[^.[]+|\[\d+\]/g) ?? [];
  return steps.reduce<unknown>((v, s) => (v as Record<string, unknown>)[s.startsWith("[") ? Number(s.slice(1, -1)) : s.slice(1)], value);
}

export function readStackFile(path: string): EngineConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new StackFileError(`cannot read ${path}`);
  }
  return engineConfigFromYaml(text, path);
}

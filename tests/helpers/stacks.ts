import { FULL_SERVICES, workerServices, type StudioLayout } from "../../src/model/projectServices";
import type { ServiceName } from "../../src/model/services";
import { resolve } from "node:path";
import { parse, stringify } from "yaml";
import { readFileSync } from "node:fs";
import { checkFleetConfig, type StackConfigInput } from "../../src/config/load";
import { engineConfigFromYaml, stackConfigInput, type EngineConfig } from "../../src/offline/stackFile";

export const ROOT = resolve(__dirname, "..", "..");

/** Each stack file's config block, by the file's text: a property test asks for prod's hundreds of times. */
const parsedStackFiles = new Map<string, Record<string, unknown>>();

/** A stack file's `config:` block as a plain object keyed like the file; a copy of its own for each caller. */
export function stackDoc(stack: string): Record<string, unknown> {
  const text = readFileSync(resolve(ROOT, `Pulumi.${stack}.yaml`), "utf8");
  let config = parsedStackFiles.get(text);
  if (config === undefined) {
    config = (parse(text) as { config: Record<string, unknown> }).config;
    parsedStackFiles.set(text, config);
  }
  return structuredClone(config);
}

/** Whether JSON text tells `value` apart from every other value (no undefined, NaN, ±Infinity, -0, Date or class instance). */
function jsonExact(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(jsonExact);
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(jsonExact);
  return false;
}

/**
 * The engine's form of one `config:` entry, by the entry's JSON. engineConfigFromYaml turns each entry
 * into its value on its own, so a document's engine config is its entries' in order; the documents of
 * one test share most entries, and the YAML round trip was half the cost of a config check.
 */
const engineEntries = new Map<string, EngineConfig>();

export function engineConfig(config: Record<string, unknown>): EngineConfig {
  if (!jsonExact(config)) return engineConfigFromYaml(stringify({ config }), "test");
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const id = JSON.stringify([key, value]);
    let entry = engineEntries.get(id);
    if (entry === undefined) {
      entry = engineConfigFromYaml(stringify({ config: { [key]: value } }), "test");
      if (engineEntries.size > 20_000) engineEntries.clear();
      engineEntries.set(id, entry);
    }
    Object.assign(values, entry.values);
    secretKeys.push(...entry.secretKeys);
  }
  return { values, secretKeys, environments: [] };
}

/** What the validator receives, with every declared secure key present as a secret. */
export function validatorInput(config: Record<string, unknown>, stack = "test", secretKeys: string[] = []): StackConfigInput {
  const e = engineConfig(config);
  return stackConfigInput(stack, { ...e, secretKeys: [...e.secretKeys, ...secretKeys] });
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Supplies every secure key the config declares, as the engine would after `pulumi config set --secret`. */
export function withDeclaredSecrets(input: StackConfigInput): StackConfigInput {
  const { secure } = checkFleetConfig(input);
  const values = { ...input.values };
  const secretKeys = new Set(input.secretKeys);
  for (const s of secure) {
    if (values[s.key] === undefined) {
      values[s.key] = `test-secret-${s.key}`;
      secretKeys.add(s.key);
    }
  }
  return { ...input, values, secretKeys };
}

export function check(config: Record<string, unknown>, stack?: string): ReturnType<typeof checkFleetConfig> {
  return checkFleetConfig(withDeclaredSecrets(validatorInput(config, stack)));
}

/** The README's worked example: a new tenant with one project on prod's w2 ("Add a tenant by pull request"). */
export function kitaTenant(): Record<string, unknown> {
  return {
    slug: "kita-sonnenschein",
    name: "Kita Sonnenschein e.V.",
    contact: { name: "Maria Berg", email: "leitung@kita-sonnenschein.de" },
    plan: "starter",
    isolation: "shared",
    projects: [{ name: "kita", subdomain: "kita", slot: 7, placement: { worker: "w2" }, schemaPacks: ["msp-ops"] }],
  };
}

/** The containers a project entry of a stack file runs on its worker, its defaults filled in as the schema fills them. */
export function entryServices(p: { services?: Record<string, boolean>; studio?: StudioLayout }): ServiceName[] {
  return workerServices({ services: { ...FULL_SERVICES, ...(p.services ?? {}) }, studio: p.studio ?? "master" });
}

import { FULL_SERVICES, workerServices, type StudioLayout } from "../../src/model/projectServices";
import type { ServiceName } from "../../src/model/services";
import { resolve } from "node:path";
import { parse, stringify } from "yaml";
import { readFileSync } from "node:fs";
import { checkFleetConfig, type StackConfigInput } from "../../src/config/load";
import { engineConfigFromYaml, stackConfigInput, type EngineConfig } from "../../src/offline/stackFile";

export const ROOT = resolve(__dirname, "..", "..");

/** A stack file's `config:` block as a plain object keyed like the file. */
export function stackDoc(stack: string): Record<string, unknown> {
  return (parse(readFileSync(resolve(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
}

export function engineConfig(config: Record<string, unknown>): EngineConfig {
  return engineConfigFromYaml(stringify({ config }), "test");
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

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { allPolicies } from "../../policies/rules";
import type { ResourceNode } from "../../src/offline/run";
import { runRemediation, runResourcePolicy, runStackPolicy, type Violation } from "./policyHarness";
import { ROOT } from "./stacks";

export function packConfig(stack: string): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(join(ROOT, `policies/config.${stack}.json`), "utf8")) as Record<string, Record<string, unknown>>;
}

export interface PackResult {
  readonly violations: (Violation & { level: string })[];
  readonly remediated: { policy: string; resource: string }[];
}

/**
 * Feeds every registered resource to the whole pack, as `pulumi preview
 * --policy-pack policies` would: resource policies on inputs, remediations on
 * inputs with secrets still marked, stack policies on outputs.
 */
export async function runPack(resources: readonly ResourceNode[], config: Record<string, Record<string, unknown>>): Promise<PackResult> {
  const violations: PackResult["violations"] = [];
  const remediated: PackResult["remediated"] = [];
  for (const policy of allPolicies) {
    const level = policy.enforcementLevel ?? "mandatory";
    const cfg = config[policy.name] ?? {};
    if ("validateStack" in policy) {
      const stackPolicy = policy as StackValidationPolicy;
      const fakes = resources.map((r) => ({ type: r.type, name: r.name, props: r.outputs, ...(r.parent !== undefined ? { parent: r.parent } : {}) }));
      for (const v of await runStackPolicy(stackPolicy, fakes, cfg)) violations.push({ ...v, level });
      continue;
    }
    const resourcePolicy = policy as ResourceValidationPolicy;
    for (const r of resources) {
      const fake = { type: r.type, name: r.name, props: r.inputs };
      for (const v of await runResourcePolicy(resourcePolicy, fake, cfg)) violations.push({ ...v, level });
      if ((await runRemediation(resourcePolicy, fake)) !== undefined) remediated.push({ policy: policy.name, resource: r.key });
    }
  }
  return { violations, remediated };
}

import { Secret, type Policy, type PolicyResource, type ResourceValidationArgs, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { secretsPreservingProxy } from "@pulumi/policy/secret";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";

/**
 * Calls policies the way the analyzer does, without the Pulumi CLI: same args
 * shape, defaults from each policy's configSchema, the pack's config on top.
 */
export interface FakeResource {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly parent?: string;
}

export interface Violation {
  readonly policy: string;
  readonly message: string;
  readonly urn?: string;
}

const urnOf = (r: FakeResource): string => `urn:pulumi:test::supafleet::${r.type}::${r.name}`;

class NotApplicable extends Error {}

function defaults(policy: Policy): Record<string, unknown> {
  const props = (policy.configSchema?.properties ?? {}) as Record<string, { default?: unknown }>;
  return Object.fromEntries(Object.entries(props).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
}

function baseArgs(policy: Policy, config: Record<string, unknown>) {
  return {
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => ({ ...defaults(policy), ...config }) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

const opts = { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } };

/** Unwraps secret envelopes as the analyzer does before validation. */
export function plain(v: unknown): unknown {
  if (isSecretEnvelope(v)) return plain(v.value);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Turns secret envelopes into Secret instances behind the proxy remediation receives. */
export function asRemediationProps(v: unknown): Record<string, unknown> {
  const convert = (x: unknown): unknown => {
    if (isSecretEnvelope(x)) return new Secret(convert(x.value));
    if (Array.isArray(x)) return x.map(convert);
    if (x !== null && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, convert(y)]));
    return x;
  };
  return secretsPreservingProxy(convert(v));
}

export async function runResourcePolicy(policy: ResourceValidationPolicy, r: FakeResource, config: Record<string, unknown> = {}): Promise<Violation[]> {
  const violations: Violation[] = [];
  const args: ResourceValidationArgs = {
    type: r.type,
    props: plain(r.props) as Record<string, unknown>,
    urn: urnOf(r),
    name: r.name,
    opts,
    isType: () => false,
    asType: () => undefined,
    ...baseArgs(policy, config),
  };
  const fns = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
  try {
    for (const fn of fns) await fn(args, (message) => violations.push({ policy: policy.name, message }));
  } catch (e) {
    if (!(e instanceof NotApplicable)) throw e;
  }
  return violations;
}

/** What a remediation returns: new props, or undefined when nothing needed fixing. */
export async function runRemediation(policy: ResourceValidationPolicy, r: FakeResource): Promise<Record<string, unknown> | undefined> {
  if (policy.remediateResource === undefined) return undefined;
  const result = await policy.remediateResource({
    type: r.type,
    props: asRemediationProps(r.props),
    urn: urnOf(r),
    name: r.name,
    opts,
    isType: () => false,
    asType: () => undefined,
    ...baseArgs(policy, {}),
  });
  return result ?? undefined;
}

export async function runStackPolicy(policy: StackValidationPolicy, resources: readonly FakeResource[], config: Record<string, unknown> = {}): Promise<Violation[]> {
  const violations: Violation[] = [];
  const byKey = new Map<string, PolicyResource>();
  const policyResources = resources.map((r): PolicyResource => {
    const pr: PolicyResource = {
      type: r.type,
      name: r.name,
      urn: urnOf(r),
      props: plain(r.props) as Record<string, unknown>,
      opts,
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    };
    byKey.set(`${r.type}::${r.name}`, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    if (r.parent !== undefined) policyResources[i]!.parent = byKey.get(r.parent);
  });
  await policy.validateStack({ resources: policyResources, ...baseArgs(policy, config) }, (message, urn) => violations.push({ policy: policy.name, message, ...(urn !== undefined ? { urn } : {}) }));
  return violations;
}

import * as pulumi from "@pulumi/pulumi";
import { checkFleetConfig } from "../config/load";
import { loadStackConfig, main } from "../main";
import type { Fleet } from "../build/fleet";
import { FleetMocks } from "./mocks";
import { withoutStackTraces } from "./process";
import { offlineStackOutputs } from "./stackReferences";
import { REDACTED } from "./secretEnvelope";
import { placeholder, stackConfigInput, type EngineConfig } from "./stackFile";
import { fixInfraRelease } from "../resources/infraRelease";
import { fixRunStamp } from "../resources/runStamp";

/** One registered resource, with its parent and the inputs the provider would receive. */
export interface ResourceNode {
  readonly key: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly id?: string;
  readonly parent?: string;
  /** Pulumi refuses to delete or replace it (`protect`). */
  readonly protect?: boolean;
  /** Keys this resource had before a rename (its `{ name }` aliases): the same resource to Pulumi. */
  readonly aliases?: string[];
  /** Inputs Pulumi does not diff (`ignoreChanges`): a change there neither updates nor replaces. */
  readonly ignoreChanges?: string[];
  /** Keys of the resources it waits for (`dependsOn`), beyond what its inputs imply. */
  readonly dependsOn?: string[];
  readonly inputs: Record<string, unknown>;
  /** What the resource reports back: the mock's state, or a component's registered outputs. */
  readonly outputs: Record<string, unknown>;
}

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
}

/** Everything one offline run of the program produced. */
export interface Snapshot {
  readonly stack: string;
  readonly resources: ResourceNode[];
  readonly outputs: Record<string, unknown>;
  readonly files: RenderedFile[];
  /** Every secret value the run saw: mock secrets, placeholders and secret outputs. For leak checks only. */
  readonly secretValues: string[];
  /** Set when the config was refused; the program registered nothing. */
  readonly error?: string;
}

export const PROJECT = "supafleet";

// Exported by the SDK at runtime but internal in its typings: settles in-flight registrations.
const waitForRPCs = (): Promise<void> => (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();

export function resourceKey(type: string, name: string): string {
  return `${type}::${name}`;
}

export function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

/**
 * A value once its Outputs and promises have settled. For dependsOn this is
 * what `pulumi.output(deps)` gave, at the top and one level down (the only
 * levels where a Resource counts), without wrapping each list of resources in
 * an Output: the SDK would walk every Resource in it, its children and their
 * Outputs included, looking for unknowns.
 */
async function settled(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) return settled(await promiseOf(value as pulumi.Output<unknown>));
  if (value instanceof Promise) return settled(await value);
  return value;
}

/** Adds a marked placeholder for every secure key the config declares and lacks. */
export function withPlaceholders(stack: string, cfg: EngineConfig): EngineConfig {
  const { secure } = checkFleetConfig(stackConfigInput(stack, cfg));
  const out = { values: { ...cfg.values }, secretKeys: [...cfg.secretKeys] };
  for (const s of secure) {
    if (out.values[s.key] === undefined) {
      out.values[s.key] = placeholder(s.key);
      out.secretKeys.push(s.key);
    }
  }
  return out;
}

/**
 * Runs the real program under the Pulumi SDK's mock runtime. Safe to call
 * repeatedly in one process: each run installs fresh mocks and config and
 * waits for the previous run's work to settle first.
 */
export async function runOffline(stack: string, engineConfig: EngineConfig): Promise<Snapshot> {
  try {
    return await withoutStackTraces(() => run(stack, engineConfig));
  } finally {
    // A process that goes on to other work (a test worker does) sees the real stamp and release again.
    fixRunStamp(undefined);
    fixInfraRelease(undefined);
  }
}

async function run(stack: string, engineConfig: EngineConfig): Promise<Snapshot> {
  await waitForRPCs();
  const cfg = withPlaceholders(stack, engineConfig);
  const mocks = new FleetMocks(offlineStackOutputs);
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
  fixRunStamp("offline plan");
  // Renders of two commits (a pull request's diff) must differ only where the fleet does.
  fixInfraRelease({ commit: "unknown", describe: "offline plan", dirty: false });
  pulumi.runtime.setAllConfig(cfg.values, cfg.secretKeys);

  const keys = new WeakMap<pulumi.Resource, string>();
  const parents = new Map<string, string | undefined>();
  const aliases = new Map<string, string[]>();
  const protectedKeys = new Set<string>();
  const ignored = new Map<string, string[]>();
  const dependsOn = new Map<string, pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource>>();
  let fleet: Fleet | undefined;
  let rawOutputs: Record<string, unknown> = {};
  let error: string | undefined;
  try {
    // The program's own first step, run before the stack exists so that a
    // refused config leaves no half-registered stack behind.
    loadStackConfig();
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        const key = resourceKey(args.type, args.name);
        keys.set(args.resource, key);
        const parent = args.opts.parent;
        parents.set(key, parent && !(parent instanceof pulumi.runtime.Stack) ? keys.get(parent) : undefined);
        if (args.opts.protect === true) protectedKeys.add(key);
        if ((args.opts.ignoreChanges ?? []).length > 0) ignored.set(key, [...args.opts.ignoreChanges!]);
        if (args.opts.dependsOn !== undefined) dependsOn.set(key, args.opts.dependsOn);
        const formerNames = (args.opts.aliases ?? []).flatMap((a) => (typeof a === "object" && typeof (a as pulumi.Alias).name === "string" ? [(a as pulumi.Alias).name as string] : []));
        if (formerNames.length > 0) aliases.set(key, formerNames.map((n) => resourceKey(args.type, n)));
        return undefined;
      });
      rawOutputs = await main((f) => (fleet = f));
      return {};
    });
  } catch (e) {
    if (!pulumi.RunError.isInstance(e)) throw e;
    error = (e as Error).message;
  }
  await waitForRPCs();

  const files: RenderedFile[] = [];
  for (const c of (fleet as Fleet | undefined)?.components ?? []) {
    for (const a of c.artifacts) files.push({ path: a.path, content: await promiseOf(a.content) });
  }
  const secrets = new Set<string>([...mocks.secretValues, ...cfg.secretKeys.map((k) => cfg.values[k]!)]);
  const outputs = await resolveOutputs(rawOutputs, secrets);

  // dependsOn may hold Outputs (a deferred list); resolved here, to the keys of the resources it names.
  const dependencyKeys = new Map<string, string[]>();
  for (const [key, deps] of dependsOn) {
    const top = await settled(deps);
    const list = Array.isArray(top) ? await Promise.all(top.map(settled)) : [top];
    const resources = list.filter((r): r is pulumi.Resource => r instanceof pulumi.Resource);
    const named = resources.map((r) => keys.get(r)).filter((k): k is string => k !== undefined);
    if (named.length > 0) dependencyKeys.set(key, named);
  }

  const states = registeredStates();
  const resources = mocks.resources
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r): ResourceNode => {
      const key = resourceKey(r.type, r.name);
      const parent = parents.get(key);
      const outputs = states.get(key) ?? {};
      const former = aliases.get(key);
      return {
        key,
        type: r.type,
        name: r.name,
        custom: r.custom,
        inputs: r.inputs,
        outputs,
        ...(r.id !== undefined ? { id: r.id } : {}),
        ...(parent !== undefined ? { parent } : {}),
        ...(former !== undefined ? { aliases: former } : {}),
        ...(protectedKeys.has(key) ? { protect: true } : {}),
        ...(ignored.has(key) ? { ignoreChanges: ignored.get(key)! } : {}),
        ...(dependencyKeys.has(key) ? { dependsOn: dependencyKeys.get(key)! } : {}),
      };
    });
  return { stack, resources, outputs, files: files.sort((a, b) => a.path.localeCompare(b.path)), secretValues: [...secrets].filter((s) => s.length >= 8), ...(error !== undefined ? { error } : {}) };
}

interface MonitorEntry {
  readonly urn: string;
  readonly state: unknown;
}

/** The mock monitor's record of every resource's state, keyed like ResourceNode. */
function registeredStates(): Map<string, Record<string, unknown>> {
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources?: Map<string, MonitorEntry> } | undefined;
  const states = new Map<string, Record<string, unknown>>();
  for (const { urn, state } of monitor?.resources?.values() ?? []) {
    // urn:pulumi:<stack>::<project>::<parent types$…$type>::<name>
    const parts = urn.split("::");
    const type = parts[2]!.split("$").pop()!;
    const name = parts.slice(3).join("::");
    // Components' outputs arrive as a protobuf Struct; custom resources' as plain objects.
    const plain = state !== null && typeof state === "object" && "toJavaScript" in state ? (state as { toJavaScript(): unknown }).toJavaScript() : state;
    states.set(resourceKey(type, name), (plain ?? {}) as Record<string, unknown>);
  }
  return states;
}

/** Resolves stack outputs to plain values; every string under a secret is collected and redacted. */
async function resolveOutputs(value: unknown, secrets: Set<string>, secret = false): Promise<never> {
  if (pulumi.Output.isInstance(value)) {
    const isSecret = secret || (await pulumi.isSecret(value));
    return resolveOutputs(await promiseOf(value), secrets, isSecret);
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveOutputs(v, secrets, secret))) as Promise<never>;
  if (value !== null && typeof value === "object") {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutputs(v, secrets, secret)] as const));
    return Object.fromEntries(entries) as never;
  }
  if (secret && typeof value === "string") {
    secrets.add(value);
    return REDACTED as never;
  }
  return value as never;
}

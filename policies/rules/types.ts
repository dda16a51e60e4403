import type { PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/** Resource type tokens the rules look at; the pack does not load provider SDKs. */
export const T = {
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
  tunnelConfig: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
  accessApp: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  accessPolicy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
  project: "supafleet:index:SupabaseProject",
  backup: "supafleet:index:BackupSchedule",
} as const;

export type TypeToken = (typeof T)[keyof typeof T];

export interface FirewallRule {
  direction?: string;
  protocol?: string;
  port?: string;
  sourceIps?: string[];
  destinationIps?: string[];
}

export interface Ingress {
  hostname?: string;
  path?: string;
  service?: string;
}

/**
 * The props each rule reads, by type. Without provider SDKs these are written
 * here, and only as far as the rules read them. Every field is optional and
 * the rules still check shapes at run time: the engine sends what the program
 * registered, not what these types promise.
 */
export interface Props {
  [T.firewall]: { rules?: FirewallRule[]; labels?: Record<string, string> };
  [T.server]: { firewallIds?: unknown[]; labels?: Record<string, string>; deleteProtection?: boolean; rebuildProtection?: boolean; serverType?: string };
  [T.tunnelConfig]: { config?: { ingresses?: Ingress[] } };
  [T.accessApp]: { domain?: string; policies?: { includes?: unknown }[]; allowedIdps?: unknown[] };
  [T.accessPolicy]: { includes?: unknown };
  /** A SupabaseProject's outputs: the rules need only its name. */
  [T.project]: Record<string, never>;
  /** A BackupSchedule's outputs: the job it backs up (the project's name) and its retention. */
  [T.backup]: { job?: string; retention?: Partial<Record<"daily" | "weekly" | "monthly", number>> };
}

export type TypedValidation<K extends TypeToken> = (props: Props[K], args: ResourceValidationArgs, report: ReportViolation) => void;

/**
 * A resource validation that sees only resources of one type, with typed
 * props: `@pulumi/policy`'s `validateResourceOfType` for a pack without the
 * provider classes. Like it, it carries the type, so the analyzer skips the
 * policy for every other type and reports it as not applicable there.
 */
export function ofType<K extends TypeToken>(type: K, validate: TypedValidation<K>): ResourceValidation {
  const fn: ResourceValidation = (args, report) => {
    if (args.type === type) validate(args.props as Props[K], args, report);
  };
  return Object.assign(fn, { __pulumiType: type });
}

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::…`). */
export function stackOf(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

export type TypedResource<K extends TypeToken> = PolicyResource & { props: Props[K] };

/** A stack's resources of one type, with typed props (what `validateStackResourcesOfType` hands its callback). */
export function resourcesOfType<K extends TypeToken>(resources: readonly PolicyResource[], type: K): TypedResource<K>[] {
  return resources.filter((r): r is TypedResource<K> => r.type === type);
}

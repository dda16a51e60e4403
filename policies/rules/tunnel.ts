import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ofType, resourcesOfType, stackOf, T, type Ingress, type Props } from "./types";

const ingressesOf = (props: Props[typeof T.tunnelConfig]): Ingress[] => props.config?.ingresses ?? [];

export const tunnelEndsWithCatchAll: ResourceValidationPolicy = {
  name: "tunnel-ends-with-catch-all",
  description: "The tunnel's ingress ends with the single catch-all rule.",
  enforcementLevel: "mandatory",
  validateResource: ofType(T.tunnelConfig, (props, args, report) => {
    const rules = ingressesOf(props);
    const last = rules.at(-1);
    if (last === undefined || last.hostname !== undefined || last.path !== undefined || !String(last.service).startsWith("http_status:")) {
      report(`Tunnel config ${args.name}: the last ingress rule must be the catch-all (no hostname, no path, an http_status service).`);
    }
    rules.slice(0, -1).forEach((r, i) => {
      if (r.hostname === undefined) report(`Tunnel config ${args.name}: rule #${i + 1} has no hostname but is not last, so it hides every rule after it.`);
    });
  }),
};

export interface ProtectedHostnamesConfig {
  protectedHostnames: string[];
}

export const accessForProtectedHostnames: StackValidationPolicy = {
  name: "access-for-protected-hostnames",
  description: "Every Studio, n8n or status hostname the tunnel routes has a Cloudflare Access application.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { protectedHostnames: { type: "array", items: { type: "string" }, default: ["^[a-z0-9-]+-studio\\.", "^n8n\\.", "^status\\.", "^console\\."] } },
  },
  validateStack: (args, report) => {
    const patterns = args.getConfig<ProtectedHostnamesConfig>().protectedHostnames.map((p) => new RegExp(p));
    const covered = new Set(resourcesOfType(args.resources, T.accessApp).map((r) => r.props.domain));
    for (const config of resourcesOfType(args.resources, T.tunnelConfig)) {
      for (const rule of ingressesOf(config.props)) {
        const host = rule.hostname;
        if (host !== undefined && patterns.some((p) => p.test(host)) && !covered.has(host)) {
          report(`Hostname ${host} is routed by the tunnel but has no Access application.`, config.urn);
        }
      }
    }
  },
};

const includesEveryone = (rules: unknown): boolean => Array.isArray(rules) && rules.some((r) => r !== null && typeof r === "object" && "everyone" in r);

export const accessNeverEveryone: ResourceValidationPolicy = {
  name: "access-never-everyone",
  description: "No Access policy includes everyone.",
  enforcementLevel: "mandatory",
  validateResource: [
    ofType(T.accessPolicy, (props, args, report) => {
      if (includesEveryone(props.includes)) report(`Access policy ${args.name}: includes everyone.`);
    }),
    ofType(T.accessApp, (props, args, report) => {
      const inline = Array.isArray(props.policies) ? props.policies : [];
      if (inline.some((p) => includesEveryone(p.includes))) report(`Access application ${args.name}: has a policy that includes everyone.`);
    }),
  ],
};

export interface IdentityProviderConfig {
  requiredInStacks: string[];
}

/**
 * In prod, every application names the stack's identity providers (access.identityProviders), so
 * that only they, not whatever login methods the account happens to have, let anyone in. The
 * stack comes from the resource's URN; the ids themselves are unknown until the providers exist.
 */
export const accessAppNamesIdentityProvider: ResourceValidationPolicy = {
  name: "access-app-names-identity-provider",
  description: "Every Access application of a prod stack names its identity providers (allowedIdps).",
  enforcementLevel: "mandatory",
  configSchema: { properties: { requiredInStacks: { type: "array", items: { type: "string" }, default: ["prod"] } } },
  validateResource: ofType(T.accessApp, (props, args, report) => {
    const stack = stackOf(args.urn);
    if (stack === undefined || !args.getConfig<IdentityProviderConfig>().requiredInStacks.includes(stack)) return;
    if (!Array.isArray(props.allowedIdps) || props.allowedIdps.length === 0) {
      report(`Access application ${args.name}: names no identity provider in stack ${stack}; declare access.identityProviders (or access.oneTimePin: true) in its stack file.`);
    }
  }),
};

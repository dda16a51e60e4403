import type { ResourceValidationPolicy } from "@pulumi/policy";
import { ofType, T, type Props } from "./types";

const labelsOf = (props: Props[typeof T.server]): Record<string, string> => props.labels ?? {};

export const serverHasFirewallAndLabels: ResourceValidationPolicy = {
  name: "server-has-firewall-and-labels",
  description: "Every server has a firewall and carries role and env labels.",
  enforcementLevel: "mandatory",
  validateResource: ofType(T.server, (props, args, report) => {
    const firewalls = props.firewallIds;
    if (!Array.isArray(firewalls) || firewalls.length === 0) report(`Server ${args.name}: has no firewall (firewallIds is empty).`);
    for (const label of ["role", "env"]) {
      if (!labelsOf(props)[label]) report(`Server ${args.name}: lacks the label "${label}".`);
    }
  }),
};

export interface ProtectionConfig {
  protectedEnvironments: string[];
}

export const serverProtectedInProd: ResourceValidationPolicy = {
  name: "server-protected-in-prod",
  description: "Servers of protected environments (prod) have Hetzner delete and rebuild protection.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { protectedEnvironments: { type: "array", items: { type: "string" }, default: ["prod"] } } },
  validateResource: ofType(T.server, (props, args, report) => {
    const env = labelsOf(props).env;
    if (env === undefined || !args.getConfig<ProtectionConfig>().protectedEnvironments.includes(env)) return;
    if (props.deleteProtection !== true) report(`Server ${args.name}: is in ${env} without delete protection.`);
    if (props.rebuildProtection !== true) report(`Server ${args.name}: is in ${env} without rebuild protection.`);
  }),
};

export interface ServerTypeConfig {
  allowedServerTypes: string[];
}

export const DEFAULT_SERVER_TYPES = [
  "cx23", "cx33", "cx43", "cx53", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62",
  "cax11", "cax21", "cax31", "cax41", "ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63",
];

export const serverTypeAllowed: ResourceValidationPolicy = {
  name: "server-type-allowed",
  description: "Server types come from the allowed list in the policy config.",
  enforcementLevel: "advisory",
  configSchema: { properties: { allowedServerTypes: { type: "array", items: { type: "string" }, default: DEFAULT_SERVER_TYPES } } },
  validateResource: ofType(T.server, (props, args, report) => {
    const allowed = args.getConfig<ServerTypeConfig>().allowedServerTypes;
    const type = props.serverType;
    if (typeof type === "string" && !allowed.includes(type)) report(`Server ${args.name}: type ${type} is not in the allowed list (${allowed.join(", ")}).`);
  }),
};

import type { Policies } from "@pulumi/policy";
import { everyProjectBackedUp } from "./backups";
import { imagesPinned } from "./containers";
import { firewallInboundOnlyWireguardAndSsh, firewallNoServicePorts, firewallSshFromOperators } from "./firewall";
import { secretInputsAreSecret } from "./secrets";
import { serverHasFirewallAndLabels, serverProtectedInProd, serverTypeAllowed } from "./servers";
import { accessAppNamesIdentityProvider, accessForProtectedHostnames, accessNeverEveryone, tunnelEndsWithCatchAll } from "./tunnel";

export const allPolicies: Policies = [
  firewallInboundOnlyWireguardAndSsh,
  firewallSshFromOperators,
  firewallNoServicePorts,
  serverHasFirewallAndLabels,
  serverProtectedInProd,
  serverTypeAllowed,
  everyProjectBackedUp,
  tunnelEndsWithCatchAll,
  accessForProtectedHostnames,
  accessNeverEveryone,
  accessAppNamesIdentityProvider,
  imagesPinned,
  secretInputsAreSecret,
];

import type * as pulumi from "@pulumi/pulumi";
import type * as hcloud from "@pulumi/hcloud";

/** What every supafleet server shares, master or worker. */
export interface NodeBase {
  readonly serverType: string;
  readonly image: string;
  readonly location: string;
  readonly protect: boolean;
}

/**
 * The one shape of a supafleet server: its own firewall, the deploy key,
 * boot data, labels, and in prod Hetzner's delete and rebuild protection.
 */
export function serverArgs(
  node: NodeBase,
  parts: {
    /** `<env>-<node>`, as in Hetzner's console and the server's hostname. */
    readonly name: string;
    readonly sshKeyIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly firewall: hcloud.Firewall;
    readonly publicNets: hcloud.types.input.ServerPublicNet[];
    readonly userData: pulumi.Input<string>;
    readonly labels: Record<string, string>;
  },
): hcloud.ServerArgs {
  return {
    name: parts.name,
    serverType: node.serverType,
    image: node.image,
    location: node.location,
    sshKeys: parts.sshKeyIds,
    firewallIds: [parts.firewall.id.apply(Number)],
    publicNets: parts.publicNets,
    userData: parts.userData,
    labels: parts.labels,
    deleteProtection: node.protect,
    rebuildProtection: node.protect,
  };
}

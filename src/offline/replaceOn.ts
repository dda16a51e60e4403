/**
 * What makes a provider replace a resource rather than update it, for every
 * provider resource type the program registers: the top-level inputs whose
 * change forces a replacement (`*`: any input), as the providers pinned in
 * package.json declare them (ForceNew or RequiresReplace in the Terraform
 * schemas that hcloud and cloudflare bridge, replaceOnChanges in command's,
 * every input for random and tls). A type whose inputs never force one says
 * why instead. Kept by hand: tests/unit/replace-table.test.ts runs both
 * stacks' offline plans and fails when the program registers a type missing here.
 *
 * Components (`supafleet:index:*`) are not listed: no provider diffs them, and
 * the offline plan records no inputs for them, so the diff never reports one.
 */
export type ReplaceOn = readonly [string, ...string[]] | { readonly none: string };

export const REPLACE_ON: Readonly<Record<string, ReplaceOn>> = {
  "hcloud:index/server:Server": ["userData", "image", "location", "sshKeys", "datacenter"],
  "hcloud:index/primaryIp:PrimaryIp": ["type", "location", "datacenter"],
  "hcloud:index/sshKey:SshKey": ["publicKey"],
  "hcloud:index/firewall:Firewall": ["applyTos"],
  "hcloud:index/storageBox:StorageBox": ["location", "sshKeys"],
  "hcloud:index/storageBoxSubaccount:StorageBoxSubaccount": ["storageBoxId", "homeDirectory"],
  "random:index/randomPassword:RandomPassword": ["*"],
  "random:index/randomBytes:RandomBytes": ["*"],
  "tls:index/privateKey:PrivateKey": ["*"],
  "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": ["accountId", "configSrc", "name", "tunnelSecret"],
  "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": ["accountId", "tunnelId"],
  "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication": ["accountId", "zoneId"],
  "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy": ["accountId"],
  "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken": ["accountId", "zoneId"],
  "cloudflare:index/zeroTrustAccessIdentityProvider:ZeroTrustAccessIdentityProvider": ["accountId", "zoneId", "type"],
  "cloudflare:index/dnsRecord:DnsRecord": ["zoneId"],
  "cloudflare:index/customHostname:CustomHostname": ["zoneId", "hostname"],
  "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin": ["zoneId"],
  // Without an `update` command a changed `create` runs again, but as an update of the same resource.
  "command:remote:Command": ["triggers"],
  "pulumi:pulumi:StackReference": { none: "read from the other stack on every run; Pulumi never creates, updates or replaces it" },
};

/** Whether changes at these input paths make the provider replace a resource of this type. */
export function forcesReplace(type: string, paths: readonly string[]): boolean {
  const entry = REPLACE_ON[type];
  const keys: readonly string[] = entry === undefined || "none" in entry ? [] : entry;
  return paths.length > 0 && (keys.includes("*") || paths.some((p) => keys.includes(p.split(/[.[]/)[0]!)));
}

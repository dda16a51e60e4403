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

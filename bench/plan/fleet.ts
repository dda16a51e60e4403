/**
 * A generated fleet of N projects for the plan benchmark: shared tenants with
 * two projects each, every tenth tenant dedicated, a pooled tenant per ten,
 * workers sized so the placement check passes.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
export function generatedFleet(projects: number): Record<string, any> {
  const perWorker = 30; // ccx53 fits 53 projects (docs/sizing.md)
  const tenants: any[] = [];
  let slot = 1;
  let dedicated = 0;
  const workerNames = new Set<string>();
  for (let t = 0; slot <= projects; t++) {
    const isDedicated = t % 10 === 9;
    const count = isDedicated ? 1 : Math.min(2, projects - slot + 1);
    const list = Array.from({ length: count }, () => {
      const n = slot++;
      const worker = `w${Math.ceil(n / perWorker)}`;
      if (!isDedicated) workerNames.add(worker);
      return {
        name: `p${n}`,
        subdomain: `p${n}`,
        slot: n,
        placement: isDedicated ? { dedicated: { serverType: "cx33", address: `10.100.${1 + Math.floor(dedicated / 250)}.${2 + (dedicated++ % 250)}` } } : { worker },
        schemaPacks: n % 3 === 0 ? ["msp-ops"] : [],
        ...(n === 3 ? { acceptsPooledTenants: true } : {}),
      };
    });
    tenants.push({ slug: `t${t}`, name: `Tenant ${t}`, contact: { name: "Ops", email: `t${t}@example.org` }, plan: "business", isolation: isDedicated ? "dedicated" : "shared", projects: list });
    if (t % 10 === 5 && slot > 3) tenants.push({ slug: `pool${t}`, name: `Pooled ${t}`, contact: { name: "Ops", email: `pool${t}@example.org` }, plan: "starter", isolation: "pooled", pool: "p3" });
  }
  const workers = [...workerNames].sort().map((name, i) => ({ name, serverType: "ccx53", address: `10.100.0.${2 + i}` }));
  return {
    "supafleet:domain": "bench.example.org",
    "supafleet:hetzner": { location: "fsn1", image: "debian-13", masterServerType: "cx33" },
    "supafleet:cloudflare": { accountId: "0".repeat(32), zoneId: "1".repeat(32) },
    "supafleet:operators": [
      { name: "ops", email: "ops@example.org", sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTM2QRTjI+UtdnLuq5bLR95E2Pz10UcM/PQsPJOF6c8 ops", sourceRanges: ["198.51.100.0/24"] },
    ],
    "supafleet:wireguard": { subnet: "10.100.0.0/16" },
    "supafleet:workers": workers,
    "supafleet:supabase": { release: "2026.08" },
    "supafleet:smtp": { host: "smtp.example.org", port: 587, user: "mailer", adminEmail: "admin@example.org", senderName: "Bench" },
    "supafleet:tenants": tenants,
    "supafleet:backups": { retention: { daily: 7, weekly: 4, monthly: 6 }, storageBox: { type: "bx41", location: "fsn1" } },
    "supafleet:alerting": { ntfy: { topic: "bench" } },
  };
}

import fc from "fast-check";

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Doc = Record<string, any>;

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTM2QRTjI+UtdnLuq5bLR95E2Pz10UcM/PQsPJOF6c8 op@test";
const WG_KEY = "M8Wo1Tj0iPiKFpeNwkKkc5SiKcnx98jpk8sHXAh+r3M=";

const tenantShape = fc.record({
  isolation: fc.constantFrom("pooled", "shared", "dedicated"),
  projects: fc.integer({ min: 1, max: 3 }),
  plan: fc.constantFrom("starter", "business", "enterprise"),
  packs: fc.subarray(["msp-ops", "tenant-registry"]),
  release: fc.option(fc.constantFrom("2026.02", "2026.08"), { nil: undefined }),
});

/**
 * Valid fleets of varying shape: 1-4 workers, 1-6 tenants at every isolation
 * level, pooled tenants pointing at a pool, dedicated projects with their own
 * pinned addresses. Names, slots and addresses are derived from positions so
 * they are unique by construction.
 */
export const validFleet: fc.Arbitrary<Doc> = fc
  .record({
    net: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })),
    workers: fc.integer({ min: 1, max: 4 }),
    workerType: fc.constantFrom("ccx43", "ccx53", "ccx63"),
    tenants: fc.array(tenantShape, { minLength: 1, maxLength: 6 }),
    operators: fc.integer({ min: 1, max: 3 }),
    retention: fc.record({ daily: fc.integer({ min: 7, max: 30 }), weekly: fc.integer({ min: 4, max: 12 }), monthly: fc.integer({ min: 6, max: 24 }) }),
    telegram: fc.boolean(),
  })
  .map((g) => {
    const prefix = `10.${g.net[0]}.${g.net[1]}`;
    const workers = Array.from({ length: g.workers }, (_, k) => ({ name: `w${k + 1}`, serverType: g.workerType, address: `${prefix}.${2 + k}` }));
    const shapes = [...g.tenants];
    // A pooled tenant needs a pool; the first tenant hosts it.
    if (shapes.some((t) => t.isolation === "pooled")) shapes[0] = { ...shapes[0]!, isolation: "shared" };
    let slot = 1;
    let dedicated = 0;
    const tenants: Doc[] = shapes.map((t, i) => {
      const tenant: Doc = { slug: `t${i}`, name: `Tenant ${i}`, contact: { name: `Contact ${i}`, email: `c${i}@example.org` }, plan: t.plan, isolation: t.isolation };
      if (t.isolation === "pooled") return { ...tenant, pool: "p0-0" };
      tenant.projects = Array.from({ length: t.projects }, (_, j) => {
        const placement = t.isolation === "dedicated" ? { dedicated: { serverType: "cx33", address: `${prefix}.${100 + dedicated++}` } } : { worker: workers[(i + j) % workers.length]!.name };
        const project: Doc = { name: `p${i}-${j}`, subdomain: `s${i}x${j}`, slot: slot++, placement, schemaPacks: t.packs };
        if (t.release !== undefined) project.release = t.release;
        return project;
      });
      return tenant;
    });
    if (shapes.some((t) => t.isolation === "pooled")) {
      tenants[0]!.projects[0].acceptsPooledTenants = true;
      tenants[0]!.projects[0].schemaPacks = ["msp-ops"];
    }
    const operators = Array.from({ length: g.operators }, (_, k) => ({
      name: `op${k}`,
      email: `op${k}@example.org`,
      sshPublicKey: SSH_KEY,
      sourceRanges: [`198.51.100.${k * 16}/28`],
      ...(k === 0 ? { wireguard: { address: `${prefix}.200`, publicKey: WG_KEY } } : {}),
    }));
    const doc: Doc = {
      "supafleet:domain": "example.org",
      "supafleet:hetzner": { location: "fsn1", image: "debian-13", masterServerType: "cx23" },
      "supafleet:cloudflare": { accountId: "0".repeat(32), zoneId: "1".repeat(32) },
      "supafleet:operators": operators,
      "supafleet:wireguard": { subnet: `${prefix}.0/24` },
      "supafleet:workers": workers,
      "supafleet:supabase": { release: "2026.02" },
      "supafleet:smtp": { host: "smtp.example.org", port: 587, user: "mailer", adminEmail: "admin@example.org", senderName: "Fleet" },
      "supafleet:tenants": tenants,
      "supafleet:backups": { retention: g.retention, storageBox: { type: "bx11", location: "fsn1" } },
      "supafleet:alerting": g.telegram ? { telegram: { chatId: "-100200" } } : { ntfy: { topic: "fleet" } },
    };
    return doc;
  });

export interface Mutation {
  readonly name: string;
  /** Breaks the fleet in one way and returns the path the validator must name. */
  readonly apply: (doc: Doc) => string;
}

const projectsOf = (doc: Doc): { t: number; p: number; project: Doc }[] =>
  doc["supafleet:tenants"].flatMap((tenant: Doc, t: number) => (tenant.projects ?? []).map((project: Doc, p: number) => ({ t, p, project })));

const at = (x: { t: number; p: number }, field: string): string => `tenants[${x.t}].projects[${x.p}].${field}`;

const ensureTwoProjects = (doc: Doc): void => {
  if (projectsOf(doc).length >= 2) return;
  const first = projectsOf(doc)[0]!;
  doc["supafleet:tenants"][first.t].projects.push({ ...structuredClone(first.project), name: "extra", subdomain: "extra", slot: 900 });
};

export const MUTATIONS: readonly Mutation[] = [
  {
    name: "duplicate subdomain",
    apply: (doc) => {
      ensureTwoProjects(doc);
      const [a, b] = projectsOf(doc);
      b!.project.subdomain = a!.project.subdomain;
      return at(b!, "subdomain");
    },
  },
  {
    name: "duplicate slot",
    apply: (doc) => {
      ensureTwoProjects(doc);
      const [a, b] = projectsOf(doc);
      b!.project.slot = a!.project.slot;
      return at(b!, "slot");
    },
  },
  {
    name: "duplicate project name",
    apply: (doc) => {
      ensureTwoProjects(doc);
      const [a, b] = projectsOf(doc);
      b!.project.name = a!.project.name;
      return at(b!, "name");
    },
  },
  { name: "reserved subdomain", apply: (doc) => ((projectsOf(doc)[0]!.project.subdomain = "status"), at(projectsOf(doc)[0]!, "subdomain")) },
  { name: "subdomain not a DNS label", apply: (doc) => ((projectsOf(doc)[0]!.project.subdomain = "Bad_Label"), at(projectsOf(doc)[0]!, "subdomain")) },
  { name: "worker address outside the subnet", apply: (doc) => ((doc["supafleet:workers"][0].address = "192.168.77.7"), "workers[0].address") },
  {
    name: "worker on the hub's address",
    apply: (doc) => {
      doc["supafleet:workers"][0].address = doc["supafleet:wireguard"].subnet.replace(/\.0\/24$/, ".1");
      return "workers[0].address";
    },
  },
  {
    name: "two workers on one address",
    apply: (doc) => {
      const ws = doc["supafleet:workers"];
      ws.push({ name: "wdup", serverType: "cx23", address: ws[0].address });
      return `workers[${ws.length - 1}].address`;
    },
  },
  {
    name: "project on an undeclared worker",
    apply: (doc) => {
      const shared = projectsOf(doc).find((x) => "worker" in x.project.placement);
      if (shared === undefined) {
        const tenants = doc["supafleet:tenants"];
        tenants.push({ slug: "tx", name: "X", contact: { name: "X", email: "x@example.org" }, plan: "starter", isolation: "shared", projects: [{ name: "px", subdomain: "px", slot: 950, placement: { worker: "ghost" } }] });
        return `tenants[${tenants.length - 1}].projects[0].placement.worker`;
      }
      shared.project.placement = { worker: "ghost" };
      return at(shared, "placement.worker");
    },
  },
  {
    name: "pooled tenant with an undeclared pool",
    apply: (doc) => {
      const tenants = doc["supafleet:tenants"];
      tenants.push({ slug: "pooly", name: "Pooly", contact: { name: "P", email: "p@example.org" }, plan: "starter", isolation: "pooled", pool: "ghost" });
      return `tenants[${tenants.length - 1}].pool`;
    },
  },
  { name: "too few daily backups", apply: (doc) => ((doc["supafleet:backups"].retention.daily = 6), "backups.retention.daily") },
  { name: "too few monthly backups", apply: (doc) => ((doc["supafleet:backups"].retention.monthly = 5), "backups.retention.monthly") },
  { name: "password in plain config", apply: (doc) => ((doc["supafleet:smtp"].password = "hunter2"), "smtp.password") },
  { name: "SSH open to the internet", apply: (doc) => ((doc["supafleet:operators"][0].sourceRanges = ["0.0.0.0/0"]), "operators[0].sourceRanges[0]") },
  {
    name: "worker too small for its projects",
    apply: (doc) => {
      const shared = projectsOf(doc).find((x) => "worker" in x.project.placement);
      if (shared === undefined) {
        doc["supafleet:tenants"][0].projects[0].placement.dedicated.serverType = "cpx12";
        return "tenants[0].projects[0].placement.dedicated.serverType";
      }
      const i = doc["supafleet:workers"].findIndex((w: Doc) => w.name === shared.project.placement.worker);
      doc["supafleet:workers"][i].serverType = "cpx12";
      return `workers[${i}].serverType`;
    },
  },
  { name: "misspelled key", apply: (doc) => ((doc["supafleet:hetzner"].locaton = "fsn1"), "hetzner.locaton") },
  {
    name: "duplicate tenant slug",
    apply: (doc) => {
      const tenants = doc["supafleet:tenants"];
      tenants.push({ ...structuredClone(tenants[0]), projects: [], isolation: "pooled", pool: "p0-0" });
      return `tenants[${tenants.length - 1}].slug`;
    },
  },
];

import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { readableColumns, writableColumns } from "../../src/rls/generate";
import { PACKS, projectMigrations } from "../../src/rls/migrations";
import type { Table, View } from "../../src/rls/model";
import { tenantUuid } from "../../src/rls/tenants";
import { insertRow, sampleRow, seed, visibleTo, type SeededRow } from "../helpers/rlsData";
import { asRequest, SupabaseTestDb, type Claims } from "../helpers/supabaseDb";

/**
 * The model is the oracle: for thousands of generated requests (tenants,
 * users, roles, tables, views, actions), what PostgreSQL lets through must be
 * exactly what the policy model allows. A request that gets more than the
 * model allows is a leak; one that gets less is a wrongful denial.
 */
const packs = [PACKS["msp-ops"], PACKS["tenant-registry"]];
const TENANTS = ["t0", "t1", "t2", "t3"].map(tenantUuid);
const tables: Table[] = packs.flatMap((p) => p.tables);
const views: View[] = packs.flatMap((p) => p.views);
const RUNS = Number(process.env.RLS_PROPERTY_RUNS ?? 5000);

const db = new SupabaseTestDb();
let su: pg.Client;
let api: pg.Client;
let rows: SeededRow[];
/** Auth users that have no profile row yet, per tenant: what a service_role insert into users needs. */
const spareUsers = new Map<string, string[]>();

beforeAll(async () => {
  await db.start();
  db.applyBundle(renderMigrationBundle(projectMigrations(["msp-ops", "tenant-registry"], [])));
  su = await db.superuser();
  rows = await seed(su, packs, TENANTS, 3);
  for (const t of TENANTS) {
    const ids = Array.from({ length: 3 }, () => randomUUID());
    for (const id of ids) await su.query("insert into auth.users (id, email) values ($1, $2)", [id, `${id}@example.org`]);
    spareUsers.set(t, ids);
  }
  api = await db.authenticator();
}, 120_000);

afterAll(async () => {
  await api?.end();
  await su?.end();
  db.stop();
});

type Actor =
  | { kind: "user"; tenant: number; self: boolean }
  | { kind: "no-tenant"; self: boolean }
  | { kind: "anon" }
  | { kind: "auditor" }
  | { kind: "service" };
type Action = "select" | "insert" | "update" | "delete";
interface Op {
  actor: Actor;
  object: { table: Table } | { view: View };
  action: Action;
  target: number;
  pick: number;
}

type Outcome = { kind: "count"; n: number } | { kind: "denied" } | { kind: "integrity" };

function claimsOf(actor: Actor, sub: string): { role: string; claims: Claims } {
  switch (actor.kind) {
    case "user":
      return { role: "authenticated", claims: { sub, role: "authenticated", tenant_id: TENANTS[actor.tenant], app_metadata: { tenant_id: TENANTS[actor.tenant] } } };
    case "no-tenant":
      return { role: "authenticated", claims: { sub, role: "authenticated", app_metadata: {}, user_metadata: { tenant_id: TENANTS[0] } } };
    case "anon":
      return { role: "anon", claims: { role: "anon" } };
    case "auditor":
      return { role: "auditor", claims: { sub, role: "auditor" } };
    case "service":
      return { role: "service_role", claims: { role: "service_role" } };
  }
}

const ownRows = (t: Table, tenant: string): SeededRow[] => rows.filter((r) => r.table === t.name && (t.scope === "global" || r.tenant === tenant));
const tableNamed = (name: string): Table | undefined => tables.find((x) => x.name === name);

/** The owner of a tenant (seed 001's tenants.owner_id), or none. */
const ownerOf = (tenant: string): string | undefined => {
  const t = tables.find((x) => x.owner !== undefined);
  const row = rows.find((r) => r.table === t?.name && r.tenant === tenant);
  return row?.values[t!.owner!.column] as string | undefined;
};

/** Whether a view's rows are its owner table's rows (v_tenant_overview: one per tenant), which that table's owner policy shows. */
const viewOfOwnerTable = (v: View): boolean => tableNamed(v.reads[0]!)?.owner !== undefined;

/** The oracle's own reading of a global table's visibility: shared rows, the tenant's private ones, and followers of a visible parent. */
function visibleGlobalSql(t: Table): string {
  if (t.privateTo !== undefined) return `select count(*) as n from public.${t.name} where ${t.privateTo} is null or ${t.privateTo} = $1`;
  if (t.visibleWith !== undefined) {
    const parent = tableNamed(t.visibleWith.table)!;
    return `select count(*) as n from public.${t.name} c join public.${parent.name} p on p.id = c.${t.visibleWith.column} where p.${parent.privateTo} is null or p.${parent.privateTo} = $1`;
  }
  return `select count(*) as n from public.${t.name} where $1::uuid is not null`;
}

/**
 * The row an insert writes, picked from the op alone so that the oracle and
 * the request agree. A parent in a global table may be any of its rows,
 * another tenant's private one included.
 */
const insertValues = new WeakMap<Op, Record<string, unknown>>();
function valuesFor(op: Op, t: Table): Record<string, unknown> {
  const known = insertValues.get(op);
  if (known !== undefined) return known;
  const target = TENANTS[op.target]!;
  const pick = (parent: string, tenant: string | undefined): SeededRow => {
    const candidates = rows.filter((r) => r.table === parent && (tenant === undefined || r.tenant === tenant));
    return candidates[op.pick % candidates.length]!;
  };
  const authUser = t.references.some((r) => r.external) ? spareUsers.get(target)![op.pick % 3] : undefined;
  if (t.owner !== undefined && op.actor.kind !== "service") {
    // Seed 001's self-service: a user names the tenant, its contact and its owner (a user who owns none yet).
    const own = Object.fromEntries(t.owner.insertColumns.map((c) => [c, c === t.owner!.column ? authUser : `${c}-${op.pick}@example.org`]));
    insertValues.set(op, own);
    return own;
  }
  const values = sampleRow(t, target, pick, authUser);
  if (t.scopeColumn === "id") values.id = randomUUID();
  if ("slug" in values) values.slug = `n-${randomUUID().slice(0, 8)}`;
  insertValues.set(op, values);
  return values;
}

/** Whether every global row this insert points at is one the acting tenant may see. */
function referencesVisible(t: Table, values: Record<string, unknown>, tenant: string): boolean {
  return t.references.every((r) => {
    const parent = tableNamed(r.table);
    if (r.external || parent?.scope !== "global") return true;
    const row = rows.find((x) => x.table === r.table && x.id === values[r.columns[0]!]);
    return row === undefined || visibleTo(row, tenant);
  });
}

/** The column an update sets to itself: one the acting role may write. */
function updateColumn(t: Table): string {
  const candidates = writableColumns(t).filter((c) => c !== t.scopeColumn && c !== t.selfColumn && !t.writeOnlyColumns.includes(c));
  return candidates[0] ?? "id";
}

async function truthCount(sql: string, params: unknown[]): Promise<number> {
  return Number((await su.query(sql, params)).rows[0].n);
}

/** What the policy model says this request may do. */
async function expected(op: Op): Promise<Outcome> {
  const target = TENANTS[op.target]!;
  const a = op.actor;
  const ownTarget = a.kind === "user" && a.tenant === op.target;
  if ("view" in op.object) {
    if (a.kind === "anon") return { kind: "denied" };
    const n = await truthCount(`select count(*) as n from public.${op.object.view.name} where tenant_id = $1`, [target]);
    if (a.kind === "service" || a.kind === "auditor" || ownTarget) return { kind: "count", n };
    // An owner with no tenant claim yet sees their tenant's row, with nothing of its children.
    if (a.kind === "no-tenant" && a.self && viewOfOwnerTable(op.object.view)) return { kind: "count", n };
    return { kind: "count", n: 0 };
  }
  const t = op.object.table;
  const where = t.scope === "tenant" ? `where ${t.scopeColumn} = $1` : "";
  const params = t.scope === "tenant" ? [target] : [];
  // A service table: service_role does anything, every other role is refused outright.
  if (t.scope === "service") {
    if (a.kind !== "service") return { kind: "denied" };
    return { kind: "count", n: op.action === "select" ? await truthCount(`select count(*) as n from public.${t.name}`, []) : 1 };
  }
  if (op.action === "select") {
    const all = await truthCount(`select count(*) as n from public.${t.name} ${where}`, params);
    if (a.kind === "service" || a.kind === "auditor") return { kind: "count", n: all };
    if (a.kind === "anon") {
      // anon may not even name the tenant column; it reads the public rows of every tenant.
      if (t.anonRead === undefined) return { kind: "denied" };
      return { kind: "count", n: await truthCount(`select count(*) as n from public.${t.name} where ${t.anonRead.where}`, []) };
    }
    if (a.kind === "no-tenant") return { kind: "count", n: t.owner !== undefined && a.self ? all : 0 };
    if (t.scope === "global") return { kind: "count", n: await truthCount(visibleGlobalSql(t), [TENANTS[a.tenant]]) };
    return { kind: "count", n: ownTarget ? all : 0 };
  }
  if (a.kind === "service") return { kind: "count", n: 1 };
  if (a.kind === "anon" || a.kind === "auditor") return { kind: "denied" };
  // Seed 001's "Users can create tenants": only a user with no tenant claim, for themselves.
  if (t.owner !== undefined && op.action === "insert") return a.kind === "no-tenant" && a.self ? { kind: "count", n: 1 } : { kind: "denied" };
  const canWrite = t.scope === "tenant" && (t.tenantWrites === "all" || (t.tenantWrites === "self" && op.action === "update"));
  if (!canWrite) return { kind: "denied" };
  if (op.action === "insert") {
    const allowed = a.kind === "user" && ownTarget && t.tenantWrites === "all" && referencesVisible(t, valuesFor(op, t), target);
    return allowed ? { kind: "count", n: 1 } : { kind: "denied" };
  }
  if (a.kind === "no-tenant" || !ownTarget) return { kind: "count", n: 0 };
  if (t.tenantWrites === "self") return { kind: "count", n: a.self ? 1 : 0 };
  return { kind: "count", n: 1 };
}

/**
 * Who makes the request. A "self" actor is the row's own user (a profile's
 * user, a tenant's owner); for an insert into the tenants table, the owner it
 * names; anyone else is a stranger to it.
 */
function subOf(op: Op, row: SeededRow | undefined): string {
  const a = op.actor;
  if ((a.kind !== "user" && a.kind !== "no-tenant") || !a.self) return randomUUID();
  if ("view" in op.object) return ownerOf(TENANTS[op.target]!) ?? randomUUID();
  const t = op.object.table;
  if (t.owner !== undefined) return String(op.action === "insert" ? valuesFor(op, t)[t.owner.column] : row?.values[t.owner.column]);
  return row?.id ?? randomUUID();
}

/** Runs the request as PostgREST would and reports what happened. */
async function observed(op: Op): Promise<Outcome> {
  const target = TENANTS[op.target]!;
  const candidates = "table" in op.object ? ownRows(op.object.table, target) : [];
  const row = candidates[op.pick % Math.max(candidates.length, 1)];
  const sub = subOf(op, row);
  const { role, claims } = claimsOf(op.actor, sub);
  try {
    return await asRequest(api, role, claims, async (c) => {
      if ("view" in op.object) {
        return { kind: "count", n: Number((await c.query(`select count(*) as n from public.${op.object.view.name} where tenant_id = $1`, [target])).rows[0].n) } as Outcome;
      }
      const t = op.object.table;
      if (op.action === "select") {
        const where = t.scope === "tenant" && op.actor.kind !== "anon" ? `where ${t.scopeColumn} = $1` : "";
        return { kind: "count", n: Number((await c.query(`select count(*) as n from public.${t.name} ${where}`, where === "" ? [] : [target])).rows[0].n) } as Outcome;
      }
      if (op.action === "insert") {
        await insertRow(c, t.name, valuesFor(op, t));
        return { kind: "count", n: 1 } as Outcome;
      }
      const col = updateColumn(t);
      const sql = op.action === "update" ? `update public.${t.name} set ${col} = ${col} where id = $1 returning id` : `delete from public.${t.name} where id = $1 returning id`;
      return { kind: "count", n: (await c.query(sql, [row!.id])).rowCount ?? 0 } as Outcome;
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "42501") return { kind: "denied" };
    if (code === "23503") return { kind: "integrity" };
    throw e;
  }
}

const actor: fc.Arbitrary<Actor> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("user" as const), tenant: fc.integer({ min: 0, max: TENANTS.length - 1 }), self: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("no-tenant" as const), self: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "anon" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "auditor" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "service" as const }) },
);

const op: fc.Arbitrary<Op> = fc.record({
  actor,
  object: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...tables).map((table) => ({ table })) }, { weight: 1, arbitrary: fc.constantFrom(...views).map((view) => ({ view })) }),
  action: fc.constantFrom<Action>("select", "insert", "update", "delete"),
  target: fc.integer({ min: 0, max: TENANTS.length - 1 }),
  pick: fc.nat(),
}).map((o) => ("view" in o.object ? { ...o, action: "select" as const } : o));

describe("row-level security against the model, on PostgreSQL 15", () => {
  it(`lets through exactly what the model allows, over ${RUNS} generated requests: 0 leaks`, async () => {
    const tally = { runs: 0, leaks: 0, denials: 0, allowed: 0, refused: 0, hidden: 0 };
    const describeOp = (o: Op): string => `${JSON.stringify(o.actor)} ${o.action} ${"table" in o.object ? o.object.table.name : o.object.view.name} of tenant ${o.target}`;
    await fc.assert(
      fc.asyncProperty(op, async (o) => {
        tally.runs++;
        const want = await expected(o);
        // How the requests split: allowed with rows, refused outright, or allowed but seeing/changing nothing.
        if (want.kind === "denied") tally.refused++;
        else if (want.kind === "count" && want.n > 0) tally.allowed++;
        else tally.hidden++;
        const got = await observed(o);
        // Referential integrity may refuse an allowed delete; that is neither a leak nor a policy denial.
        if (got.kind === "integrity" && want.kind === "count" && want.n > 0) return;
        const leak = got.kind === "integrity" || (got.kind === "count" && (want.kind === "denied" || (want.kind === "count" && got.n > want.n)));
        if (leak) tally.leaks++;
        else if (JSON.stringify(got) !== JSON.stringify(want)) tally.denials++;
        expect(got, describeOp(o)).toEqual(want);
      }),
      { numRuns: RUNS, seed: Number(process.env.RLS_PROPERTY_SEED ?? 20261125) },
    );
    process.stdout.write(
      `RLS property test: ${tally.runs} requests (${tally.allowed} allowed with rows, ${tally.refused} refused, ${tally.hidden} seeing or changing nothing): ${tally.leaks} leaks, ${tally.denials} wrongful denials\n`,
    );
    expect(tally.runs).toBeGreaterThanOrEqual(5000);
    expect(tally.leaks).toBe(0);
  }, 600_000);
});

describe("api_credentials secrets", () => {
  const user = (tenant: string): Claims => ({ sub: randomUUID(), role: "authenticated", tenant_id: tenant });
  const provider = (): SeededRow => rows.find((r) => r.table === "api_providers")!;

  it("are stored encrypted, and no tenant user or auditor can read them back in any form", async () => {
    const t = TENANTS[1]!;
    const id = await asRequest(api, "authenticated", user(t), async (c) => {
      const res = await c.query("insert into public.api_credentials (tenant_id, provider_id, name, secret_plaintext) values ($1, $2, 'stripe', 'sk_live_verysecret1234') returning id, last_four", [t, provider().id]);
      expect(res.rows[0].last_four).toBe("1234");
      await c.query("commit");
      await c.query("begin");
      return res.rows[0].id as string;
    });
    const stored = (await su.query("select secret_plaintext, secret_ciphertext from public.api_credentials where id = $1", [id])).rows[0];
    expect(stored.secret_plaintext).toBeNull();
    expect(Buffer.from(stored.secret_ciphertext).toString("latin1")).not.toContain("verysecret");

    for (const [role, claims] of [["authenticated", user(t)], ["auditor", { role: "auditor" }]] as const) {
      for (const sql of [
        "select secret_ciphertext from public.api_credentials",
        "select secret_plaintext from public.api_credentials",
        "select * from public.api_credentials",
        `select supafleet.api_credential_secret('${id}')`,
        "select decrypted_secret from vault.decrypted_secrets",
        "select supafleet.api_credentials_key()",
      ]) {
        await expect(asRequest(api, role, claims, (c) => c.query(sql)), `${role}: ${sql}`).rejects.toMatchObject({ code: "42501" });
      }
      const visible = await asRequest(api, role, claims, (c) => c.query(`select ${readableColumns(PACKS["tenant-registry"].tables.find((x) => x.name === "api_credentials")!).join(", ")} from public.api_credentials where id = $1`, [id]));
      expect(visible.rows.length).toBe(1);
    }
    const secret = await asRequest(api, "service_role", { role: "service_role" }, (c) => c.query("select supafleet.api_credential_secret($1) as s", [id]));
    expect(secret.rows[0].s).toBe("sk_live_verysecret1234");
    await expect(asRequest(api, "service_role", { role: "service_role" }, (c) => c.query("select supafleet.api_credentials_key()"))).rejects.toMatchObject({ code: "42501" });
  });

  it("are encrypted with AES-256, under a key kept in Vault that appears nowhere in a dump of the database", async () => {
    const t = TENANTS[2]!;
    await su.query("insert into public.api_credentials (tenant_id, provider_id, name, secret_plaintext) values ($1, $2, 'aes', 'sk_live_aes256check')", [t, provider().id]);
    const stored: Buffer = (await su.query("select secret_ciphertext from public.api_credentials where name = 'aes'")).rows[0].secret_ciphertext;
    // OpenPGP (RFC 4880 §5.3): a symmetric-key session key packet, version 4, then the cipher; 9 is AES-256, 7 AES-128.
    expect(sessionKeyPacket(stored)).toEqual({ tag: 3, version: 4, cipher: 9 });
    const key: string = (await su.query("select decrypted_secret from vault.decrypted_secrets where name = 'supafleet_api_credentials'")).rows[0].decrypted_secret;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const dump = execFileSync("pg_dump", ["--no-owner", "-d", "postgres"], { encoding: "utf8", env: { ...process.env, ...db.pg.conn().env }, maxBuffer: 256 * 1024 * 1024 });
    expect(dump).toContain("supafleet_api_credentials");
    expect(dump).not.toContain(key);
  });
});

describe("private API providers (seed 002: api_providers.tenant_id)", () => {
  const user = (tenant: string): Claims => ({ sub: randomUUID(), role: "authenticated", tenant_id: tenant });
  const [mine, theirs] = [TENANTS[0]!, TENANTS[1]!];
  let provider: string;
  let endpoint: string;

  beforeAll(async () => {
    provider = (await su.query("insert into public.api_providers (tenant_id, name, base_url, public) values ($1, 'erp-interno', 'https://erp.example.org', false) returning id", [mine])).rows[0].id;
    endpoint = (await su.query("insert into public.api_endpoints (provider_id, method, path, semantic_name) values ($1, 'GET', '/orders', 'list_orders') returning id", [provider])).rows[0].id;
  });

  it("are seen, with their endpoints, by their own tenant only", async () => {
    const count = (tenant: string, sql: string, id: string): Promise<number> => asRequest(api, "authenticated", user(tenant), async (c) => (await c.query(sql, [id])).rowCount ?? 0);
    expect(await count(mine, "select id from public.api_providers where id = $1", provider)).toBe(1);
    expect(await count(mine, "select id from public.api_endpoints where id = $1", endpoint)).toBe(1);
    expect(await count(theirs, "select id from public.api_providers where id = $1", provider)).toBe(0);
    expect(await count(theirs, "select id from public.api_endpoints where id = $1", endpoint)).toBe(0);
  });

  it("cannot be the target of another tenant's credential or capability, even by id", async () => {
    const attach = (tenant: string, sql: string, id: string): Promise<unknown> => asRequest(api, "authenticated", user(tenant), (c) => c.query(sql, [tenant, id]));
    const credential = "insert into public.api_credentials (tenant_id, provider_id, name, secret_plaintext) values ($1, $2, 'x', 'secret-1234')";
    const capability = "insert into public.mcp_capabilities (tenant_id, name, backing_endpoint_id) values ($1, 'orders', $2)";
    await expect(attach(theirs, credential, provider)).rejects.toMatchObject({ code: "42501" });
    await expect(attach(theirs, capability, endpoint)).rejects.toMatchObject({ code: "42501" });
    await expect(attach(mine, credential, provider)).resolves.toBeDefined();
    await expect(attach(mine, capability, endpoint)).resolves.toBeDefined();
  });

  it("are never listed to anon, even when marked public", async () => {
    await su.query("update public.api_providers set public = true where id = $1", [provider]);
    try {
      const listed = await asRequest(api, "anon", { role: "anon" }, async (c) => (await c.query("select id from public.api_providers where id = $1", [provider])).rowCount);
      expect(listed).toBe(0);
    } finally {
      await su.query("update public.api_providers set public = false where id = $1", [provider]);
    }
  });
});

/** The first OpenPGP packet's tag, and for a symmetric-key session key packet its version and cipher. */
function sessionKeyPacket(b: Buffer): { tag: number; version: number; cipher: number } {
  const first = b[0]!;
  if ((first & 0x80) === 0) throw new Error("not an OpenPGP packet");
  if (first & 0x40) {
    // New format: one length octet below 192, two below 224.
    const lengthOctets = b[1]! < 192 ? 1 : 2;
    return { tag: first & 0x3f, version: b[1 + lengthOctets]!, cipher: b[2 + lengthOctets]! };
  }
  const lengthOctets = [1, 2, 4, 0][first & 3]!;
  return { tag: (first >> 2) & 0x0f, version: b[1 + lengthOctets]!, cipher: b[2 + lengthOctets]! };
}

import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { readableColumns, writableColumns } from "../../src/rls/generate";
import { PACKS, projectMigrations } from "../../src/rls/migrations";
import type { Table, View } from "../../src/rls/model";
import { tenantUuid } from "../../src/rls/tenants";
import { insertRow, sampleRow, seed, type SeededRow } from "../helpers/rlsData";
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
  | { kind: "no-tenant" }
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
    if (a.kind === "no-tenant") return { kind: "count", n: 0 };
    return { kind: "count", n: t.scope === "global" || ownTarget ? all : 0 };
  }
  if (a.kind === "service") return { kind: "count", n: 1 };
  if (a.kind === "anon" || a.kind === "auditor") return { kind: "denied" };
  const canWrite = t.scope === "tenant" && (t.tenantWrites === "all" || (t.tenantWrites === "self" && op.action === "update"));
  if (!canWrite) return { kind: "denied" };
  if (op.action === "insert") return a.kind === "user" && ownTarget && t.tenantWrites === "all" ? { kind: "count", n: 1 } : { kind: "denied" };
  if (a.kind === "no-tenant" || !ownTarget) return { kind: "count", n: 0 };
  if (t.tenantWrites === "self") return { kind: "count", n: a.self ? 1 : 0 };
  return { kind: "count", n: 1 };
}

/** Runs the request as PostgREST would and reports what happened. */
async function observed(op: Op): Promise<Outcome> {
  const target = TENANTS[op.target]!;
  const candidates = "table" in op.object ? ownRows(op.object.table, target) : [];
  const row = candidates[op.pick % Math.max(candidates.length, 1)];
  // A "self" user is the row's own user; anyone else is a stranger to it.
  const sub = op.actor.kind === "user" && op.actor.self && row !== undefined ? row.id : randomUUID();
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
        const pick = (parent: string, tenant: string | undefined): SeededRow => rows.find((r) => r.table === parent && (tenant === undefined || r.tenant === tenant))!;
        const authUser = t.references.some((r) => r.external) ? spareUsers.get(target)![op.pick % 3] : undefined;
        const values = sampleRow(t, target, pick, authUser);
        if (t.scopeColumn === "id") values.id = randomUUID();
        if ("slug" in values) values.slug = `n-${randomUUID().slice(0, 8)}`;
        await insertRow(c, t.name, values);
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
  { weight: 1, arbitrary: fc.constant({ kind: "no-tenant" as const }) },
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
        "select key from supafleet.keys",
      ]) {
        await expect(asRequest(api, role, claims, (c) => c.query(sql)), `${role}: ${sql}`).rejects.toMatchObject({ code: "42501" });
      }
      const visible = await asRequest(api, role, claims, (c) => c.query(`select ${readableColumns(PACKS["tenant-registry"].tables.find((x) => x.name === "api_credentials")!).join(", ")} from public.api_credentials where id = $1`, [id]));
      expect(visible.rows.length).toBe(1);
    }
    const secret = await asRequest(api, "service_role", { role: "service_role" }, (c) => c.query("select supafleet.api_credential_secret($1) as s", [id]));
    expect(secret.rows[0].s).toBe("sk_live_verysecret1234");
  });
});

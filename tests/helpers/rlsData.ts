import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Column, Pack, Table } from "../../src/rls/model";

/** Values for columns whose CHECK a generic value would not pass. */
const FIXED: Record<string, (n: number) => unknown> = {
  slug: (n) => `tenant-${n}`,
  domain: (n) => `d${n}.example.org`,
  method: () => "GET",
  email: (n) => `user${n}@example.org`,
  secret_plaintext: (n) => `secret-value-${n}`,
  prioridad: (n) => ["baja", "media", "alta", "critica"][n % 4],
  estado: () => undefined,
  severidad: () => undefined,
  rol: () => undefined,
  status: () => undefined,
  // A reference to another table's row, which a random id would not be.
  backing_endpoint_id: () => null,
  rut: (n) => `${n}.111.111-1`,
  contact_email: (n) => `contact${n}@example.org`,
  primary_domain: (n) => `p${n}.example.org`,
  domain_type: () => undefined,
  category: () => undefined,
  // A tenant's owner is made with it (seed()), or there is none.
  owner_id: () => null,
  trial_hours: (n) => 1 + (n % 48),
};

export interface SeededRow {
  readonly table: string;
  readonly id: string;
  readonly tenant?: string;
  /** A global row private to one tenant, directly (privateTo) or through its parent (visibleWith). */
  readonly owner?: string;
  readonly values: Record<string, unknown>;
}

/** Picks a parent row of `table`: of `tenant` when the parent is tenant-scoped, and one `viewer` may see. */
export type Pick = (table: string, tenant: string | undefined, viewer?: string) => SeededRow;

/** Whether a tenant's users see this row of a global table. */
export const visibleTo = (row: SeededRow, tenant: string | undefined): boolean => row.owner === undefined || row.owner === tenant;

let counter = 0;

function valueFor(c: Column): unknown {
  const n = ++counter;
  if (c.name in FIXED) return FIXED[c.name]!(n);
  if (c.name === "public") return n % 2 === 0;
  if (c.default !== undefined) return undefined;
  if (c.nullable && n % 3 === 0) return null;
  if (c.type === "uuid") return randomUUID();
  if (c.type === "text") return `${c.name}-${n}`;
  if (c.type === "integer") return n % 7;
  if (c.type.startsWith("numeric")) return (n % 100) + 0.5;
  if (c.type === "timestamptz") return new Date(Date.UTC(2026, 0, 1) + (n % 90) * 86_400_000).toISOString();
  if (c.type === "date") return "2026-01-01";
  if (c.type === "boolean") return n % 2 === 0;
  if (c.type === "jsonb") return {};
  if (c.type === "bytea") return null;
  throw new Error(`no sample for ${c.name} ${c.type}`);
}

/** Pack tables ordered so every parent comes before its children. */
export function dependencyOrder(pack: Pack): Table[] {
  const done = new Set<string>();
  const out: Table[] = [];
  const visit = (t: Table): void => {
    if (done.has(t.name)) return;
    done.add(t.name);
    for (const r of t.references) if (!r.external) visit(pack.tables.find((x) => x.name === r.table)!);
    out.push(t);
  };
  pack.tables.forEach(visit);
  return out;
}

/**
 * A row for `table` owned by `tenant`, referencing parents of the same
 * tenant (or global parents). Values pass the table's CHECKs.
 */
export function sampleRow(table: Table, tenant: string | undefined, pick: Pick, authUser?: string): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of table.columns) {
    // An id the table makes itself (a default, an identity); a plan's id is its name, given here.
    const madeByTable = c.default !== undefined || c.type.includes("generated");
    if (c.name === "id" && table.scopeColumn !== "id" && authUser === undefined && madeByTable) continue;
    // A service table's tenant column (where it has one) holds a tenant too, which its references share.
    if (table.scope !== "global" && c.name === table.scopeColumn) row[c.name] = tenant;
    else if (c.name === "id" && authUser !== undefined) row.id = authUser;
    else if (!table.secretColumns.includes(c.name)) {
      const v = valueFor(c);
      if (v !== undefined) row[c.name] = v;
    }
  }
  for (const r of table.references) {
    if (r.external) continue;
    const parentIsTenantScoped = r.parentColumns[0] === "tenant_id" || (r.table === "tenants" && r.parentColumns[0] === "id");
    // A tenant's row points at global rows that tenant sees: never at another tenant's private entry.
    const parent = pick(r.table, parentIsTenantScoped ? tenant : undefined, table.scope === "global" ? undefined : tenant);
    r.columns.forEach((col, i) => {
      if (col !== table.scopeColumn) row[col] = parent.values[r.parentColumns[i]!] ?? (r.parentColumns[i] === "id" ? parent.id : undefined);
    });
  }
  return row;
}

export async function insertRow(client: pg.Client, table: string, row: Record<string, unknown>): Promise<string> {
  const cols = Object.keys(row);
  const sql = `insert into public.${table} (${cols.join(", ")}) values (${cols.map((_, i) => `$${i + 1}`).join(", ")}) returning id`;
  const res = await client.query(sql, cols.map((c) => (row[c] !== null && typeof row[c] === "object" ? JSON.stringify(row[c]) : row[c])));
  return res.rows[0].id as string;
}

/**
 * Seeds every table of the packs for each tenant (and the global tables
 * once), as the superuser, and returns what it wrote.
 */
export async function seed(client: pg.Client, packs: readonly Pack[], tenants: readonly string[], perTenant = 3): Promise<SeededRow[]> {
  const rows: SeededRow[] = [];
  const pick: Pick = (table, tenant, viewer) => {
    const candidates = rows.filter((r) => r.table === table && (tenant === undefined || r.tenant === tenant) && (viewer === undefined || visibleTo(r, viewer)));
    if (candidates.length === 0) throw new Error(`no ${table} row for tenant ${tenant}`);
    return candidates[(++counter) % candidates.length]!;
  };
  for (const pack of packs) {
    for (const table of dependencyOrder(pack)) {
      if (table.scope === "global") {
        for (let i = 0; i < perTenant * 2; i++) {
          const values = sampleRow(table, undefined, pick);
          let owner: string | undefined;
          // Half shared, half private to one tenant or another.
          if (table.privateTo !== undefined) {
            owner = i % 2 === 0 ? undefined : tenants[i % tenants.length];
            values[table.privateTo] = owner ?? null;
          }
          if (table.visibleWith !== undefined) owner = rows.find((r) => r.id === values[table.visibleWith!.column])?.owner;
          rows.push({ table: table.name, id: await insertRow(client, table.name, values), owner, values });
        }
        continue;
      }
      for (const tenant of tenants) {
        if (table.scopeColumn === "id") {
          // The tenants table: one row per tenant, whose id is the tenant. The project's own tenants are there
          // already (the registry seed migration), so the sample replaces them.
          const values: Record<string, unknown> = { ...sampleRow(table, tenant, pick), id: tenant };
          if (table.owner !== undefined) {
            // Its owner, a user of the tenant (seed 001's owner_id).
            const owner = randomUUID();
            await client.query("insert into auth.users (id, email, raw_app_meta_data) values ($1, $2, $3)", [owner, `${owner}@example.org`, { tenant_id: tenant }]);
            values[table.owner.column] = owner;
          }
          await client.query(`delete from public.${table.name} where id = $1`, [tenant]);
          rows.push({ table: table.name, id: await insertRow(client, table.name, values), tenant, values });
          continue;
        }
        for (let i = 0; i < perTenant; i++) {
          let authUser: string | undefined;
          if (table.references.some((r) => r.external && r.table === "auth.users")) {
            authUser = randomUUID();
            await client.query("insert into auth.users (id, email, raw_app_meta_data) values ($1, $2, $3)", [authUser, `${authUser}@example.org`, { tenant_id: tenant }]);
          }
          const values = sampleRow(table, tenant, pick, authUser);
          rows.push({ table: table.name, id: await insertRow(client, table.name, values), tenant, values: { ...values, id: authUser ?? values.id } });
        }
      }
    }
  }
  return rows;
}

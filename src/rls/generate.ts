import type { Migration } from "./bundle";
import type { Column, Pack, Table, View } from "./model";

/**
 * SQL from the policy model. Every statement is idempotent (if not exists,
 * create or replace, drop-then-create inside the migration's transaction), so
 * a migration can be applied again after it changes.
 */

/** A SQL string literal. */
export const sqlLiteral = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const q = sqlLiteral;
const TENANT = "(select supafleet.tenant_id())";
const UID = "(select auth.uid())";

function columnDef(c: Column): string {
  return [c.name, c.type, c.nullable ? "" : "not null", c.default !== undefined ? `default ${c.default}` : "", c.check !== undefined ? `check (${c.check})` : ""]
    .filter(Boolean)
    .join(" ");
}

/** Adds a named constraint only if it is not there yet (Postgres has no IF NOT EXISTS for constraints). */
function addConstraint(table: string, name: string, body: string): string {
  return `do $$ begin
  if not exists (select 1 from pg_constraint where conname = ${q(name)} and conrelid = 'public.${table}'::regclass) then
    alter table public.${table} add constraint ${name} ${body};
  end if;
end $$;`;
}

const constraintName = (table: string, cols: readonly string[], suffix: string): string => `${table}_${cols.join("_")}_${suffix}`.slice(0, 63);

export function tableSql(t: Table): string {
  const out = [
    `create table if not exists public.${t.name} (\n  ${t.columns.map(columnDef).join(",\n  ")},\n  primary key (id)\n);`,
    // New columns in a later version of the pack reach existing tables too.
    ...t.columns.map((c) => `alter table public.${t.name} add column if not exists ${columnDef(c)};`),
    `comment on table public.${t.name} is ${q(t.comment)};`,
  ];
  // (tenant, id) is what children reference, and an index that leads with the tenant.
  const uniques = t.scope === "tenant" && t.scopeColumn !== "id" ? [[t.scopeColumn, "id"], ...t.unique] : t.unique;
  for (const u of uniques) {
    // A shared row (owner null) is unique among shared rows, a private one within its tenant.
    const nulls = t.privateTo !== undefined && u.includes(t.privateTo) ? "nulls not distinct " : "";
    out.push(addConstraint(t.name, constraintName(t.name, u, "key"), `unique ${nulls}(${u.join(", ")})`));
  }
  for (const r of t.references) {
    const parent = r.external ? r.table : `public.${r.table}`;
    // Setting the tenant column to null would break the row; null only the reference itself.
    const setNull = r.onDelete === "set null" ? `set null (${r.columns.filter((c) => c !== t.scopeColumn).join(", ")})` : r.onDelete;
    out.push(addConstraint(t.name, constraintName(t.name, r.columns, "fkey"), `foreign key (${r.columns.join(", ")}) references ${parent} (${r.parentColumns.join(", ")}) on delete ${setNull}`));
  }
  for (const ix of t.indexes) out.push(`create index if not exists ${constraintName(t.name, ix, "idx")} on public.${t.name} (${ix.join(", ")});`);
  return out.join("\n");
}

/** Columns a role may read: never secret or write-only ones. */
export function readableColumns(t: Table): string[] {
  return t.columns.map((c) => c.name).filter((c) => !t.secretColumns.includes(c) && !t.writeOnlyColumns.includes(c));
}

/** Columns a tenant's user may write: not the id, not a secret, not a privilege. */
export function writableColumns(t: Table): string[] {
  return t.columns.map((c) => c.name).filter((c) => c !== "id" && !t.secretColumns.includes(c) && !t.privilegeColumns.includes(c));
}

interface PolicySpec {
  readonly name: string;
  readonly command: "select" | "insert" | "update" | "delete";
  readonly role: "anon" | "authenticated" | "auditor";
  readonly using?: string;
  readonly check?: string;
}

/** Whether a table's rows can be hidden from some tenants, so that a reference to one must be checked. */
const restricted = (t: Table | undefined): boolean => t !== undefined && (t.privateTo !== undefined || t.visibleWith !== undefined);

/** Who may see a global row: a signed-in user with a tenant, for a private row only its tenant, for a follower only where its parent is seen. */
function globalRead(t: Table): string {
  const parts = [`${TENANT} is not null`];
  if (t.privateTo !== undefined) parts.push(`(${t.privateTo} is null or ${t.privateTo} = ${TENANT})`);
  // The parent's own policies apply inside the subquery: it answers only for rows this user sees.
  if (t.visibleWith !== undefined) parts.push(`exists (select 1 from public.${t.visibleWith.table} p where p.id = ${t.name}.${t.visibleWith.column})`);
  return parts.join(" and ");
}

/** A tenant's row may point only at global rows that tenant can see: never at another tenant's private entry. */
function referencesVisible(t: Table, tables: ReadonlyMap<string, Table>): string[] {
  return t.references
    .filter((r) => !r.external && r.columns.length === 1 && r.parentColumns[0] === "id" && restricted(tables.get(r.table)))
    .map((r) => `(${r.columns[0]} is null or exists (select 1 from public.${r.table} x where x.id = ${t.name}.${r.columns[0]}))`);
}

export function tablePolicies(t: Table, tables: ReadonlyMap<string, Table> = new Map()): PolicySpec[] {
  // No policy at all: with RLS forced, only service_role (BYPASSRLS) sees a row.
  if (t.scope === "service") return [];
  const own = `${t.scopeColumn} = ${TENANT}`;
  const ownWrite = [own, ...referencesVisible(t, tables)].join(" and ");
  const policies: PolicySpec[] = [];
  if (t.scope === "tenant") {
    policies.push({ name: `${t.name}_tenant_select`, command: "select", role: "authenticated", using: own });
    if (t.tenantWrites === "all") {
      policies.push(
        { name: `${t.name}_tenant_insert`, command: "insert", role: "authenticated", check: ownWrite },
        { name: `${t.name}_tenant_update`, command: "update", role: "authenticated", using: own, check: ownWrite },
        { name: `${t.name}_tenant_delete`, command: "delete", role: "authenticated", using: own },
      );
    }
    if (t.tenantWrites === "self") {
      const self = `${own} and ${t.selfColumn} = ${UID}`;
      policies.push({ name: `${t.name}_self_update`, command: "update", role: "authenticated", using: self, check: [self, ...referencesVisible(t, tables)].join(" and ") });
    }
  } else {
    // A global catalogue: signed-in users with a tenant read what is theirs to see; only service_role writes.
    policies.push({ name: `${t.name}_read`, command: "select", role: "authenticated", using: globalRead(t) });
  }
  if (t.owner !== undefined) {
    // Seed 001's policies, narrowed: only a user with no tenant claim yet, so no one sees past their own tenant.
    const owned = `${t.owner.column} = ${UID} and ${TENANT} is null`;
    policies.push(
      { name: `Users can view their own ${t.name}`, command: "select", role: "authenticated", using: owned },
      { name: `Users can create ${t.name}`, command: "insert", role: "authenticated", check: owned },
    );
  }
  policies.push({ name: `${t.name}_auditor_select`, command: "select", role: "auditor", using: "true" });
  if (t.anonRead !== undefined) policies.push({ name: `${t.name}_anon_select`, command: "select", role: "anon", using: t.anonRead.where });
  return policies;
}

/** A policy's name as SQL: quoted only when it is not a plain identifier (seed 001's names have spaces and capitals). */
const policyIdent = (name: string): string => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);

function policySql(table: string, p: PolicySpec): string {
  const clauses = [p.using !== undefined ? `using (${p.using})` : "", p.check !== undefined ? `with check (${p.check})` : ""].filter(Boolean).join(" ");
  const name = policyIdent(p.name);
  return `drop policy if exists ${name} on public.${table};\ncreate policy ${name} on public.${table} as permissive for ${p.command} to ${p.role} ${clauses};`;
}

export function accessSql(t: Table, tables: ReadonlyMap<string, Table> = new Map()): string {
  const read = readableColumns(t).join(", ");
  const write = writableColumns(t).join(", ");
  const out = [
    `alter table public.${t.name} enable row level security;`,
    // Owners and table-owning jobs are filtered too; only BYPASSRLS roles (service_role) are not.
    `alter table public.${t.name} force row level security;`,
    // Supabase grants everything on new public tables to the API roles; start from nothing.
    `revoke all on public.${t.name} from anon, authenticated, auditor;`,
    `grant select, insert, update, delete on public.${t.name} to service_role;`,
  ];
  if (t.scope !== "service") out.push(`grant select (${read}) on public.${t.name} to authenticated, auditor;`);
  if (t.scope === "tenant" && t.tenantWrites === "all") out.push(`grant insert (${write}), update (${write}), delete on public.${t.name} to authenticated;`);
  if (t.scope === "tenant" && t.tenantWrites === "self") {
    const selfWrite = writableColumns(t).filter((c) => c !== t.scopeColumn && c !== t.selfColumn).join(", ");
    out.push(`grant update (${selfWrite}) on public.${t.name} to authenticated;`);
  }
  if (t.owner !== undefined) out.push(`grant insert (${t.owner.insertColumns.join(", ")}) on public.${t.name} to authenticated;`);
  if (t.anonRead !== undefined) out.push(`grant select (${t.anonRead.columns.join(", ")}) on public.${t.name} to anon;`);
  // Drop policies the model no longer has, then (re)create the ones it does.
  const policies = tablePolicies(t, tables);
  const names = policies.map((p) => q(p.name)).join(", ");
  out.push(`do $$ declare p record; begin
  for p in select policyname from pg_policies where schemaname = 'public' and tablename = ${q(t.name)} ${names === "" ? "" : `and policyname not in (${names})`} loop
    execute format('drop policy %I on public.%I', p.policyname, ${q(t.name)});
  end loop;
end $$;`);
  out.push(...policies.map((p) => policySql(t.name, p)));
  // Membership follows the model both ways. Supabase's image makes the publication; a database without one gets it.
  const published = `exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = ${q(t.name)})`;
  out.push(
    t.realtime
      ? `do $$ begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then create publication supabase_realtime; end if;
  if not ${published} then alter publication supabase_realtime add table public.${t.name}; end if;
end $$;`
      : `do $$ begin if ${published} then alter publication supabase_realtime drop table public.${t.name}; end if; end $$;`,
  );
  return out.join("\n");
}

export function viewSql(v: View): string {
  return [
    `drop view if exists public.${v.name};`,
    // security_invoker: the view reads as its caller, so the tables' policies apply to it.
    `create view public.${v.name} with (security_invoker = true) as\n${v.query};`,
    `comment on view public.${v.name} is ${q(v.comment)};`,
    `revoke all on public.${v.name} from anon, authenticated, auditor;`,
    `grant select on public.${v.name} to authenticated, auditor, service_role;`,
  ].join("\n");
}

const prelude = [
  "create schema if not exists extensions;",
  "create extension if not exists pgcrypto with schema extensions;",
].join("\n");

/** A pack's migrations, in order: tables, extra objects, access (grants and policies), views. */
export function packMigrations(pack: Pack): Migration[] {
  const base = pack.order * 10;
  const slug = pack.name.replaceAll("-", "_");
  const tables = new Map(pack.tables.map((t) => [t.name, t]));
  const id = (n: number, what: string): string => `${String(base + n).padStart(4, "0")}_${slug}_${what}`;
  return [
    { id: id(0, "tables"), sql: `-- ${pack.name}: tables, constraints and indexes.\n${prelude}\n${pack.tables.map(tableSql).join("\n\n")}\n` },
    ...(pack.extraSql !== undefined ? [{ id: id(1, "functions"), sql: `-- ${pack.name}: functions and triggers.\n${pack.extraSql}` }] : []),
    { id: id(2, "access"), sql: `-- ${pack.name}: grants and row-level security.\n${pack.tables.map((t) => accessSql(t, tables)).join("\n\n")}\n` },
    ...(pack.views.length > 0 ? [{ id: id(3, "views"), sql: `-- ${pack.name}: views, all security_invoker.\n${pack.views.map(viewSql).join("\n\n")}\n` }] : []),
  ];
}

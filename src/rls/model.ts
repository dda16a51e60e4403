import { z } from "zod";

/**
 * The declarative policy model. A schema pack says, per table, who may see
 * and change which rows; the SQL (tables, grants, row-level security, views)
 * is generated from it, never written by hand per table.
 */

const ident = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier");

export const ColumnSchema = z.strictObject({
  name: ident,
  /** A Postgres type: uuid, text, integer, numeric(12,2), timestamptz, boolean, jsonb, bytea, date, text[] … */
  type: z.string().regex(/^[a-z][a-z0-9_ ,()[\]]*$/),
  nullable: z.boolean().default(false),
  default: z.string().optional(),
  /** A CHECK on this column, e.g. `prioridad in ('baja','media','alta','critica')`. */
  check: z.string().optional(),
});

export const ReferenceSchema = z.strictObject({
  /** Columns of this table; for a tenant-scoped parent they start with the tenant column. */
  columns: z.array(ident).min(1),
  table: z.string().regex(/^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$/),
  /** Columns of the parent, in the same order. */
  parentColumns: z.array(ident).min(1),
  /** A table outside the pack, such as auth.users: not checked here. */
  external: z.boolean().default(false),
  onDelete: z.enum(["cascade", "restrict", "set null"]).default("restrict"),
});

export const TableSchema = z.strictObject({
  name: ident,
  comment: z.string().min(1),
  columns: z.array(ColumnSchema).min(1),
  /**
   * `tenant`: rows belong to the tenant in `scopeColumn`; `global`: one shared
   * catalogue every signed-in user reads and only service_role writes;
   * `service`: plumbing for automations (outboxes, mappings) that no API role
   * but service_role may see or touch, not even the auditor.
   */
  scope: z.enum(["tenant", "global", "service"]),
  scopeColumn: ident.default("tenant_id"),
  /**
   * For a global table: a nullable column naming the one tenant a row is
   * private to. A null row is shared with every tenant; a private row is seen
   * by its tenant's users only, and referenced by no one else's rows.
   */
  privateTo: ident.optional(),
  /** For a global table: a row is seen exactly when its parent row (column → table.id) is, as an endpoint follows its provider. */
  visibleWith: z.strictObject({ column: ident, table: ident }).optional(),
  /** What a tenant's signed-in users may change in their own rows. */
  tenantWrites: z.enum(["all", "none", "self"]).default("all"),
  /** For `self`: the column that must equal auth.uid() for a user to change the row. */
  selfColumn: ident.optional(),
  /** Columns that grant power (a role, a plan): no API role writes them, not even on its own row; only service_role. */
  privilegeColumns: z.array(ident).default([]),
  /**
   * Seed 001's self-service ownership, for a table whose rows are tenants: a
   * signed-in user who has no tenant claim yet sees the rows whose `column`
   * is their auth.uid(), and may create one, naming only `insertColumns`.
   * A user with a tenant claim sees only that tenant, whatever they own.
   */
  owner: z.strictObject({ column: ident, insertColumns: z.array(ident).min(1) }).optional(),
  /** What anon may read: a few columns of the rows matching a predicate, or nothing. */
  anonRead: z.strictObject({ columns: z.array(ident).min(1), where: z.string().min(1) }).optional(),
  /** Columns no API role may read or write (only service_role, through a definer function). */
  secretColumns: z.array(ident).default([]),
  /** Columns a tenant's users may write but never read back (a trigger consumes them). */
  writeOnlyColumns: z.array(ident).default([]),
  references: z.array(ReferenceSchema).default([]),
  /**
   * Published to Supabase Realtime (supabase_realtime): clients subscribed to its
   * changes get them, filtered by these same policies. Only for tenant tables.
   */
  realtime: z.boolean().default(false),
  /** Extra indexes; for tenant tables each begins with the scope column. */
  indexes: z.array(z.array(ident).min(1)).default([]),
  unique: z.array(z.array(ident).min(1)).default([]),
});

export const ViewSchema = z.strictObject({
  name: ident,
  comment: z.string().min(1),
  /** The body after `as`; every view is security_invoker, so the tables' policies apply. */
  query: z.string().min(1),
  /** The tables it reads, for grants and for the leak tests. */
  reads: z.array(ident).min(1),
});

export const PackSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  /** Sorts the pack's migrations after the core and after packs it builds on. */
  order: z.number().int().min(100).max(899),
  tables: z.array(TableSchema).min(1),
  views: z.array(ViewSchema).default([]),
  /** Extra SQL objects (functions, triggers) the tables need, run after the tables. */
  extraSql: z.string().optional(),
});

export type Column = z.infer<typeof ColumnSchema>;
export type Table = z.infer<typeof TableSchema>;
export type View = z.infer<typeof ViewSchema>;
export type Pack = z.infer<typeof PackSchema>;
export type PackInput = z.input<typeof PackSchema>;

/** Column names that usually carry a privilege. */
const PRIVILEGE_NAME = /^(rol|role|roles|rol_\w+|role_\w+|is_admin|admin|permisos|permissions|plan|supafleet_role)$/;

/** Parses a pack and checks what the schema cannot: every name a table refers to exists. */
export function definePack(input: PackInput): Pack {
  const pack = PackSchema.parse(input);
  const problems: string[] = [];
  const tables = new Map(pack.tables.map((t) => [t.name, t]));
  for (const t of pack.tables) {
    const cols = new Set(t.columns.map((c) => c.name));
    const need = (col: string, what: string): void => {
      if (!cols.has(col)) problems.push(`${t.name}: ${what} "${col}" is not a column`);
    };
    if (!cols.has("id")) problems.push(`${t.name}: every table needs an id column`);
    if (t.scope === "tenant") {
      need(t.scopeColumn, "scopeColumn");
      const scope = t.columns.find((c) => c.name === t.scopeColumn);
      if (scope && (scope.type !== "uuid" || scope.nullable)) problems.push(`${t.name}: ${t.scopeColumn} must be a non-null uuid`);
      for (const ix of t.indexes) if (ix[0] !== t.scopeColumn) problems.push(`${t.name}: index (${ix.join(", ")}) must lead with ${t.scopeColumn}`);
    }
    if (t.tenantWrites === "self") {
      if (t.selfColumn === undefined) problems.push(`${t.name}: tenantWrites "self" needs a selfColumn`);
      else need(t.selfColumn, "selfColumn");
    }
    for (const c of t.privilegeColumns) need(c, "privilege column");
    // A user who may edit their own row must not be able to promote themselves: such a column must be declared.
    for (const c of t.columns) {
      if (t.tenantWrites !== "none" && PRIVILEGE_NAME.test(c.name) && !t.privilegeColumns.includes(c.name)) {
        problems.push(`${t.name}: ${c.name} looks like a privilege; list it in privilegeColumns so users cannot write it`);
      }
    }
    if (t.scope === "service" && (t.anonRead !== undefined || t.secretColumns.length > 0 || t.writeOnlyColumns.length > 0)) {
      problems.push(`${t.name}: a service table is hidden from every API role; anonRead, secret and write-only columns mean nothing there`);
    }
    // Realtime sends whole rows: a column no API role may read must never ride along.
    if (t.realtime && (t.scope !== "tenant" || t.secretColumns.length + t.writeOnlyColumns.length > 0)) problems.push(`${t.name}: realtime is for tenant tables without secret or write-only columns`);
    if ((t.privateTo !== undefined || t.visibleWith !== undefined) && t.scope !== "global") problems.push(`${t.name}: privateTo and visibleWith are for global tables`);
    if (t.privateTo !== undefined && t.scope === "global") {
      const owner = t.columns.find((c) => c.name === t.privateTo);
      if (owner === undefined) need(t.privateTo, "privateTo");
      else if (owner.type !== "uuid" || !owner.nullable) problems.push(`${t.name}: privateTo ${t.privateTo} must be a nullable uuid (null: shared)`);
      if (t.anonRead !== undefined && !t.anonRead.where.includes(`${t.privateTo} is null`)) problems.push(`${t.name}: anon may only read shared rows; anonRead.where must require ${t.privateTo} is null`);
    }
    if (t.visibleWith !== undefined) {
      need(t.visibleWith.column, "visibleWith column");
      if (!t.references.some((r) => r.table === t.visibleWith!.table && r.columns.length === 1 && r.columns[0] === t.visibleWith!.column)) {
        problems.push(`${t.name}: visibleWith needs a reference from ${t.visibleWith.column} to ${t.visibleWith.table}`);
      }
    }
    if (t.owner !== undefined) {
      need(t.owner.column, "owner column");
      if (t.scope !== "tenant" || t.scopeColumn !== "id") problems.push(`${t.name}: owner is for the tenants table itself (scope tenant, scopeColumn id)`);
      const owner = t.columns.find((c) => c.name === t.owner!.column);
      if (owner !== undefined && (owner.type !== "uuid" || !owner.nullable)) problems.push(`${t.name}: owner column ${t.owner.column} must be a nullable uuid`);
      if (!t.references.some((r) => r.external && r.table === "auth.users" && r.columns.length === 1 && r.columns[0] === t.owner!.column)) {
        problems.push(`${t.name}: owner column ${t.owner.column} needs a reference to auth.users`);
      }
      for (const c of t.owner.insertColumns) {
        need(c, "owner insert column");
        if (c === "id" || PRIVILEGE_NAME.test(c) || t.secretColumns.includes(c)) problems.push(`${t.name}: a user may not choose ${c} of a row they create`);
      }
      if (!t.owner.insertColumns.includes(t.owner.column)) problems.push(`${t.name}: owner insertColumns must include ${t.owner.column}`);
    }
    for (const c of t.anonRead?.columns ?? []) need(c, "anonRead column");
    for (const c of t.secretColumns) need(c, "secret column");
    for (const c of t.writeOnlyColumns) need(c, "write-only column");
    for (const c of t.anonRead?.columns ?? []) if (t.secretColumns.includes(c)) problems.push(`${t.name}: secret column ${c} cannot be public`);
    for (const r of t.references) {
      r.columns.forEach((c) => need(c, "reference column"));
      if (r.external) continue;
      const parent = tables.get(r.table);
      if (parent === undefined) problems.push(`${t.name}: references unknown table ${r.table}`);
      else for (const c of r.parentColumns) if (!parent.columns.some((pc) => pc.name === c)) problems.push(`${t.name}: references ${r.table}.${c}, which does not exist`);
      if (r.columns.length !== r.parentColumns.length) problems.push(`${t.name}: reference to ${r.table} pairs ${r.columns.length} columns with ${r.parentColumns.length}`);
    }
  }
  for (const v of pack.views) for (const r of v.reads) if (!tables.has(r)) problems.push(`view ${v.name}: reads unknown table ${r}`);
  if (problems.length > 0) throw new Error(`schema pack ${pack.name} is inconsistent:\n  ${problems.join("\n  ")}`);
  return pack;
}

/** The roles the generated policies speak to. */
export const API_ROLES = ["anon", "authenticated", "auditor", "service_role"] as const;
export type ApiRole = (typeof API_ROLES)[number];
export type Action = "select" | "insert" | "update" | "delete";

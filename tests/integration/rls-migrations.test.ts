import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { PACKS, projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import type { TenantConfig } from "../../src/config/schema";
import { SupabaseTestDb } from "../helpers/supabaseDb";

/**
 * Both schema packs, applied to a real PostgreSQL 15 (with a stand-in for
 * Supabase's roles and auth functions) through the project's own migration
 * runner: the psql bundle RlsPolicySet sends.
 */
const tenant = (slug: string, isolation: TenantConfig["isolation"]): TenantConfig =>
  ({ slug, name: slug, contact: { name: "x", email: "x@example.org" }, plan: "starter", isolation, projects: [] }) as unknown as TenantConfig;
const tenants = [tenant("techhilfe", "shared"), tenant("baeckerei-koch", "pooled")];
const migrations = projectMigrations(["msp-ops", "tenant-registry"], tenants);
const bundle = renderMigrationBundle(migrations);

const db = new SupabaseTestDb();
let su: pg.Client;

beforeAll(async () => {
  await db.start();
  su = await db.superuser();
});
afterAll(async () => {
  await su?.end();
  db.stop();
});

const applied = (psqlOutput: string): string[] => [...psqlOutput.matchAll(/^applying (\S+)$/gm)].map((m) => m[1]!);
// The outbox is in both packs: one table.
const packTables = [...new Set(Object.values(PACKS).flatMap((p) => p.tables.map((t) => t.name)))];
const packViews = Object.values(PACKS).flatMap((p) => p.views.map((v) => v.name));

describe("the migration bundle on PostgreSQL 15", () => {
  it("applies every migration, in order, the first time", () => {
    expect(applied(db.applyBundle(bundle))).toEqual(migrations.map((m) => m.id));
  });

  it("creates every table and view of both packs", async () => {
    const { rows } = await su.query("select table_name, table_type from information_schema.tables where table_schema = 'public' order by 1");
    expect(rows.filter((r) => r.table_type === "BASE TABLE").map((r) => r.table_name).sort()).toEqual([...packTables].sort());
    expect(rows.filter((r) => r.table_type === "VIEW").map((r) => r.table_name).sort()).toEqual([...packViews].sort());
  });

  it("publishes exactly the tables the packs mark realtime to Supabase Realtime", async () => {
    const { rows } = await su.query("select tablename from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' order by 1");
    const marked = Object.values(PACKS).flatMap((p) => p.tables.filter((t) => t.realtime).map((t) => t.name));
    expect(marked).toContain("tickets");
    expect(rows.map((r) => r.tablename)).toEqual([...marked].sort());
  });

  it("enables and forces row-level security on every table", async () => {
    const { rows } = await su.query("select relname, relrowsecurity, relforcerowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'");
    for (const r of rows) expect({ table: r.relname, rls: r.relrowsecurity, force: r.relforcerowsecurity }).toEqual({ table: r.relname, rls: true, force: true });
  });

  it("makes every view security_invoker", async () => {
    const { rows } = await su.query("select relname, reloptions from pg_class where relnamespace = 'public'::regnamespace and relkind = 'v'");
    for (const r of rows) expect(r.reloptions, r.relname).toContain("security_invoker=true");
  });

  it("names a role on every policy, never PUBLIC", async () => {
    const { rows } = await su.query("select tablename, policyname, roles::text[] as roles from pg_policies where schemaname = 'public'");
    expect(rows.length).toBeGreaterThan(40);
    for (const r of rows) {
      expect(r.roles, r.policyname).not.toContain("public");
      expect(r.roles.length, r.policyname).toBe(1);
    }
  });

  it("reads the tenant through one helper, wrapped in a select, in every tenant policy", async () => {
    const { rows } = await su.query("select policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr from pg_policies where schemaname = 'public' and roles::text[] = '{authenticated}'");
    for (const r of rows) {
      expect(r.expr, r.policyname).toContain("( SELECT supafleet.tenant_id() AS tenant_id)");
      expect(r.expr, r.policyname).not.toMatch(/user_metadata/);
    }
  });

  it("indexes every tenant column as the leading column of a btree", async () => {
    for (const pack of Object.values(PACKS)) {
      for (const t of pack.tables.filter((x) => x.scope === "tenant")) {
        const { rows } = await su.query(
          `select count(*)::int as n from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
           where i.indrelid = $1::regclass and a.attname = $2`,
          [`public.${t.name}`, t.scopeColumn],
        );
        expect(rows[0].n, `${t.name}.${t.scopeColumn}`).toBeGreaterThan(0);
      }
    }
  });

  it("revokes Supabase's default grants: anon holds nothing it was not given", async () => {
    const { rows } = await su.query("select table_name, privilege_type from information_schema.role_table_grants where grantee = 'anon' and table_schema = 'public'");
    expect(rows).toEqual([]);
    const cols = await su.query("select table_name, column_name from information_schema.column_privileges where grantee = 'anon' and table_schema = 'public' order by 1, 2");
    expect(cols.rows.map((r) => `${r.table_name}.${r.column_name}`)).toEqual(["api_providers.docs_url", "api_providers.id", "api_providers.name", "mcp_capabilities.description", "mcp_capabilities.name"]);
  });

  it("records the project's tenants with stable ids", async () => {
    const { rows } = await su.query("select id, slug, isolation, plan from supafleet.tenants order by slug");
    expect(rows).toEqual([
      { id: tenantUuid("baeckerei-koch"), slug: "baeckerei-koch", isolation: "pooled", plan: "starter" },
      { id: tenantUuid("techhilfe"), slug: "techhilfe", isolation: "shared", plan: "starter" },
    ]);
  });

  it("records the fleet's tenants in the registry's public.tenants too, with the same ids, and leaves the application's own alone", async () => {
    const { rows } = await su.query("select id, slug, plan, type, status from public.tenants order by slug");
    expect(rows).toEqual([
      { id: tenantUuid("baeckerei-koch"), slug: "baeckerei-koch", plan: "starter", type: "customer", status: "active" },
      { id: tenantUuid("techhilfe"), slug: "techhilfe", plan: "starter", type: "customer", status: "active" },
    ]);
    // A trial the application made itself survives the next run of the seed.
    await su.query("insert into public.tenants (slug, name, rut, status, trial_expires_at) values ('prueba', 'Prueba SpA', '11.111.111-1', 'trial', now() + interval '24 hours')");
    const seed = migrations.find((m) => m.id === "2090_tenant_registry_tenants")!;
    await su.query(seed.sql);
    expect((await su.query("select count(*)::int as n from public.tenants")).rows[0].n).toBe(3);
    await su.query("delete from public.tenants where slug = 'prueba'");
  });

  it("has seed 002's registry columns", async () => {
    const cols = async (table: string): Promise<string[]> =>
      (await su.query("select column_name from information_schema.columns where table_schema = 'public' and table_name = $1", [table])).rows.map((r) => r.column_name as string);
    expect(await cols("tenants")).toEqual(expect.arrayContaining(["rut", "type", "trial_expires_at"]));
    expect(await cols("api_endpoints")).toEqual(expect.arrayContaining(["semantic_name", "schema_in", "schema_out"]));
    expect(await cols("mcp_capabilities")).toContain("backing_endpoint_id");
    expect(await cols("api_providers")).toContain("auth_type");
    await expect(su.query("update public.tenants set status = 'cancelled' where slug = 'techhilfe'")).resolves.toBeDefined();
    await su.query("update public.tenants set status = 'active' where slug = 'techhilfe'");
  });

  it("takes the tenant id from app_metadata, never from user_metadata", async () => {
    const hook = async (event: object): Promise<Record<string, unknown>> => (await su.query("select public.custom_access_token_hook($1) as r", [event])).rows[0].r.claims;
    const base = { sub: "00000000-0000-4000-8000-000000000001", role: "authenticated" };
    const t = tenantUuid("techhilfe");
    expect((await hook({ user_id: base.sub, claims: { ...base, app_metadata: { tenant_id: t } } })).tenant_id).toBe(t);
    expect((await hook({ user_id: base.sub, claims: { ...base, app_metadata: {}, user_metadata: { tenant_id: t } } })).tenant_id).toBeUndefined();
    // A stale or forged top-level claim does not survive the hook either.
    expect((await hook({ user_id: base.sub, claims: { ...base, tenant_id: t, app_metadata: {} } })).tenant_id).toBeUndefined();
    expect((await hook({ user_id: base.sub, claims: { ...base, app_metadata: { supafleet_role: "auditor" } } })).role).toBe("auditor");
  });

  it("adds the plan supafleet.tenants records for the tenant, as GoTrue's role calls it, and none a user or an unlisted tenant could bring", async () => {
    const base = { sub: "00000000-0000-4000-8000-000000000001", role: "authenticated" };
    const t = tenantUuid("techhilfe");
    // GoTrue's own login, in a session of its own: the superuser's has the hook's plans cached, checked as it.
    const auth = await db.pg.client("supabase_auth_admin", "auth-admin-pw");
    const hook = async (claims: object): Promise<Record<string, unknown>> =>
      (await auth.query("select public.custom_access_token_hook($1) as r", [{ user_id: base.sub, claims: { ...base, ...claims } }])).rows[0].r.claims;
    try {
      expect(await hook({ app_metadata: { tenant_id: t } })).toMatchObject({ tenant_id: t, tenant_plan: "starter" });
      expect((await hook({ app_metadata: { tenant_id: t.toUpperCase() } })).tenant_plan).toBe("starter");
      // A registry's own sign-up is not in supafleet.tenants: its tenant, and no plan (the gateway gives it its owner's).
      const signup = "00000000-0000-4000-8000-0000000000aa";
      const claims = await hook({ tenant_plan: "enterprise", app_metadata: { tenant_id: signup, tenant_plan: "enterprise" }, user_metadata: { tenant_plan: "enterprise" } });
      expect(claims.tenant_id).toBe(signup);
      expect(claims).not.toHaveProperty("tenant_plan");
      // Without a tenant, no plan; a malformed tenant id is dropped rather than failing the sign-in.
      expect(await hook({ tenant_plan: "enterprise", app_metadata: {} })).not.toHaveProperty("tenant_plan");
      const malformed = await hook({ app_metadata: { tenant_id: "-".repeat(36) } });
      expect(malformed).not.toHaveProperty("tenant_id");
      expect(malformed).not.toHaveProperty("tenant_plan");
      // A plan change reaches the next token the hook issues.
      await su.query("update supafleet.tenants set plan = 'business' where id = $1", [t]);
      expect((await hook({ app_metadata: { tenant_id: t } })).tenant_plan).toBe("business");
    } finally {
      await su.query("update supafleet.tenants set plan = 'starter' where id = $1", [t]);
      await auth.end();
    }
  });

  it("lets only GoTrue's role look a plan up, and only through the lookup", async () => {
    const may = async (role: string): Promise<{ lookup: boolean; table: boolean }> =>
      (
        await su.query("select has_function_privilege($1, 'supafleet.tenant_plan(uuid)', 'execute') as lookup, has_table_privilege($1, 'supafleet.tenants', 'select') as table", [role])
      ).rows[0];
    expect(await may("supabase_auth_admin")).toEqual({ lookup: true, table: false });
    for (const role of ["anon", "authenticated", "auditor", "authenticator", "service_role"]) expect((await may(role)).lookup, role).toBe(false);
    await su.query("begin; set local role authenticated");
    try {
      await expect(su.query("select supafleet.tenant_plan($1)", [tenantUuid("techhilfe")])).rejects.toThrow(/permission denied for function tenant_plan/);
    } finally {
      await su.query("rollback");
    }
  });
});

describe("running the migrations again", () => {
  it("applies nothing and changes nothing on an up-to-date database", async () => {
    const ledger = async (): Promise<unknown[]> => (await su.query("select id, checksum, applied_at from supafleet.migrations order by id")).rows;
    const schema = async (): Promise<unknown[]> =>
      (await su.query("select tablename, policyname, cmd, roles::text, qual, with_check from pg_policies where schemaname = 'public' order by 1, 2")).rows;
    const [beforeLedger, beforeSchema] = [await ledger(), await schema()];
    expect(applied(db.applyBundle(bundle))).toEqual([]);
    expect(await ledger()).toEqual(beforeLedger);
    expect(await schema()).toEqual(beforeSchema);
  });

  it("applies a changed migration exactly once", async () => {
    const changed = migrations.map((m) =>
      m.id.endsWith("msp_ops_tables") ? { ...m, sql: `${m.sql}\ncomment on column public.tickets.sla_vence is 'When the SLA is breached.';\n` } : m,
    );
    const next = renderMigrationBundle(changed);
    expect(applied(db.applyBundle(next))).toEqual(["1000_msp_ops_tables"]);
    expect(applied(db.applyBundle(next))).toEqual([]);
    const { rows } = await su.query("select col_description('public.tickets'::regclass, (select attnum from pg_attribute where attrelid = 'public.tickets'::regclass and attname = 'sla_vence')) as c");
    expect(rows[0].c).toBe("When the SLA is breached.");
  });

  it("rolls the whole bundle back when a migration fails", async () => {
    const broken = renderMigrationBundle([...migrations, { id: "9999_broken", sql: "create table public.half_done (x int);\nselect 1/0;" }]);
    expect(() => db.applyBundle(broken)).toThrow(/division by zero/);
    const { rows } = await su.query("select to_regclass('public.half_done') as t, (select count(*)::int from supafleet.migrations where id = '9999_broken') as n");
    expect(rows[0]).toEqual({ t: null, n: 0 });
  });
});

describe("a project's own choice of Realtime tables (realtime.tables)", () => {
  const published = async (): Promise<string[]> =>
    (await su.query("select tablename from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' order by 1")).rows.map((r) => r.tablename);
  const withChoice = (tables: string[] | undefined): string => renderMigrationBundle(projectMigrations(["msp-ops", "tenant-registry"], tenants, tables));

  it("publishes exactly the chosen tables, re-applying only the access migration that changed, and goes back to the packs' choice when left out", async () => {
    db.applyBundle(bundle);
    // The registry publishes none of its tables either way: its migrations stay as they were.
    expect(applied(db.applyBundle(withChoice(["clientes", "tickets"])))).toEqual(["1002_msp_ops_access"]);
    expect(await published()).toEqual(["clientes", "tickets"]);
    expect(applied(db.applyBundle(withChoice([])))).toEqual(["1002_msp_ops_access"]);
    expect(await published()).toEqual([]);
    db.applyBundle(withChoice(undefined));
    expect(await published()).toEqual(Object.values(PACKS).flatMap((p) => p.tables.filter((t) => t.realtime).map((t) => t.name)).sort());
  });
});

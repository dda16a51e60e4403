import { readFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantConfig } from "../../src/config/schema";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import { asRequest, SupabaseTestDb } from "../helpers/supabaseDb";

/**
 * Issue 29's registry over a database that holds today's: the bundle a
 * project received before it (a fixture rendered at that commit), with data,
 * then the current bundle through the same runner, as the next `pulumi up`
 * would send it.
 */
const before = readFileSync(join(__dirname, "../fixtures/rls/bundle-before-issue-29.sql"), "utf8");
const tenant = (slug: string, isolation: TenantConfig["isolation"]): TenantConfig =>
  ({ slug, name: slug, contact: { name: "x", email: "x@example.org" }, plan: "starter", isolation, projects: [] }) as unknown as TenantConfig;
const now = renderMigrationBundle(projectMigrations(["msp-ops", "tenant-registry"], [tenant("techhilfe", "shared"), tenant("baeckerei-koch", "pooled")]));
const applied = (psqlOutput: string): string[] => [...psqlOutput.matchAll(/^applying (\S+)$/gm)].map((m) => m[1]!);

const db = new SupabaseTestDb();
let su: pg.Client;
const T = tenantUuid("techhilfe");
let credential: string;
let appliedNow: string[];

beforeAll(async () => {
  await db.start();
  db.applyBundle(before);
  su = await db.superuser();
  await su.query("insert into public.tenants (slug, name, rut, status, plan, trial_expires_at) values ('prueba', 'Prueba SpA', '11.111.111-1', 'trial', 'demo', '2030-01-01T00:00:00Z')");
  await su.query("insert into public.tenant_domains (tenant_id, domain, verified) values ($1, 'techhilfe.example', true), ($1, 'shop.techhilfe.example', false)", [T]);
  await su.query("insert into public.tenant_products (tenant_id, product) values ($1, 'chat')", [T]);
  await su.query("insert into public.tenant_integrations (tenant_id, kind, config) values ($1, 'odoo', '{\"company\": 7}')", [T]);
  const provider = (await su.query("insert into public.api_providers (name, base_url) values ('Stripe', 'https://api.stripe.com') returning id")).rows[0].id;
  credential = (await su.query("insert into public.api_credentials (tenant_id, provider_id, name, secret_plaintext) values ($1, $2, 'stripe', 'sk_live_before29') returning id", [T, provider])).rows[0].id;
  // msp-ops's outbox, as it was: a new customer's onboarding entry.
  await su.query("insert into public.clientes (tenant_id, nombre) values ($1, 'Kunde Alt')", [T]);
  appliedNow = applied(db.applyBundle(now));
}, 60_000);

afterAll(async () => {
  await su?.end();
  db.stop();
});

describe("the registry migration on a database holding today's schema and data", () => {
  it("re-applies only the migrations that changed, once", () => {
    // The core and the tenants' seed too: supafleet.tenants gained each tenant's plan (the token hook's tenant_plan).
    expect(appliedNow).toEqual(["0001_supafleet_core", "0002_supafleet_tenants", "1000_msp_ops_tables", "1001_msp_ops_functions", "2000_tenant_registry_tables", "2001_tenant_registry_functions", "2002_tenant_registry_access", "2003_tenant_registry_views"]);
    expect(applied(db.applyBundle(now))).toEqual([]);
  });

  it("records each fleet tenant's plan in supafleet.tenants, which had no such column", async () => {
    expect((await su.query("select slug, plan from supafleet.tenants order by slug")).rows).toEqual([
      { slug: "baeckerei-koch", plan: "starter" },
      { slug: "techhilfe", plan: "starter" },
    ]);
  });

  it("keeps every row and value, the new columns taking their defaults", async () => {
    const tenants = await su.query("select slug, rut, status, plan, trial_expires_at, contact_email, primary_domain, domain, owner_id from public.tenants order by slug");
    expect(tenants.rows).toEqual([
      { slug: "baeckerei-koch", rut: null, status: "active", plan: "starter", trial_expires_at: null, contact_email: null, primary_domain: null, domain: null, owner_id: null },
      { slug: "prueba", rut: "11.111.111-1", status: "trial", plan: "demo", trial_expires_at: new Date("2030-01-01T00:00:00Z"), contact_email: null, primary_domain: null, domain: null, owner_id: null },
      { slug: "techhilfe", rut: null, status: "active", plan: "starter", trial_expires_at: null, contact_email: null, primary_domain: null, domain: null, owner_id: null },
    ]);
    expect((await su.query("select domain, verified, domain_type from public.tenant_domains order by domain")).rows).toEqual([
      { domain: "shop.techhilfe.example", verified: false, domain_type: "primary" },
      { domain: "techhilfe.example", verified: true, domain_type: "primary" },
    ]);
    expect((await su.query("select kind, config, external_id from public.tenant_integrations")).rows).toEqual([{ kind: "odoo", config: { company: 7 }, external_id: null }]);
    expect((await su.query("select category from public.api_providers")).rows).toEqual([{ category: "custom" }]);
    expect((await su.query("select supafleet.api_credential_secret($1) as s", [credential])).rows[0].s).toBe("sk_live_before29");
  });

  it("keeps msp-ops's outbox as the one outbox, its entry still there to deliver, now taking entries without a tenant", async () => {
    expect((await su.query("select topic, tenant_id, payload -> 'cliente' ->> 'nombre' as nombre from public.outbox")).rows).toEqual([{ topic: "onboarding", tenant_id: T, nombre: "Kunde Alt" }]);
    await su.query("insert into auth.users (id, email) values ('00000000-0000-4000-8000-000000000029', 'new@signup.example')");
    expect((await su.query("select topic, tenant_id from public.outbox order by id")).rows).toEqual([
      { topic: "onboarding", tenant_id: T },
      { topic: "tenant.signup", tenant_id: null },
    ]);
  });

  it("holds the new constraints on the migrated data", async () => {
    const refused = (sql: string, params: unknown[] = []): Promise<unknown> => su.query(sql, params);
    await su.query("update public.tenants set domain = 'techhilfe.example' where id = $1", [T]);
    await expect(refused("update public.tenants set domain = 'techhilfe.example' where slug = 'prueba'")).rejects.toMatchObject({ code: "23505" });
    await expect(refused("update public.tenants set contact_email = 'not an email' where slug = 'prueba'")).rejects.toMatchObject({ code: "23514" });
    await expect(refused("update public.tenants set primary_domain = 'Bad Domain' where slug = 'prueba'")).rejects.toMatchObject({ code: "23514" });
    await expect(refused("update public.tenants set owner_id = '00000000-0000-4000-8000-00000000dead' where slug = 'prueba'")).rejects.toMatchObject({ code: "23503" });
    await expect(refused("update public.tenant_domains set domain_type = 'blog'")).rejects.toMatchObject({ code: "23514" });
    await expect(refused("update public.api_providers set category = 'crypto'")).rejects.toMatchObject({ code: "23514" });
    const policies = await su.query("select policyname from pg_policies where tablename = 'tenants' order by 1");
    expect(policies.rows.map((r) => r.policyname)).toEqual(["Users can create tenants", "Users can view their own tenants", "tenants_auditor_select", "tenants_tenant_select"]);
  });

  it("shows the migrated tenant in the new overview to its own user", async () => {
    const api = await db.authenticator();
    try {
      const { rows } = await asRequest(api, "authenticated", { sub: "00000000-0000-4000-8000-000000000001", role: "authenticated", tenant_id: T }, (c) =>
        c.query("select slug, products, domain_list, integration_list, domains, trial_active from public.v_tenant_overview"),
      );
      expect(rows).toEqual([
        {
          slug: "techhilfe", products: ["chat"], integration_list: [{ kind: "odoo", external_id: null }], domains: "2", trial_active: false,
          domain_list: [{ domain: "shop.techhilfe.example", domain_type: "primary", verified: false }, { domain: "techhilfe.example", domain_type: "primary", verified: true }],
        },
      ]);
    } finally {
      await api.end();
    }
  });
});

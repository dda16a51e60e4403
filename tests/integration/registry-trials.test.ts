import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistrySchema, type RegistryConfig } from "../../src/config/registry";
import { template } from "../../src/render/templates";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { projectMigrations } from "../../src/rls/migrations";
import { renderRegistrySeedSql } from "../../src/rls/registrySeed";
import { tenantUuid } from "../../src/rls/tenants";
import { asRequest, SupabaseTestDb, type Claims } from "../helpers/supabaseDb";

/**
 * The tenant registry's trials and sign-ups on a real PostgreSQL 15 that
 * preloads the real pg_cron (Debian's postgresql-15-cron), as Supabase's image
 * does: the pack's migrations through the project's own runner, then what
 * pg_cron, GoTrue and n8n (as service_role over PostgREST) would do.
 */
const db = new SupabaseTestDb();
let su: pg.Client;
let api: pg.Client;

beforeAll(async () => {
  db.pg.settings = { shared_preload_libraries: "pg_cron" };
  await db.start();
  db.applyBundle(renderMigrationBundle(projectMigrations(["tenant-registry"], [])));
  su = await db.superuser();
  api = await db.authenticator();
  await su.query("insert into public.registry_plans (id, products, trial_hours) values ('pro', '{chat,erp}', null), ('demo', '{automation,chat}', 24) on conflict (id) do update set products = excluded.products, trial_hours = excluded.trial_hours");
  await su.query("update public.registry_plans set products = '{chat}' where id = 'trial'");
}, 60_000);

afterAll(async () => {
  await api?.end();
  await su?.end();
  db.stop();
});

/** One committed PostgREST request as service_role (n8n with the service key). */
async function asService<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  await api.query("begin");
  try {
    await api.query("set local role service_role");
    await api.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role: "service_role" })]);
    const { rows } = await api.query(sql, params);
    await api.query("commit");
    return rows as T[];
  } catch (e) {
    await api.query("rollback");
    throw e;
  }
}

const outbox = async (topic: string, clavePrefix: string): Promise<{ clave: string; tenant_id: string | null; payload: Record<string, unknown> }[]> =>
  (await su.query("select clave, tenant_id, payload from public.outbox where topic = $1 and clave like $2 order by id", [topic, `${clavePrefix}%`])).rows;

describe("trials on pg_cron", () => {
  it("registers the expiry job with pg_cron, which is running", async () => {
    const { rows } = await su.query("select schedule, command, database, active from cron.job where jobname = 'supafleet-expire-trials'");
    expect(rows).toEqual([{ schedule: "*/5 * * * *", command: "select supafleet.expire_trials()", database: "postgres", active: true }]);
    const launcher = await su.query("select count(*)::int as n from pg_stat_activity where backend_type = 'pg_cron launcher'");
    expect(launcher.rows[0].n).toBe(1);
  });

  it("suspends an expired trial with exactly one outbox entry however often the job runs, and leaves the rest alone", async () => {
    const expires = "2026-01-02T03:04:05Z";
    const { rows } = await su.query(
      `insert into public.tenants (slug, name, status, plan, trial_expires_at, contact_email) values
        ('expired-demo', 'Expired Demo', 'trial', 'demo', $1, 'owner@demo.example'),
        ('fresh-demo', 'Fresh Demo', 'trial', 'demo', now() + interval '1 hour', null),
        ('paying', 'Paying', 'active', 'pro', now() - interval '1 day', null)
      returning id, slug`,
      [expires],
    );
    const id = Object.fromEntries(rows.map((r) => [r.slug, r.id as string]));
    // The job's own command, as pg_cron runs it, twice; and two runs at once.
    const command = (await su.query("select command from cron.job where jobname = 'supafleet-expire-trials'")).rows[0].command as string;
    await su.query(command);
    await su.query(command);
    const other = await db.superuser();
    try {
      await Promise.all([su.query(command), other.query(command)]);
    } finally {
      await other.end();
    }
    const status = async (slug: string): Promise<string> => (await su.query("select status from public.tenants where slug = $1", [slug])).rows[0].status;
    expect([await status("expired-demo"), await status("fresh-demo"), await status("paying")]).toEqual(["suspended", "trial", "active"]);
    const epoch = Date.parse(expires) / 1000;
    expect(await outbox("tenant.trial_expired", "trial_expired:")).toEqual([
      {
        clave: `trial_expired:${id["expired-demo"]}:${epoch}`,
        tenant_id: id["expired-demo"],
        payload: { tenant_id: id["expired-demo"], slug: "expired-demo", name: "Expired Demo", contact_email: "owner@demo.example", trial_expires_at: "2026-01-02T03:04:05+00:00" },
      },
    ]);
  });

  it("lets n8n drain the entry once: claimed, acked, never claimed again", async () => {
    const claimed = await asService<{ e: { id: number; clave: string } }>("select e from public.outbox_claim('tenant.trial_expired', 10, 60) e");
    expect(claimed.map((r) => r.e.clave)).toEqual([expect.stringMatching(/^trial_expired:/)]);
    await asService("select public.outbox_ack($1)", [claimed[0]!.e.id]);
    await su.query("select supafleet.expire_trials()");
    expect(await asService("select e from public.outbox_claim('tenant.trial_expired', 10, 60) e")).toEqual([]);
  });

  it("lets no API role but service_role run the expiry", async () => {
    for (const role of ["anon", "authenticated"]) {
      await expect(asRequest(api, role, { role, sub: randomUUID() }, (c) => c.query("select supafleet.expire_trials()"))).rejects.toMatchObject({ code: "42501" });
    }
  });
});

describe("a sign-up becomes a tenant", () => {
  const signUp = async (meta: Record<string, unknown>, app: Record<string, unknown> = {}): Promise<string> => {
    const id = randomUUID();
    // As GoTrue does, in its own transaction.
    await su.query("insert into auth.users (id, email, raw_user_meta_data, raw_app_meta_data) values ($1, $2, $3, $4)", [id, `${id.slice(0, 8)}@signup.example`, meta, app]);
    return id;
  };
  const onboard = async (signup: Record<string, unknown>): Promise<Record<string, unknown>> =>
    (await asService<{ r: Record<string, unknown> }>("select public.registry_onboard($1) as r", [signup]))[0]!.r;

  it("writes one tenant.signup entry in the sign-up's transaction, and none for a user who joins an existing tenant", async () => {
    const user = await signUp({ name: "Panadería Núñez", plan: "demo" });
    const [entry] = await outbox("tenant.signup", `signup:${user}`);
    expect(entry).toEqual({
      clave: `signup:${user}`,
      tenant_id: null,
      payload: { user_id: user, email: `${user.slice(0, 8)}@signup.example`, name: "Panadería Núñez", plan: "demo", signed_up_at: expect.any(String) },
    });
    const member = await signUp({}, { tenant_id: randomUUID() });
    expect(await outbox("tenant.signup", `signup:${member}`)).toEqual([]);
    const noPlan = await signUp({});
    expect((await outbox("tenant.signup", `signup:${noPlan}`))[0]!.payload.plan).toBe("trial");
  });

  it("onboards the same sign-up twice into one tenant, with the plan's products and the tenant claim in app_metadata", async () => {
    const user = await signUp({ name: "Acme SpA", plan: "demo" });
    const payload = (await outbox("tenant.signup", `signup:${user}`))[0]!.payload;
    const first = await onboard(payload);
    const second = await onboard(payload);
    expect(first).toEqual({ tenant_id: expect.any(String), slug: expect.stringMatching(/^acme-spa-[0-9a-f]{8}$/), created: true, products: ["automation", "chat"] });
    expect(second).toEqual({ ...first, created: false });
    const tenants = await su.query("select id, owner_id, status, plan, contact_email, extract(epoch from trial_expires_at - created_at)::int / 3600 as trial_hours from public.tenants where owner_id = $1", [user]);
    expect(tenants.rows).toEqual([{ id: first.tenant_id, owner_id: user, status: "trial", plan: "demo", contact_email: `${user.slice(0, 8)}@signup.example`, trial_hours: 24 }]);
    const app = (await su.query("select raw_app_meta_data from auth.users where id = $1", [user])).rows[0].raw_app_meta_data;
    expect(app).toEqual({ tenant_id: first.tenant_id });
    // The user's next token carries the claim: the access token hook reads it from app_metadata.
    const hook = await su.query("select public.custom_access_token_hook($1) -> 'claims' ->> 'tenant_id' as t", [{ user_id: user, claims: { sub: user, role: "authenticated", app_metadata: app } }]);
    expect(hook.rows[0].t).toBe(first.tenant_id);
  });

  it("gives a sign-up that names a paid plan the trial plan instead", async () => {
    const user = await signUp({ name: "Sneaky", plan: "pro" });
    const r = await onboard({ user_id: user, plan: "pro", name: "Sneaky" });
    expect(r.products).toEqual(["chat"]);
    expect((await su.query("select plan, status from public.tenants where id = $1", [r.tenant_id])).rows[0]).toEqual({ plan: "trial", status: "trial" });
  });

  it("is service_role's alone, and refuses a payload without a known user", async () => {
    for (const role of ["anon", "authenticated"]) {
      await expect(asRequest(api, role, { role, sub: randomUUID() }, (c) => c.query("select public.registry_onboard('{}')"))).rejects.toMatchObject({ code: "42501" });
    }
    await expect(onboard({ user_id: "nope" })).rejects.toMatchObject({ code: "22023" });
    await expect(onboard({ user_id: randomUUID() })).rejects.toMatchObject({ code: "22023" });
  });
});

describe("seed 001's self-service policies, kept within one tenant", () => {
  const user = (sub: string, tenant?: string): Claims => ({ sub, role: "authenticated", ...(tenant !== undefined ? { tenant_id: tenant } : {}) });
  const newUser = async (): Promise<string> => {
    const id = randomUUID();
    await su.query("insert into auth.users (id, email, raw_app_meta_data) values ($1, $2, $3)", [id, `${id}@example.org`, { tenant_id: randomUUID() }]);
    return id;
  };
  const create = (claims: Claims, owner: string): Promise<pg.QueryResult> =>
    asRequest(api, "authenticated", claims, async (c) => {
      const r = await c.query("insert into public.tenants (name, contact_email, owner_id) values ('Mine', 'me@mine.example', $1) returning id, slug, status, plan", [owner]);
      await c.query("commit");
      await c.query("begin");
      return r;
    });

  it("lets a user with no tenant yet create one trial tenant and see it, and no more", async () => {
    const me = await newUser();
    const r = await create(user(me), me);
    expect(r.rows[0]).toEqual({ id: expect.any(String), slug: expect.stringMatching(/^mine-[0-9a-f]{8}$/), status: "trial", plan: "trial" });
    const seen = await asRequest(api, "authenticated", user(me), async (c) => (await c.query("select id from public.tenants")).rows.map((x) => x.id));
    expect(seen).toEqual([r.rows[0].id]);
    expect((await su.query("select product from public.tenant_products where tenant_id = $1", [r.rows[0].id])).rows).toEqual([{ product: "chat" }]);
    await expect(create(user(me), me)).rejects.toMatchObject({ code: "42501" });
  });

  it("refuses a tenant for someone else, a user who already has a tenant claim, and any column but name, contact and owner", async () => {
    const [me, other] = [await newUser(), await newUser()];
    await expect(create(user(me), other)).rejects.toMatchObject({ code: "42501" });
    await expect(create(user(me, randomUUID()), me)).rejects.toMatchObject({ code: "42501" });
    const choose = (col: string, value: string): Promise<unknown> =>
      asRequest(api, "authenticated", user(me), (c) => c.query(`insert into public.tenants (name, owner_id, ${col}) values ('x', $1, $2)`, [me, value]));
    for (const [col, value] of [["status", "active"], ["plan", "pro"], ["slug", "taken"], ["domain", "acme.example"], ["type", "infrastructure"]]) {
      await expect(choose(col!, value!), col).rejects.toMatchObject({ code: "42501" });
    }
  });

  it("shows an owner who has a tenant claim only that tenant, never another they own", async () => {
    const me = await newUser();
    const { rows } = await su.query("insert into public.tenants (slug, name, owner_id) values ('owned-a', 'A', $1), ('owned-b', 'B', $1) returning id", [me]);
    const seen = await asRequest(api, "authenticated", user(me, rows[0].id), async (c) => (await c.query("select id from public.tenants")).rows.map((x) => x.id));
    expect(seen).toEqual([rows[0].id]);
  });
});

describe("v_tenant_overview", () => {
  it("gives a tenant's user its products, domains, integrations, trial state and usage, and never an integration's config", async () => {
    const { rows } = await su.query("insert into public.tenants (slug, name, status, plan, trial_expires_at, primary_domain) values ('overview', 'Overview', 'trial', 'demo', now() + interval '90 minutes', 'overview.example') returning id");
    const t = rows[0].id as string;
    await su.query("insert into public.tenant_products (tenant_id, product, enabled) values ($1, 'chat', true), ($1, 'erp', false)", [t]);
    await su.query("insert into public.tenant_domains (tenant_id, domain, domain_type, verified) values ($1, 'chat.overview.example', 'chat', true)", [t]);
    await su.query("insert into public.tenant_integrations (tenant_id, kind, external_id, config) values ($1, 'chatwoot', '42', '{\"token\": \"cw-secret-token\"}')", [t]);
    const view = await asRequest(api, "authenticated", { sub: randomUUID(), role: "authenticated", tenant_id: t }, (c) => c.query("select * from public.v_tenant_overview"));
    expect(view.rows).toEqual([
      expect.objectContaining({
        tenant_id: t, status: "trial", plan: "demo", trial_active: true, trial_hours_left: 2, primary_domain: "overview.example",
        products: ["chat"], domain_list: [{ domain: "chat.overview.example", domain_type: "chat", verified: true }],
        integration_list: [{ kind: "chatwoot", external_id: "42" }], domains: "1", integrations: "1", credentials: "0",
      }),
    ]);
    expect(JSON.stringify(view.rows)).not.toContain("cw-secret-token");
  });
});

describe("the stack file's plans and base tenants (the registry seed)", () => {
  const stack = RegistrySchema.parse({
    plans: { trial: { products: ["chat", "erp"], trialHours: 24 }, infinite: { products: ["automation", "chat", "erp"] } },
    tenants: [
      { slug: "smarterbot", name: "SMARTERBOT", type: "infrastructure", status: "active", plan: "infinite", primaryDomain: "smarterbot.cl" },
      { slug: "demo", name: "DEMO 'quoted' $$ name", type: "customer", status: "trial", plan: "trial" },
    ],
  });
  const seed = (r: RegistryConfig): string => db.pg.psql(renderRegistrySeedSql(r));
  const row = async (slug: string): Promise<Record<string, unknown>> =>
    (await su.query("select id, name, type, status, plan, contact_email, primary_domain, trial_expires_at from public.tenants where slug = $1", [slug])).rows[0];

  it("makes the base tenants with their plans' products, and a second run writes nothing", async () => {
    seed(stack);
    expect(await row("smarterbot")).toMatchObject({ id: tenantUuid("smarterbot"), name: "SMARTERBOT", type: "infrastructure", status: "active", plan: "infinite", primary_domain: "smarterbot.cl", trial_expires_at: null });
    const demo = await row("demo");
    expect(demo).toMatchObject({ name: "DEMO 'quoted' $$ name", status: "trial", plan: "trial" });
    expect(Math.round(((demo.trial_expires_at as Date).getTime() - Date.now()) / 3_600_000)).toBe(24);
    const products = await su.query("select t.slug, array_agg(p.product order by p.product) as products from public.tenant_products p join public.tenants t on t.id = p.tenant_id where t.slug in ('smarterbot', 'demo') group by t.slug order by t.slug");
    expect(products.rows).toEqual([{ slug: "demo", products: ["chat", "erp"] }, { slug: "smarterbot", products: ["automation", "chat", "erp"] }]);
    expect((await su.query("select id, products, trial_hours from public.registry_plans where id in ('trial', 'infinite') order by id")).rows).toEqual([
      { id: "infinite", products: ["automation", "chat", "erp"], trial_hours: null },
      { id: "trial", products: ["chat", "erp"], trial_hours: 24 },
    ]);
    const stamp = async (): Promise<unknown[]> => (await su.query("select slug, xmin::text from public.tenants where slug in ('smarterbot', 'demo') union all select id, xmin::text from public.registry_plans order by 1")).rows;
    const before = await stamp();
    seed(stack);
    expect(await stamp()).toEqual(before);
  });

  it("keeps what changed in the database since, writing only what the stack file changed", async () => {
    // The demo's trial ran out, and the root tenant's contact was set in the application.
    await su.query("update public.tenants set status = 'suspended', trial_expires_at = now() - interval '1 hour' where slug = 'demo'");
    await su.query("update public.tenants set contact_email = 'ops@smarterbot.cl', name = 'Renamed in the app' where slug = 'smarterbot'");
    seed(stack);
    expect(await row("demo")).toMatchObject({ status: "suspended" });
    expect(await row("smarterbot")).toMatchObject({ contact_email: "ops@smarterbot.cl", name: "Renamed in the app" });
    // The stack file restarts the demo (a new trial length) and names the root tenant's contact.
    const changed = RegistrySchema.parse({
      ...stack,
      tenants: [{ ...stack.tenants[0], contactEmail: "root@smarterbot.cl" }, { ...stack.tenants[1], trialHours: 48 }],
    });
    seed(changed);
    const demo = await row("demo");
    expect(demo).toMatchObject({ status: "trial" });
    expect(Math.round(((demo.trial_expires_at as Date).getTime() - Date.now()) / 3_600_000)).toBe(48);
    expect(await row("smarterbot")).toMatchObject({ contact_email: "root@smarterbot.cl", name: "Renamed in the app" });
  });
});

describe("a copy into another environment (anonymise/tenant-registry.sql)", () => {
  it("replaces every contact email and drops the sign-ups and expired trials still to deliver, which carry emails", async () => {
    await su.query("insert into public.tenants (slug, name, contact_email) values ('anon-me', 'Anon', 'real.person@company.example')");
    db.pg.psql(template("sql/anonymise/tenant-registry.sql"));
    const emails = (await su.query("select contact_email from public.tenants where contact_email is not null")).rows.map((r) => r.contact_email as string);
    expect(emails.length).toBeGreaterThan(1);
    for (const e of emails) expect(e).toMatch(/^contact-[0-9a-f]{12}@example\.invalid$/);
    expect((await su.query("select count(*)::int as n from public.outbox where topic like 'tenant.%'")).rows[0].n).toBe(0);
  });
});

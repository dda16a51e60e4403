// npm run bench:rls [-- --tenants 1000 --tickets 1000000 --iterations 400]
//
// A tenant's typical queries under row-level security (as `authenticated`,
// the tenant coming from the JWT) beside the same queries as service_role
// with an explicit tenant filter, on a real PostgreSQL 15 with the msp-ops
// pack, 1,000 tenants and 1,000,000 tickets. Measured interleaved in one run,
// each request as PostgREST makes it: a transaction that sets the role and the
// claims, then the query as a prepared statement.
import { randomInt } from "node:crypto";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import type pg from "pg";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import { asRequest, SupabaseTestDb } from "../../tests/helpers/supabaseDb";

const { values } = parseArgs({ options: { tenants: { type: "string", default: "1000" }, tickets: { type: "string", default: "1000000" }, iterations: { type: "string", default: "400" } } });
const TENANTS = Number(values.tenants);
const TICKETS = Number(values.tickets);
const ITERATIONS = Number(values.iterations);

/** Bulk data with generate_series: per tenant 5 customers, 10 sites, 20 devices; tickets spread evenly. */
async function load(su: pg.Client): Promise<void> {
  const ids = Array.from({ length: TENANTS }, (_, i) => tenantUuid(`bench-${i}`));
  await su.query("set session_replication_role = replica");
  await su.query("create temporary table bench_tenants (n int primary key, id uuid not null)");
  await su.query("insert into bench_tenants select n, id from unnest($1::uuid[]) with ordinality as t(id, n)", [ids]);
  await su.query(`insert into public.clientes (id, tenant_id, nombre, email)
    select gen_random_uuid(), t.id, 'Cliente ' || c, 'c' || c || '@example.org' from bench_tenants t, generate_series(1, 5) c`);
  await su.query(`insert into public.sitios (id, tenant_id, cliente_id, nombre)
    select gen_random_uuid(), c.tenant_id, c.id, 'Sitio ' || s from public.clientes c, generate_series(1, 2) s`);
  await su.query(`insert into public.dispositivos (id, tenant_id, sitio_id, hostname, sistema_operativo, ultimo_parche, parches_pendientes)
    select gen_random_uuid(), s.tenant_id, s.id, 'host-' || d, 'Windows 11', now() - random() * interval '60 days', (random() * 3)::int
    from public.sitios s, generate_series(1, 2) d`);
  const perTenant = Math.floor(TICKETS / TENANTS);
  await su.query(`insert into public.tickets (id, tenant_id, cliente_id, titulo, prioridad, estado, sla_vence, created_at)
    select gen_random_uuid(), c.tenant_id, c.id, 'Ticket ' || k,
      (array['baja','media','alta','critica'])[1 + (k % 4)],
      case when k % 10 = 0 then 'abierto' when k % 10 = 1 then 'en_progreso' else 'cerrado' end,
      now() + make_interval(hours => (k % 96) - 48), now() - make_interval(mins => k)
    from public.clientes c, generate_series(1, ${perTenant / 5}) k`);
  await su.query("set session_replication_role = origin");
  await su.query("analyze");
}

interface Query {
  readonly name: string;
  readonly rls: string;
  readonly explicit: string;
}

const QUERIES: Query[] = [
  {
    name: "list open tickets (50, by SLA)",
    rls: "select id, titulo, prioridad, estado, sla_vence from public.tickets where estado <> 'cerrado' order by sla_vence limit 50",
    explicit: "select id, titulo, prioridad, estado, sla_vence from public.tickets where tenant_id = $1 and estado <> 'cerrado' order by sla_vence limit 50",
  },
  {
    name: "count devices that need patching (view)",
    rls: "select count(*) from public.v_dispositivos_sin_parchear",
    explicit: "select count(*) from public.v_dispositivos_sin_parchear where tenant_id = $1",
  },
  {
    name: "count tickets past SLA (view)",
    rls: "select count(*) from public.v_tickets_sla_vencidos",
    explicit: "select count(*) from public.v_tickets_sla_vencidos where tenant_id = $1",
  },
];

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** Named statements, as PostgREST prepares its queries: each is planned once per connection and reused. */
async function timed(client: pg.Client, role: string, claims: Record<string, unknown>, name: string, sql: string, params: unknown[]): Promise<number> {
  return asRequest(client, role, claims, async (c) => {
    const start = process.hrtime.bigint();
    await c.query({ name, text: sql, values: params });
    return Number(process.hrtime.bigint() - start) / 1e6;
  });
}

async function main(): Promise<void> {
  const db = new SupabaseTestDb();
  await db.start();
  try {
    db.applyBundle(renderMigrationBundle(projectMigrations(["msp-ops"], [])));
    const su = await db.superuser();
    const t0 = Date.now();
    await load(su);
    const counts = (await su.query("select (select count(*) from public.tickets) as tickets, (select count(distinct tenant_id) from public.tickets) as tenants")).rows[0];
    console.error(`loaded ${counts.tickets} tickets for ${counts.tenants} tenants in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const api = await db.authenticator();
    const ids = Array.from({ length: TENANTS }, (_, i) => tenantUuid(`bench-${i}`));

    console.log(`RLS benchmark: ${counts.tenants} tenants, ${counts.tickets} tickets, ${ITERATIONS} requests per query and mode, interleaved; PostgreSQL 15, ${cpus().length} cores\n`);
    console.log("| query | RLS p50 ms | RLS p95 ms | service_role + filter p50 ms | p95 ms | ratio p50 | ratio p95 |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const q of QUERIES) {
      const rls: number[] = [];
      const explicit: number[] = [];
      for (let i = 0; i < ITERATIONS + 20; i++) {
        const tenant = ids[randomInt(ids.length)]!;
        const user = { sub: "00000000-0000-4000-8000-000000000001", role: "authenticated", tenant_id: tenant };
        // Both read the same tenant's pages; whichever runs second finds them cached, so take turns.
        const runRls = (): Promise<number> => timed(api, "authenticated", user, `rls-${q.name}`, q.rls, []);
        const runExplicit = (): Promise<number> => timed(api, "service_role", { role: "service_role" }, `explicit-${q.name}`, q.explicit, [tenant]);
        let a: number;
        let b: number;
        if (i % 2 === 0) {
          a = await runRls();
          b = await runExplicit();
        } else {
          b = await runExplicit();
          a = await runRls();
        }
        if (i >= 20) {
          rls.push(a);
          explicit.push(b);
        }
      }
      const [r50, r95, e50, e95] = [pct(rls, 50), pct(rls, 95), pct(explicit, 50), pct(explicit, 95)];
      console.log(`| ${q.name} | ${r50.toFixed(3)} | ${r95.toFixed(3)} | ${e50.toFixed(3)} | ${e95.toFixed(3)} | **${(r50 / e50).toFixed(2)}×** | ${(r95 / e95).toFixed(2)}× |`);
    }
    if (process.env.BENCH_PLANS) {
      for (const q of QUERIES) {
        const a = await asRequest(api, "authenticated", { role: "authenticated", tenant_id: ids[0] }, (c) => c.query(`explain (analyze, costs off) ${q.rls}`));
        const b = await asRequest(api, "service_role", { role: "service_role" }, (c) => c.query(`explain (analyze, costs off) ${q.explicit}`, [ids[0]]));
        console.error(`\n${q.name}, RLS:\n${a.rows.map((r) => r["QUERY PLAN"]).join("\n")}\nexplicit:\n${b.rows.map((r) => r["QUERY PLAN"]).join("\n")}`);
      }
    }
    await api.end();
    await su.end();
  } finally {
    db.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

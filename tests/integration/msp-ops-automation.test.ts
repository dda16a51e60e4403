import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantConfig } from "../../src/config/schema";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { template } from "../../src/render/templates";
import { projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import { asRequest, SupabaseTestDb, type Claims } from "../helpers/supabaseDb";

/**
 * The msp-ops automations on a real PostgreSQL 15, through the project's own
 * migrations: n8n's RPC calls (rmm_ingest, the outbox, onboarding) made the
 * way PostgREST makes them, as service_role over the authenticator login.
 * One database for the file; each test uses its own ids, topics and rows.
 */
const tenant = (slug: string): TenantConfig => ({ slug, name: slug, isolation: "pooled", plan: "starter" }) as unknown as TenantConfig;
const migrations = projectMigrations(["msp-ops"], [tenant("techhilfe"), tenant("baeckerei-koch")]);
const A = tenantUuid("techhilfe");
const B = tenantUuid("baeckerei-koch");

const db = new SupabaseTestDb();
let su: pg.Client;
let api: pg.Client;
let api2: pg.Client;

/** Rows of the seed: customers, a device per customer, with its RMM agent. */
const ids = {
  acme: randomUUID(),
  beta: randomUUID(),
  panaderia: randomUUID(),
  acmeSitio: randomUUID(),
  betaSitio: randomUUID(),
  acmeDisp: randomUUID(),
  betaDisp: randomUUID(),
};

beforeAll(async () => {
  await db.start();
  db.applyBundle(renderMigrationBundle(migrations));
  su = await db.superuser();
  await su.query("insert into public.clientes (id, tenant_id, nombre) values ($1, $4, 'Acme'), ($2, $4, 'Beta'), ($3, $5, 'Panadería')", [ids.acme, ids.beta, ids.panaderia, A, B]);
  await su.query("insert into public.sitios (id, tenant_id, cliente_id, nombre) values ($1, $3, $4, 'HQ'), ($2, $3, $5, 'Oficina')", [ids.acmeSitio, ids.betaSitio, A, ids.acme, ids.beta]);
  await su.query(
    "insert into public.dispositivos (id, tenant_id, sitio_id, hostname, sistema_operativo, agente_rmm) values ($1, $3, $4, 'acme-srv1', 'Windows Server 2022', 'agent-acme-1'), ($2, $3, $5, 'beta-pc1', 'Windows 11', 'agent-beta-1')",
    [ids.acmeDisp, ids.betaDisp, A, ids.acmeSitio, ids.betaSitio],
  );
  // Acme: an active 4-hour contract, and an expired 1-hour one that must not count. Beta has none.
  await su.query(
    "insert into public.contratos (tenant_id, cliente_id, inicio, fin, importe_mensual, sla_horas) values ($1, $2, current_date - 30, null, 500, 4), ($1, $2, current_date - 400, current_date - 35, 300, 1)",
    [A, ids.acme],
  );
  // Whole clients, and one site of GRUPO that belongs to the other tenant.
  await su.query(
    "insert into public.rmm_mapeo (tenant_id, cliente_trmm, sitio_trmm, cliente_id, sitio_id) values ($1, 'ACME', '', $3, null), ($1, 'BETA', '', $4, $5), ($1, 'GRUPO', '', $3, null), ($2, 'GRUPO', 'Panaderia', $6, null)",
    [A, B, ids.acme, ids.beta, ids.betaSitio, ids.panaderia],
  );
  api = await db.authenticator();
  api2 = await db.authenticator();
});

afterAll(async () => {
  await api2?.end();
  await api?.end();
  await su?.end();
  db.stop();
});

const SERVICE: Claims = { role: "service_role" };
const tenantUser = (t: string): Claims => ({ sub: randomUUID(), role: "authenticated", tenant_id: t, app_metadata: { tenant_id: t } });

/** One committed PostgREST-style request: a transaction as `role` with the JWT's claims. */
async function commitAs<T>(client: pg.Client, role: string, claims: Claims, work: (c: pg.Client) => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    await client.query(`set local role ${role}`);
    await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    const out = await work(client);
    await client.query("commit");
    return out;
  } catch (e) {
    await client.query("rollback");
    throw e;
  }
}

type Result = { accion: string; evento_id: string; tenant_id: string | null; ticket_id: string | null; sin_asignar?: boolean; critico?: boolean };
let seq = 0;
/** A normalised TRMM alert, as n8n sends it; each call gets a new event id unless one is given. */
const alert = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: `trmm-${++seq}-${randomUUID().slice(0, 8)}`,
  event: "trigger",
  severity: "error",
  alert_type: "check",
  alert_time: new Date().toISOString(),
  message: "Disk space C: below 10%",
  agent_id: "agent-acme-1",
  hostname: "acme-srv1",
  client: "ACME",
  site: "HQ",
  check: "Disk Space Check: Drive C:",
  ...over,
});
const ingest = (evento: Record<string, unknown> | null, client = api): Promise<Result> =>
  commitAs(client, "service_role", SERVICE, async (c) => (await c.query("select public.rmm_ingest($1::jsonb) as r", [evento === null ? null : JSON.stringify(evento)])).rows[0].r as Result);
const one = async (sql: string, params: unknown[] = []): Promise<Record<string, unknown>> => (await su.query(sql, params)).rows[0];
const num = async (sql: string, params: unknown[] = []): Promise<number> => Number((await su.query(sql, params)).rows[0].n);
const openTickets = (agent: string, check: string): Promise<number> =>
  num("select count(*) as n from public.tickets where rmm_agente = $1 and rmm_check = $2 and estado <> 'cerrado'", [agent, check]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("rmm_ingest", () => {
  it("stores a duplicate event once and answers the second call with duplicado", async () => {
    const e = alert({ severity: "info", check: "Ping" });
    const first = await ingest(e);
    const second = await ingest(e);
    expect(first).toMatchObject({ accion: "registrado", tenant_id: A, ticket_id: null });
    expect(second).toMatchObject({ accion: "duplicado", evento_id: first.evento_id, tenant_id: A });
    expect(await num("select count(*) as n from public.eventos_rmm where evento_rmm_id = $1", [e.event_id])).toBe(1);
    expect(await one("select tenant_id, dispositivo_id, tipo, severidad, sin_asignar, payload ->> 'message' as message from public.eventos_rmm where id = $1", [first.evento_id])).toEqual({
      tenant_id: A, dispositivo_id: ids.acmeDisp, tipo: "check", severidad: "info", sin_asignar: false, message: "Disk space C: below 10%",
    });
  });

  it("opens one critical ticket per device and check; a repeat updates it instead of opening another", async () => {
    const check = "Disk Space Check: Drive D:";
    const first = await ingest(alert({ check }));
    expect(first).toMatchObject({ accion: "ticket_abierto", tenant_id: A, critico: true });
    const ticket = await one("select tenant_id, cliente_id, dispositivo_id, prioridad, estado, origen, rmm_repeticiones from public.tickets where id = $1", [first.ticket_id]);
    expect(ticket).toEqual({ tenant_id: A, cliente_id: ids.acme, dispositivo_id: ids.acmeDisp, prioridad: "critica", estado: "abierto", origen: "rmm", rmm_repeticiones: 1 });

    const again = await ingest(alert({ check }));
    const third = await ingest(alert({ check, severity: "error" }));
    expect(again).toMatchObject({ accion: "ticket_actualizado", ticket_id: first.ticket_id });
    expect(third).toMatchObject({ accion: "ticket_actualizado", ticket_id: first.ticket_id });
    expect(await openTickets("agent-acme-1", check)).toBe(1);
    expect((await one("select rmm_repeticiones from public.tickets where id = $1", [first.ticket_id])).rmm_repeticiones).toBe(3);
    // Every event points at the ticket it fed.
    expect(await num("select count(*) as n from public.eventos_rmm where ticket_id = $1", [first.ticket_id])).toBe(3);
    // Another check of the same device is another ticket.
    const other = await ingest(alert({ check: "CPU Load" }));
    expect(other.accion).toBe("ticket_abierto");
    expect(other.ticket_id).not.toBe(first.ticket_id);
  });

  it("makes one ticket when two calls for a new critical device and check race", async () => {
    const check = "Memory Check";
    // The first call's transaction is still open when the second arrives; the second waits on the unique index, then updates.
    await api.query("begin");
    await api.query("set local role service_role");
    const r1 = (await api.query("select public.rmm_ingest($1::jsonb) as r", [JSON.stringify(alert({ check }))])).rows[0].r as Result;
    const second = ingest(alert({ check }), api2);
    await sleep(150);
    await api.query("commit");
    const r2 = await second;
    expect([r1.accion, r2.accion]).toEqual(["ticket_abierto", "ticket_actualizado"]);
    expect(r2.ticket_id).toBe(r1.ticket_id);
    expect(await openTickets("agent-acme-1", check)).toBe(1);

    // Fully parallel, for a fresh key and for one event id delivered twice at once.
    const [p1, p2] = await Promise.all([ingest(alert({ check: "Services Check" }), api), ingest(alert({ check: "Services Check" }), api2)]);
    expect([p1.accion, p2.accion].sort()).toEqual(["ticket_abierto", "ticket_actualizado"]);
    expect(await openTickets("agent-acme-1", "Services Check")).toBe(1);
    const same = alert({ check: "Event Log Check" });
    const [d1, d2] = await Promise.all([ingest(same, api), ingest(same, api2)]);
    expect([d1.accion, d2.accion].sort()).toEqual(["duplicado", "ticket_abierto"]);
    expect(await num("select count(*) as n from public.eventos_rmm where evento_rmm_id = $1", [same.event_id])).toBe(1);
  });

  it("closes the open ticket on resolve; a resolve with nothing open is only recorded; the next alert opens a new ticket", async () => {
    const check = "Disk Space Check: Drive E:";
    const opened = await ingest(alert({ check }));
    const resolved = await ingest(alert({ check, event: "resolve", severity: "error" }));
    expect(resolved).toMatchObject({ accion: "ticket_cerrado", ticket_id: opened.ticket_id });
    const t = await one("select estado, cerrado_at is not null as cerrado from public.tickets where id = $1", [opened.ticket_id]);
    expect(t).toEqual({ estado: "cerrado", cerrado: true });
    expect(await openTickets("agent-acme-1", check)).toBe(0);

    const again = await ingest(alert({ check, event: "resolve" }));
    expect(again).toMatchObject({ accion: "registrado", ticket_id: null });
    expect(await num("select count(*) as n from public.eventos_rmm where id = $1", [again.evento_id])).toBe(1);

    const reopened = await ingest(alert({ check }));
    expect(reopened.accion).toBe("ticket_abierto");
    expect(reopened.ticket_id).not.toBe(opened.ticket_id);
  });

  it("sets the SLA deadline from the customer's active contract, else 24 hours", async () => {
    const hours = async (ticket: string | null): Promise<number> =>
      Number((await one("select extract(epoch from sla_vence - created_at) / 3600 as h from public.tickets where id = $1", [ticket])).h);
    const acme = await ingest(alert({ check: "SLA probe" }));
    expect(await hours(acme.ticket_id)).toBeCloseTo(4, 2);
    const beta = await ingest(alert({ check: "SLA probe", client: "BETA", site: "Oficina", agent_id: "agent-beta-1", hostname: "beta-pc1" }));
    expect(beta.accion).toBe("ticket_abierto");
    expect((await one("select cliente_id from public.tickets where id = $1", [beta.ticket_id])).cliente_id).toBe(ids.beta);
    expect(await hours(beta.ticket_id)).toBeCloseTo(24, 2);
  });

  it("decides what is critical from reglas_rmm: global defaults, overridden per tenant", async () => {
    const sev = async (r: Result): Promise<unknown> => (await one("select severidad from public.eventos_rmm where id = $1", [r.evento_id])).severidad;
    const warning = await ingest(alert({ severity: "warning", check: "Rule probe 1" }));
    expect(warning).toMatchObject({ accion: "registrado", critico: false, ticket_id: null });
    expect(await sev(warning)).toBe("aviso");
    // Lost agents are critical whatever their severity, by the global default.
    const overdue = await ingest(alert({ severity: "warning", alert_type: "availability", check: "" }));
    expect(overdue).toMatchObject({ accion: "ticket_abierto", critico: true });
    expect((await one("select rmm_check, titulo from public.tickets where id = $1", [overdue.ticket_id]))).toEqual({ rmm_check: "availability", titulo: "[RMM] acme-srv1: availability" });

    const rules = await su.query(
      "insert into public.reglas_rmm (tenant_id, severidad_trmm, tipo_alerta, critico) values ($1, 'warning', 'check', true), ($1, '*', 'availability', false) returning id",
      [A],
    );
    try {
      expect(await ingest(alert({ severity: "warning", check: "Rule probe 2" }))).toMatchObject({ accion: "ticket_abierto", critico: true });
      expect(await ingest(alert({ severity: "error", alert_type: "availability", check: "", agent_id: "agent-beta-1", client: "BETA" }))).toMatchObject({ accion: "registrado", critico: false });
      // Another tenant keeps the global defaults.
      expect(await ingest(alert({ severity: "warning", client: "GRUPO", site: "Panaderia", agent_id: "agent-pan-1", check: "Rule probe 3" }))).toMatchObject({ tenant_id: B, critico: false });
    } finally {
      await su.query("delete from public.reglas_rmm where id = any($1)", [rules.rows.map((r) => r.id)]);
    }
  });

  it("routes by client and site: a site's own mapping before its client's", async () => {
    const pan = await ingest(alert({ severity: "info", client: "GRUPO", site: "Panaderia", agent_id: "agent-pan-1" }));
    const otro = await ingest(alert({ severity: "info", client: "GRUPO", site: "Otro", agent_id: "agent-pan-1" }));
    expect(pan.tenant_id).toBe(B);
    expect(otro.tenant_id).toBe(A);
  });

  it("keeps and flags an alert from an unknown agent, and still tickets a critical one for the mapped customer", async () => {
    const info = await ingest(alert({ severity: "info", agent_id: "agent-nuevo", hostname: "nuevo-pc" }));
    expect(info).toMatchObject({ accion: "registrado", tenant_id: A, sin_asignar: true });
    expect(await one("select dispositivo_id, sin_asignar from public.eventos_rmm where id = $1", [info.evento_id])).toEqual({ dispositivo_id: null, sin_asignar: true });
    const critical = await ingest(alert({ agent_id: "agent-nuevo", hostname: "nuevo-pc", check: "Ping" }));
    expect(critical).toMatchObject({ accion: "ticket_abierto", sin_asignar: true });
    expect(await one("select cliente_id, dispositivo_id from public.tickets where id = $1", [critical.ticket_id])).toEqual({ cliente_id: ids.acme, dispositivo_id: null });
  });

  it("keeps an alert from an unknown client apart, for an operator, without crashing", async () => {
    const e = alert({ client: "DESCONOCIDO", site: "X", agent_id: "agent-x" });
    const r = await ingest(e);
    expect(r).toEqual({ accion: "sin_asignar", evento_id: expect.any(String), tenant_id: null, ticket_id: null, sin_asignar: true });
    expect(await one("select cliente_trmm, sitio_trmm, agente_rmm, hostname, payload ->> 'event_id' as ev from public.eventos_rmm_sin_asignar where id = $1", [r.evento_id])).toEqual({
      cliente_trmm: "DESCONOCIDO", sitio_trmm: "X", agente_rmm: "agent-x", hostname: "acme-srv1", ev: e.event_id,
    });
    expect(await ingest(e)).toMatchObject({ accion: "duplicado", evento_id: r.evento_id });
    expect(await num("select count(*) as n from public.eventos_rmm_sin_asignar where evento_rmm_id = $1", [e.event_id])).toBe(1);
    expect(await num("select count(*) as n from public.eventos_rmm where evento_rmm_id = $1", [e.event_id])).toBe(0);
    // No client at all is an unknown client too.
    expect((await ingest(alert({ client: undefined, site: undefined }))).accion).toBe("sin_asignar");
  });

  it("refuses malformed input with SQLSTATE 22023 and a message naming the problem, storing nothing", async () => {
    const before = await num("select (select count(*) from public.eventos_rmm) + (select count(*) from public.eventos_rmm_sin_asignar) as n");
    const { event_id: _, ...noId } = alert();
    await expect(ingest(noId)).rejects.toMatchObject({ code: "22023", message: "rmm_ingest: event_id is required" });
    await expect(ingest(alert({ event_id: "  " }))).rejects.toMatchObject({ code: "22023", message: "rmm_ingest: event_id is required" });
    await expect(ingest(alert({ event: "explode" }))).rejects.toMatchObject({ code: "22023", message: expect.stringContaining("event must be trigger or resolve") });
    await expect(ingest(alert({ severity: "fatal" }))).rejects.toMatchObject({ code: "22023", message: expect.stringContaining("severity") });
    await expect(ingest(null)).rejects.toMatchObject({ code: "22023" });
    await expect(commitAs(api, "service_role", SERVICE, (c) => c.query("select public.rmm_ingest('[1]'::jsonb)"))).rejects.toMatchObject({ code: "22023" });
    expect(await num("select (select count(*) from public.eventos_rmm) + (select count(*) from public.eventos_rmm_sin_asignar) as n")).toBe(before);
  });
});

describe("who may call the automations", () => {
  const calls = [
    "select public.rmm_ingest('{\"event_id\": \"x\", \"event\": \"trigger\"}'::jsonb)",
    "select public.outbox_claim('facturacion')",
    "select public.outbox_ack(1)",
    "select public.outbox_fail(1, 'x')",
    `select public.onboarding_first_ticket('${A}', '${ids.acme}')`,
  ];
  const tables = ["outbox", "rmm_mapeo", "reglas_rmm", "eventos_rmm_sin_asignar"];
  const outsiders: [string, Claims | null][] = [["anon", { role: "anon" }], ["authenticated", tenantUser(A)], ["auditor", { sub: randomUUID(), role: "auditor" }]];

  it("no tenant role can execute a function or read the service tables", async () => {
    for (const [role, claims] of outsiders) {
      for (const sql of [...calls, ...tables.map((t) => `select count(*) from public.${t}`), "select supafleet.msp_sla_horas(null, null)"]) {
        await expect(asRequest(api, role, claims, (c) => c.query(sql)), `${role}: ${sql}`).rejects.toMatchObject({ code: "42501" });
      }
      for (const t of tables) {
        await expect(asRequest(api, role, claims, (c) => c.query(`delete from public.${t}`)), `${role} delete ${t}`).rejects.toMatchObject({ code: "42501" });
      }
    }
    // Only service_role holds EXECUTE, and only on the RPC functions.
    const { rows } = await su.query(
      `select p.proname, r.rolname from pg_proc p cross join (values ('anon'), ('authenticated'), ('auditor'), ('service_role')) r(rolname)
       where p.pronamespace = 'public'::regnamespace and p.proname in ('rmm_ingest', 'outbox_claim', 'outbox_ack', 'outbox_fail', 'onboarding_first_ticket')
         and has_function_privilege(r.rolname, p.oid, 'execute') order by 1, 2`,
    );
    expect(rows.map((r) => `${r.proname}:${r.rolname}`)).toEqual(["onboarding_first_ticket:service_role", "outbox_ack:service_role", "outbox_claim:service_role", "outbox_fail:service_role", "rmm_ingest:service_role"]);
    const defs = await su.query("select proname, prosecdef, proconfig from pg_proc where pronamespace = 'public'::regnamespace and proname in ('rmm_ingest', 'outbox_claim', 'outbox_ack', 'outbox_fail', 'onboarding_first_ticket')");
    for (const d of defs.rows) expect({ f: d.proname, definer: d.prosecdef, config: d.proconfig }).toEqual({ f: d.proname, definer: true, config: ['search_path=""'] });
  });

  it("a tenant's user still reads its own RMM events, and its tickets", async () => {
    const n = await asRequest(api, "authenticated", tenantUser(A), async (c) => Number((await c.query("select count(*) as n from public.eventos_rmm")).rows[0].n));
    expect(n).toBeGreaterThan(0);
    const other = await asRequest(api, "authenticated", tenantUser(randomUUID()), async (c) => Number((await c.query("select count(*) as n from public.eventos_rmm")).rows[0].n));
    expect(other).toBe(0);
  });

  it("service_role can do all of it", async () => {
    await asRequest(api, "service_role", SERVICE, async (c) => {
      for (const t of tables) await c.query(`select count(*) from public.${t}`);
      await c.query("select public.outbox_claim('nada')");
      await c.query("select public.outbox_ack(-1)");
      await c.query("select public.outbox_fail(-1, 'x')");
      expect((await c.query(calls[4]!)).rows.length).toBe(1);
      await c.query("insert into public.outbox (topic, tenant_id, clave) values ('x', $1, $2)", [A, randomUUID()]);
    });
  });
});

describe("the outbox", () => {
  const facturacion = (suscripcion: string): Promise<Record<string, unknown>[]> =>
    su.query("select clave, tenant_id, payload from public.outbox where topic = 'facturacion' and payload -> 'suscripcion' ->> 'id' = $1 order by id", [suscripcion]).then((r) => r.rows);

  it("gets one billing entry per change of a subscription, in the same transaction: none for a rolled-back or empty change", async () => {
    const user = tenantUser(A);
    const sid = await commitAs(api, "authenticated", user, async (c) =>
      (await c.query("insert into public.suscripciones (tenant_id, cliente_id, producto, precio_unitario) values ($1, $2, 'M365 Business', 12.5) returning id", [A, ids.acme])).rows[0].id as string,
    );
    let rows = await facturacion(sid);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tenant_id).toBe(A);
    expect(rows[0]!.clave).toMatch(new RegExp(`^suscripciones:${sid}:insert:[0-9a-f-]{36}$`));
    expect(rows[0]!.payload).toMatchObject({ op: "insert", tenant_id: A, cliente_id: ids.acme, suscripcion: { id: sid, producto: "M365 Business", cantidad: 1, estado: "activa" } });

    await commitAs(api, "authenticated", user, (c) => c.query("update public.suscripciones set cantidad = 5 where id = $1", [sid]));
    rows = await facturacion(sid);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.payload).toMatchObject({ op: "update", suscripcion: { cantidad: 5 } });

    // Rolled back: the change and its entry go together.
    await asRequest(api, "authenticated", user, (c) => c.query("update public.suscripciones set cantidad = 9 where id = $1", [sid]));
    await commitAs(api, "authenticated", user, (c) => c.query("update public.suscripciones set cantidad = cantidad where id = $1", [sid]));
    expect(await facturacion(sid)).toHaveLength(2);

    await commitAs(api, "service_role", SERVICE, (c) => c.query("delete from public.suscripciones where id = $1", [sid]));
    rows = await facturacion(sid);
    expect(rows).toHaveLength(3);
    expect(rows[2]!.payload).toMatchObject({ op: "delete", suscripcion: { id: sid, cantidad: 5 } });
    expect(new Set(rows.map((r) => r.clave)).size).toBe(3);
  });

  const add = async (topic: string, n: number): Promise<string[]> =>
    (await su.query("insert into public.outbox (topic, tenant_id, clave, payload) select $1, $2, $1 || ':' || g, jsonb_build_object('n', g) from generate_series(1, $3::int) g returning id", [topic, A, n])).rows.map((r) => String(r.id));
  const claim = async (topic: string, limit = 10, lease = 60, client = api): Promise<{ id: number; clave: string; intentos: number }[]> =>
    commitAs(client, "service_role", SERVICE, async (c) => (await c.query("select e from public.outbox_claim($1, $2, $3) e", [topic, limit, lease])).rows.map((r) => r.e));
  const rpc = (sql: string, params: unknown[]): Promise<unknown> => commitAs(api, "service_role", SERVICE, (c) => c.query(sql, params));

  it("claims oldest first and leases: a claimed entry is not claimed again; failed comes back after its backoff; acked never", async () => {
    const [r1, r2, r3] = await add("prueba-lease", 3);
    const first = await claim("prueba-lease", 2);
    expect(first.map((e) => String(e.id))).toEqual([r1, r2]);
    expect(first[0]).toEqual({ id: Number(r1), topic: "prueba-lease", clave: "prueba-lease:1", tenant_id: A, payload: { n: 1 }, intentos: 0 });
    expect((await claim("prueba-lease")).map((e) => String(e.id))).toEqual([r3]);
    expect(await claim("prueba-lease")).toEqual([]);

    await rpc("select public.outbox_ack($1)", [r1]);
    await rpc("select public.outbox_fail($1, $2, $3)", [r2, "gateway said 503", 1]);
    // Still inside its backoff, and r3 is still leased.
    expect(await claim("prueba-lease")).toEqual([]);
    expect(await one("select intentos, ultimo_error, reservado_hasta from public.outbox where id = $1", [r2])).toEqual({ intentos: 1, ultimo_error: "gateway said 503", reservado_hasta: null });

    // A short lease runs out as a crashed worker's would.
    const [r4] = await add("prueba-lease-corta", 1);
    expect((await claim("prueba-lease-corta", 10, 1)).map((e) => String(e.id))).toEqual([r4]);
    expect(await claim("prueba-lease-corta")).toEqual([]);
    await sleep(1200);
    const back = await claim("prueba-lease");
    expect(back.map((e) => [String(e.id), e.intentos])).toEqual([[r2, 1]]);
    expect((await claim("prueba-lease-corta")).map((e) => String(e.id))).toEqual([r4]);

    // An acked entry stays delivered: a second ack keeps its time, a late fail does nothing.
    const acked = await one("select entregado_at from public.outbox where id = $1", [r1]);
    await rpc("select public.outbox_ack($1)", [r1]);
    await rpc("select public.outbox_fail($1, 'late', 0)", [r1]);
    expect(await one("select entregado_at, intentos from public.outbox where id = $1", [r1])).toEqual({ entregado_at: acked.entregado_at, intentos: 0 });
    await su.query("update public.outbox set reservado_hasta = null where topic = 'prueba-lease'");
    expect((await claim("prueba-lease")).map((e) => String(e.id))).toEqual([r2, r3]);
  });

  it("backs off exponentially from 15 seconds, capped at 15 minutes", async () => {
    const [id] = await add("prueba-backoff", 1);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await rpc("select public.outbox_fail($1, 'down')", [id]);
      delays.push(Math.round(Number((await one("select extract(epoch from siguiente_intento - now()) as s from public.outbox where id = $1", [id])).s)));
    }
    expect(delays).toEqual([15, 30, 60, 120, 240, 480, 900, 900]);
    expect((await one("select intentos from public.outbox where id = $1", [id])).intentos).toBe(8);
  });

  it("never hands one entry to two concurrent claimers", async () => {
    const rows = await add("prueba-concurrente", 30);
    // The first claimer still holds its rows when the second claims: skip locked, not wait.
    await api.query("begin");
    await api.query("set local role service_role");
    const a = (await api.query("select e from public.outbox_claim('prueba-concurrente', 12) e")).rows.map((r) => String(r.e.id));
    const b = (await claim("prueba-concurrente", 12, 60, api2)).map((e) => String(e.id));
    await api.query("commit");
    expect(a).toHaveLength(12);
    expect(b).toHaveLength(12);
    expect(a.filter((x) => b.includes(x))).toEqual([]);
    // And racing in parallel for the rest.
    const [c, d] = await Promise.all([claim("prueba-concurrente", 4, 60, api), claim("prueba-concurrente", 4, 60, api2)]);
    const all = [...a, ...b, ...c.map((e) => String(e.id)), ...d.map((e) => String(e.id))];
    expect([...all].sort()).toEqual([...rows].sort());
  });
});

describe("onboarding", () => {
  it("a new customer writes one onboarding entry, with its contact details", async () => {
    const cid = await commitAs(api, "authenticated", tenantUser(A), async (c) =>
      (await c.query("insert into public.clientes (tenant_id, nombre, email, telefono) values ($1, 'Zapatería Ruiz', 'ana@ruiz.example', '+34 600 000 001') returning id", [A])).rows[0].id as string,
    );
    const { rows } = await su.query("select topic, tenant_id, clave, payload from public.outbox where clave like $1", [`clientes:${cid}:%`]);
    expect(rows).toEqual([
      { topic: "onboarding", tenant_id: A, clave: `clientes:${cid}:alta`, payload: { tenant_id: A, cliente: { id: cid, nombre: "Zapatería Ruiz", email: "ana@ruiz.example", telefono: "+34 600 000 001" } } },
    ]);
    const claimed = await commitAs(api, "service_role", SERVICE, async (c) => (await c.query("select e from public.outbox_claim('onboarding', 100) e")).rows.map((r) => r.e));
    expect(claimed.map((e) => e.clave)).toContain(`clientes:${cid}:alta`);
  });

  it("onboarding_first_ticket opens the welcome ticket once; a second call returns the same one", async () => {
    const call = (t: string, c: string): Promise<string> =>
      commitAs(api, "service_role", SERVICE, async (cl) => (await cl.query("select public.onboarding_first_ticket($1, $2) as id", [t, c])).rows[0].id as string);
    const first = await call(A, ids.beta);
    const second = await call(A, ids.beta);
    expect(second).toBe(first);
    expect(await num("select count(*) as n from public.tickets where cliente_id = $1 and origen = 'onboarding'", [ids.beta])).toBe(1);
    expect(await one("select titulo, estado, tenant_id, round(extract(epoch from sla_vence - created_at) / 3600) as h from public.tickets where id = $1", [first])).toEqual({
      titulo: "Bienvenida / alta de cliente", estado: "abierto", tenant_id: A, h: "24",
    });
    // Acme's contract sets its deadline; a customer of another tenant is not this tenant's.
    expect(Number((await one("select extract(epoch from sla_vence - created_at) / 3600 as h from public.tickets where id = $1", [await call(A, ids.acme)])).h)).toBeCloseTo(4, 2);
    await expect(call(B, ids.acme)).rejects.toMatchObject({ code: "22023" });
  });
});

describe("the automation migration", () => {
  it("applies again on top of itself without change", async () => {
    const sql = migrations.find((m) => m.id === "1001_msp_ops_functions")!.sql;
    const rules = await num("select count(*) as n from public.reglas_rmm");
    db.pg.psql(sql);
    expect(await num("select count(*) as n from public.reglas_rmm")).toBe(rules);
    expect(await ingest(alert({ severity: "info" }))).toMatchObject({ accion: "registrado" });
  });
});

// Last: it rewrites the data the tests above wrote.
describe("anonymising a copy of prod (templates/sql/anonymise/msp-ops.sql)", () => {
  it("leaves no TRMM client, site or host name, no check text, and no outbox entry to send", async () => {
    const names = async (): Promise<string> =>
      JSON.stringify((await su.query(
        `select (select json_agg(m order by m.id) from public.rmm_mapeo m) as m, (select json_agg(s order by s.id) from public.eventos_rmm_sin_asignar s) as s,
                (select json_agg(t.rmm_check order by t.id) from public.tickets t) as t, (select json_agg(o order by o.id) from public.outbox o) as o`,
      )).rows[0]);
    const before = await names();
    for (const v of ["ACME", "GRUPO", "Panaderia", "DESCONOCIDO", "Disk Space Check", "Zapatería Ruiz", "ana@ruiz.example"]) expect(before).toContain(v);
    const counts = await one("select (select count(*) from public.rmm_mapeo) as m, (select count(*) from public.eventos_rmm_sin_asignar) as s");
    db.pg.psql(template("sql/anonymise/msp-ops.sql"));
    const after = await names();
    for (const v of ["ACME", "GRUPO", "Panaderia", "DESCONOCIDO", "Disk Space Check", "Zapatería Ruiz", "ana@ruiz.example", "acme-srv1"]) expect(after).not.toContain(v);
    expect(await one("select (select count(*) from public.rmm_mapeo) as m, (select count(*) from public.eventos_rmm_sin_asignar) as s")).toEqual(counts);
    expect(await num("select count(*) as n from public.outbox")).toBe(0);
    // A second run gives the same result.
    db.pg.psql(template("sql/anonymise/msp-ops.sql"));
    expect(await names()).toBe(after);
  });
});

describe("a user's own profile (msp-ops users)", () => {
  it("lets a técnico edit their own name, never their own rol", async () => {
    const me = tenantUser(A);
    await su.query("insert into auth.users (id, email) values ($1, $2)", [me.sub, `${String(me.sub)}@example.org`]);
    await su.query("insert into public.users (id, tenant_id, email, nombre, rol) values ($1, $2, 'tec@example.org', 'Tec', 'tecnico')", [me.sub, A]);
    await commitAs(api, "authenticated", me, (c) => c.query("update public.users set nombre = 'Técnica' where id = $1", [me.sub]));
    await expect(commitAs(api, "authenticated", me, (c) => c.query("update public.users set rol = 'admin' where id = $1", [me.sub]))).rejects.toThrow(/permission denied/);
    expect(await one("select nombre, rol from public.users where id = $1", [me.sub])).toEqual({ nombre: "Técnica", rol: "tecnico" });
    // service_role (the automations, an admin tool) still can.
    await commitAs(api, "service_role", SERVICE, (c) => c.query("update public.users set rol = 'admin' where id = $1", [me.sub]));
    expect((await one("select rol from public.users where id = $1", [me.sub])).rol).toBe("admin");
  });
});

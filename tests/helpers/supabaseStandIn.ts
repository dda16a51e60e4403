import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { WebSocketServer, type WebSocket } from "ws";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import type { TenantConfig } from "../../src/config/schema";
import { SupabaseTestDb } from "./supabaseDb";
import { GoTrueSettingsStandIn, type StandInUser } from "./gotrueSettings";

/**
 * A stand-in for one Supabase project's gateway on loopback, enough for
 * supabase-js: GoTrue (admin users, password sign-in), PostgREST for clientes
 * and tickets on a REAL PostgreSQL with the real msp-ops migrations and RLS,
 * Storage (in memory), one edge function, and Realtime's Phoenix socket.
 * Each part has a failure mode the probe must catch.
 */
export interface StandInModes {
  /** down: /rest/v1/ answers 503, as while the stack still boots; flaky: every second request after the first does. */
  health: "ok" | "down" | "flaky";
  signIn: "ok" | "refuse";
  /** refuse: the admin API will not delete users (the probe must say so, not hide it). */
  userDelete: "ok" | "refuse";
  /** off: tokens lack the top-level tenant_id, as when supafleet's access-token hook is not configured. */
  hook: "on" | "off";
  /** empty: selects on clientes answer [], as a broken select policy would. */
  reads: "ok" | "empty";
  /** ignore: every signed-in request runs as service_role (BYPASSRLS), as a broken policy set would leak. */
  rls: "enforce" | "ignore";
  storage: "ok" | "corrupt";
  realtime: "ok" | "silent";
  /** error: 500; text: 200 with a plain-text body. */
  functions: "ok" | "error" | "text";
}

export const NORMAL: StandInModes = { health: "ok", signIn: "ok", userDelete: "ok", hook: "on", reads: "ok", rls: "enforce", storage: "ok", realtime: "ok", functions: "ok" };

type Claims = Record<string, unknown>;

const b64url = (v: string | Buffer): string => Buffer.from(v).toString("base64url");

/** HS256, as GoTrue signs with the project's JWT secret. */
export function signJwt(claims: Claims, secret: string): string {
  const head = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

export function verifyJwt(token: string, secret: string): Claims | null {
  const [h, p, s] = token.split(".");
  if (!h || !p || !s) return null;
  const want = createHmac("sha256", secret).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Claims;
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return null;
  return claims;
}

/** A real PostgreSQL 15 with Supabase's roles stood in and the msp-ops pack applied, for these tenants. */
export async function startMspOpsDb(slugs: readonly string[]): Promise<SupabaseTestDb> {
  const tenants = slugs.map((slug) => ({ slug, name: slug, contact: { name: "x", email: "x@example.org" }, plan: "starter", isolation: "pooled", projects: [] }) as unknown as TenantConfig);
  const db = await new SupabaseTestDb().start();
  db.applyBundle(renderMigrationBundle(projectMigrations(["msp-ops"], tenants)));
  return db;
}

export { tenantUuid };

type User = StandInUser;

interface Subscription {
  ws: WebSocket;
  topic: string;
  claims: Claims | null;
  bindings: { id: number; event: string; schema: string; table: string; filter?: string }[];
}

const TABLES = new Set(["clientes", "tickets"]);
const IDENT = /^[a-z_][a-z0-9_]*$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: object,
  ) {
    super(JSON.stringify(body));
  }
}

export class SupabaseStandIn {
  readonly secret = randomBytes(32).toString("hex");
  readonly anonKey = signJwt({ role: "anon", iss: "supabase" }, this.secret);
  readonly serviceKey = signJwt({ role: "service_role", iss: "supabase" }, this.secret);
  modes: StandInModes = { ...NORMAL };
  readonly users = new Map<string, User>();
  /** A project's own Auth settings: sign-up, magic links through the allow-list, OAuth authorize. */
  readonly gotrue = new GoTrueSettingsStandIn(() => this.url);
  readonly buckets = new Map<string, Map<string, Buffer>>();
  private server!: Server;
  private wss!: WebSocketServer;
  private pg!: pg.Client;
  private queue: Promise<unknown> = Promise.resolve();
  private subs: Subscription[] = [];
  private nextBinding = 1;
  private healthCalls = 0;
  url = "";

  constructor(private readonly db: SupabaseTestDb) {}

  async start(): Promise<this> {
    this.pg = await this.db.authenticator();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on("upgrade", (req, socket, head) => {
      if (new URL(req.url ?? "/", "http://x").pathname !== "/realtime/v1/websocket") return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.realtime(ws, req));
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    // Its Auth settings' defaults name its own URL.
    this.gotrue.reset();
    return this;
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.pg.end();
  }

  reset(): void {
    this.modes = { ...NORMAL };
    this.gotrue.reset();
    this.healthCalls = 0;
  }

  private claimsOf(req: IncomingMessage): Claims {
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const token = bearer ?? (req.headers.apikey as string | undefined);
    const claims = token ? verifyJwt(token, this.secret) : null;
    if (!claims) throw new HttpError(401, { message: "Invalid JWT" });
    return claims;
  }

  private serviceOnly(req: IncomingMessage): void {
    if (this.claimsOf(req).role !== "service_role") throw new HttpError(403, { message: "service_role required" });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", this.url);
    const send = (status: number, body: unknown, type = "application/json"): void => {
      const data = Buffer.isBuffer(body) ? body : body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
      res.writeHead(status, { "content-type": type, "content-length": data.length }).end(data);
    };
    const json = (): Record<string, unknown> => (raw.length ? (JSON.parse(raw.toString()) as Record<string, unknown>) : {});
    try {
      const path = url.pathname;
      const method = req.method ?? "GET";
      let m: RegExpExecArray | null;
      if (path === "/rest/v1/" && method === "GET") {
        this.claimsOf(req);
        const n = this.healthCalls++;
        const up = this.modes.health === "ok" || (this.modes.health === "flaky" && n % 2 === 0);
        return up ? send(200, { swagger: "2.0" }) : send(503, { message: "starting" });
      }
      if ((m = /^\/rest\/v1\/(\w+)$/.exec(path))) return send(...(await this.rest(req, m[1]!, url, json)));
      if (path === "/auth/v1/admin/users" && method === "POST") {
        this.serviceOnly(req);
        const b = json();
        const email = String(b.email);
        if ([...this.users.values()].some((u) => u.email === email)) throw new HttpError(422, { code: "email_exists", msg: "A user with this email address has already been registered" });
        const user: User = { id: randomUUID(), email, password: String(b.password), app_metadata: { provider: "email", providers: ["email"], ...(b.app_metadata as object) } };
        this.users.set(user.id, user);
        return send(200, this.userJson(user));
      }
      if ((m = /^\/auth\/v1\/admin\/users\/([\w-]+)$/.exec(path)) && method === "DELETE") {
        this.serviceOnly(req);
        if (this.modes.userDelete === "refuse") throw new HttpError(500, { code: "unexpected_failure", msg: "Database error deleting user" });
        if (!this.users.delete(m[1]!)) throw new HttpError(404, { code: "user_not_found", msg: "User not found" });
        return send(200, {});
      }
      if (path === "/auth/v1/token" && method === "POST" && url.searchParams.get("grant_type") === "password") {
        this.claimsOf(req);
        const b = json();
        const user = [...this.users.values()].find((u) => u.email === b.email && u.password === b.password);
        if (!user || this.modes.signIn === "refuse") throw new HttpError(400, { code: "invalid_credentials", error_code: "invalid_credentials", msg: "Invalid login credentials" });
        return send(200, this.session(user));
      }
      if (path.startsWith("/storage/v1/")) return send(...this.storage(req, method, path.slice("/storage/v1".length), raw, json));
      if ((m = /^\/functions\/v1\/([\w-]+)$/.exec(path))) {
        this.claimsOf(req);
        if (m[1] !== "hello") throw new HttpError(404, { error: "function not found" });
        if (this.modes.functions === "error") return send(500, { error: "boom" });
        if (this.modes.functions === "text") return send(200, Buffer.from("Hello probe!"), "text/plain");
        return send(200, { message: `Hello ${String(json().name ?? "world")}!` });
      }
      const g = this.gotrue.handle(method, url, json, () => String(this.claimsOf(req).role), this.users, (u) => this.userJson(u));
      if (g !== undefined) return g.location !== undefined ? void res.writeHead(g.status, { location: g.location }).end() : send(g.status, g.body);
      throw new HttpError(404, { message: `no route ${method} ${path}` });
    } catch (err) {
      if (err instanceof HttpError) return send(err.status, err.body);
      send(500, { message: err instanceof Error ? err.message : String(err) });
    }
  }

  private userJson(u: User): object {
    const now = new Date().toISOString();
    return { id: u.id, aud: "authenticated", role: "authenticated", email: u.email, email_confirmed_at: u.confirmed === false ? null : now, app_metadata: u.app_metadata, user_metadata: {}, identities: [], created_at: now, updated_at: now };
  }

  /** GoTrue's password grant, with the claims supafleet's access-token hook adds: tenant_id copied from app_metadata. */
  private session(u: User): object {
    const iat = Math.floor(Date.now() / 1000);
    const claims: Claims = { aud: "authenticated", iat, exp: iat + 3600, sub: u.id, email: u.email, role: "authenticated", app_metadata: u.app_metadata, user_metadata: {}, session_id: randomUUID() };
    if (typeof u.app_metadata.tenant_id === "string" && this.modes.hook === "on") claims.tenant_id = u.app_metadata.tenant_id;
    return { access_token: signJwt(claims, this.secret), token_type: "bearer", expires_in: 3600, expires_at: iat + 3600, refresh_token: randomBytes(16).toString("hex"), user: this.userJson(u) };
  }

  /** One request as PostgREST runs it: a transaction as the JWT's role, under its claims; committed. */
  private sql(claims: Claims, text: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    let role = String(claims.role);
    if (!["anon", "authenticated", "service_role"].includes(role)) throw new HttpError(401, { message: `role ${role} not allowed` });
    if (role === "authenticated" && this.modes.rls === "ignore") role = "service_role";
    const run = async (): Promise<Record<string, unknown>[]> => {
      await this.pg.query("begin");
      try {
        await this.pg.query(`set local role ${role}`);
        await this.pg.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
        const { rows } = await this.pg.query(text, params);
        await this.pg.query("commit");
        return rows;
      } catch (err) {
        await this.pg.query("rollback");
        const e = err as { code?: string; message: string };
        throw new HttpError(e.code === "42501" ? (role === "anon" ? 401 : 403) : 400, { code: e.code, message: e.message, details: null, hint: null });
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async rest(req: IncomingMessage, table: string, url: URL, body: () => Record<string, unknown>): Promise<[number, unknown]> {
    const claims = this.claimsOf(req);
    if (!TABLES.has(table)) throw new HttpError(404, { code: "42P01", message: `relation "public.${table}" does not exist` });
    const ident = (s: string): string => {
      if (!IDENT.test(s)) throw new HttpError(400, { message: `bad identifier ${s}` });
      return s;
    };
    const selectParam = url.searchParams.get("select") ?? "*";
    const cols = selectParam === "*" ? "*" : selectParam.split(",").map((c) => ident(c.trim())).join(", ");
    const params: unknown[] = [];
    const where: string[] = [];
    for (const [k, v] of url.searchParams) {
      if (["select", "columns", "order", "limit"].includes(k)) continue;
      if (!v.startsWith("eq.")) throw new HttpError(400, { message: `only eq filters: ${k}=${v}` });
      params.push(v.slice(3));
      where.push(`${ident(k)} = $${params.length}`);
    }
    const whereSql = where.length ? ` where ${where.join(" and ")}` : "";
    const representation = /return=representation/.test(String(req.headers.prefer ?? ""));
    const answer = (status: number, rows: unknown[]): [number, unknown] => (representation || req.method === "GET" ? [status === 204 ? 200 : status, rows] : [status, undefined]);
    switch (req.method) {
      case "GET":
        if (table === "clientes" && this.modes.reads === "empty") return [200, []];
        return [200, await this.sql(claims, `select ${cols} from public.${table}${whereSql}`, params)];
      case "POST": {
        const b = body();
        const keys = Object.keys(b).map(ident);
        const values = keys.map((k) => b[k]);
        const rows = await this.sql(claims, `insert into public.${table} (${keys.join(", ")}) values (${keys.map((_, i) => `$${i + 1}`).join(", ")}) returning ${cols === "*" ? "*" : `${cols}, tenant_id, id`}`, values);
        if (table === "tickets") for (const r of rows) this.publish(table, r);
        return answer(201, rows.map((r) => (cols === "*" ? r : Object.fromEntries(selectParam.split(",").map((c) => [c.trim(), r[c.trim()]])))));
      }
      case "PATCH": {
        const b = body();
        const sets = Object.keys(b).map((k) => {
          params.push(b[k]);
          return `${ident(k)} = $${params.length}`;
        });
        return answer(204, await this.sql(claims, `update public.${table} set ${sets.join(", ")}${whereSql} returning ${cols}`, params));
      }
      case "DELETE":
        return answer(204, await this.sql(claims, `delete from public.${table}${whereSql} returning ${cols}`, params));
      default:
        throw new HttpError(405, { message: "method not allowed" });
    }
  }

  private storage(req: IncomingMessage, method: string, path: string, raw: Buffer, json: () => Record<string, unknown>): [number, unknown, string?] {
    this.serviceOnly(req);
    const notFound = (what: string): HttpError => new HttpError(404, { statusCode: "404", error: "not_found", message: `${what} not found` });
    let m: RegExpExecArray | null;
    if (path === "/bucket" && method === "POST") {
      const id = String(json().id ?? json().name);
      if (this.buckets.has(id)) throw new HttpError(409, { statusCode: "409", error: "Duplicate", message: "The resource already exists" });
      this.buckets.set(id, new Map());
      return [200, { name: id }];
    }
    if ((m = /^\/bucket\/([^/]+)$/.exec(path)) && method === "DELETE") {
      const b = this.buckets.get(decodeURIComponent(m[1]!));
      if (!b) throw notFound("Bucket");
      if (b.size > 0) throw new HttpError(409, { statusCode: "409", error: "InvalidRequest", message: "The bucket you tried to delete is not empty" });
      this.buckets.delete(decodeURIComponent(m[1]!));
      return [200, { message: "Successfully deleted" }];
    }
    if ((m = /^\/object\/([^/]+)$/.exec(path)) && method === "DELETE") {
      const b = this.buckets.get(decodeURIComponent(m[1]!));
      if (!b) throw notFound("Bucket");
      const names = (json().prefixes as string[]).filter((p) => b.delete(p));
      return [200, names.map((name) => ({ name }))];
    }
    if ((m = /^\/object\/([^/]+)\/(.+)$/.exec(path))) {
      const b = this.buckets.get(decodeURIComponent(m[1]!));
      const key = decodeURIComponent(m[2]!);
      if (!b) throw notFound("Bucket");
      if (method === "POST" || method === "PUT") {
        b.set(key, raw);
        return [200, { Key: `${m[1]}/${key}`, Id: randomUUID() }];
      }
      if (method === "GET") {
        const data = b.get(key);
        if (!data) throw notFound("Object");
        const out = Buffer.from(data);
        if (this.modes.storage === "corrupt" && out.length > 0) out[0] = out[0]! ^ 0xff;
        return [200, out, "application/octet-stream"];
      }
    }
    throw new HttpError(404, { message: `no storage route ${method} ${path}` });
  }

  /** Realtime's websocket, vsn 2.0.0 text frames: [join_ref, ref, topic, event, payload]. */
  private realtime(ws: WebSocket, req: IncomingMessage): void {
    const apikey = new URL(req.url ?? "/", this.url).searchParams.get("apikey");
    const reply = (joinRef: unknown, ref: unknown, topic: string, response: object): void => ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response }]));
    ws.on("message", (data) => {
      const [joinRef, ref, topic, event, payload] = JSON.parse(data.toString()) as [string | null, string | null, string, string, Record<string, unknown>];
      if (topic === "phoenix" && event === "heartbeat") return reply(null, ref, topic, {});
      if (event === "phx_join") {
        const config = (payload.config ?? {}) as { postgres_changes?: { event: string; schema: string; table: string; filter?: string }[] };
        const token = (payload.access_token as string | undefined) ?? apikey ?? "";
        const sub: Subscription = { ws, topic, claims: verifyJwt(token, this.secret), bindings: (config.postgres_changes ?? []).map((b) => ({ ...b, id: this.nextBinding++ })) };
        this.subs.push(sub);
        return reply(joinRef, ref, topic, { postgres_changes: sub.bindings });
      }
      if (event === "access_token") {
        for (const s of this.subs) if (s.ws === ws && s.topic === topic) s.claims = verifyJwt(String(payload.access_token), this.secret);
        return;
      }
      if (event === "phx_leave") {
        this.subs = this.subs.filter((s) => !(s.ws === ws && s.topic === topic));
        return reply(joinRef, ref, topic, {});
      }
    });
    ws.on("close", () => (this.subs = this.subs.filter((s) => s.ws !== ws)));
  }

  /** What Realtime would send for an INSERT: to bindings whose filter matches, for subscribers RLS lets see the row. */
  private publish(table: string, row: Record<string, unknown>): void {
    if (this.modes.realtime === "silent") return;
    const record = JSON.parse(JSON.stringify(row)) as Record<string, unknown>;
    for (const s of this.subs) {
      if (s.claims?.tenant_id !== record.tenant_id && s.claims?.role !== "service_role") continue;
      const ids = s.bindings
        .filter((b) => b.schema === "public" && b.table === table && (b.event === "INSERT" || b.event === "*"))
        .filter((b) => {
          const f = /^(\w+)=eq\.(.+)$/.exec(b.filter ?? "");
          return !b.filter || (f !== null && String(record[f[1]!]) === f[2]);
        })
        .map((b) => b.id);
      if (ids.length === 0) continue;
      const columns = Object.keys(record).map((name) => ({ name, type: "text" }));
      const data = { schema: "public", table, commit_timestamp: new Date().toISOString(), type: "INSERT", columns, record, errors: null };
      s.ws.send(JSON.stringify([null, null, s.topic, "postgres_changes", { ids, data }]));
    }
  }
}

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import pg from "pg";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/**
 * A minimal stand-in for the ops project's API, as n8n calls it: PostgREST's
 * RPC (`POST /rest/v1/rpc/<fn>`, named arguments in a JSON body) run as
 * service_role on a real PostgreSQL, and GoTrue's admin invite, recorded and
 * answered 200. Both want the service key as `apikey` and as the bearer token.
 */
export class PostgrestStandIn {
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly pool: pg.Pool;
  port = 0;

  constructor(
    conn: pg.ClientConfig,
    private readonly serviceKey: string,
    /** Where it listens: loopback, or an address a container can reach (the lab's veth). */
    private readonly host = "127.0.0.1",
  ) {
    this.pool = new pg.Pool({ ...conn, max: 4 });
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = text === "" ? null : JSON.parse(text);
        } catch {
          // recorded as text
        }
        const path = req.url ?? "";
        this.requests.push({ method: req.method ?? "", path, headers: req.headers, body });
        const send = (status: number, value: unknown): void => {
          if (value === undefined) res.writeHead(status).end();
          else res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
        };
        if (req.headers.apikey !== this.serviceKey || req.headers.authorization !== `Bearer ${this.serviceKey}`) {
          send(401, { message: "invalid service key" });
          return;
        }
        if (req.method === "POST" && path === "/auth/v1/invite") {
          const email = (body as { email?: unknown } | null)?.email;
          send(typeof email === "string" && email !== "" ? 200 : 422, typeof email === "string" ? { id: "00000000-0000-4000-8000-000000000001", email } : { msg: "email required" });
          return;
        }
        const rpc = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(path);
        if (req.method !== "POST" || rpc === null) {
          send(404, { message: `not found: ${req.method} ${path}` });
          return;
        }
        this.call(rpc[1]!, body).then(
          ([status, value]) => send(status, value),
          (e: Error) => send(500, { message: e.message }),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, this.host, resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  /** `select fn(name => $1, …)` as service_role, the way PostgREST does: a set as an array, void as 204. */
  private async call(fn: string, body: unknown): Promise<[number, unknown]> {
    if (body === null || typeof body !== "object" || Array.isArray(body)) return [400, { message: "the body must be a JSON object of named arguments" }];
    const args = Object.entries(body as Record<string, unknown>);
    if (args.some(([k]) => !/^[a-z_][a-z0-9_]*$/.test(k))) return [400, { message: "bad argument name" }];
    const c = await this.pool.connect();
    try {
      const meta = await c.query("select p.proretset, p.prorettype = 'void'::regtype as void from pg_proc p where p.proname = $1 and p.pronamespace = 'public'::regnamespace", [fn]);
      if (meta.rows.length === 0) return [404, { code: "PGRST202", message: `no function public.${fn}` }];
      await c.query("begin");
      await c.query("set local role service_role");
      await c.query(`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`);
      const sql = `select public.${fn}(${args.map(([k], i) => `${k} => $${i + 1}`).join(", ")}) as v`;
      const r = await c.query(sql, args.map(([, v]) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v)));
      await c.query("commit");
      if (meta.rows[0].void) return [204, undefined];
      return [200, meta.rows[0].proretset ? r.rows.map((x) => x.v) : r.rows[0]?.v];
    } catch (e) {
      await c.query("rollback").catch(() => undefined);
      const err = e as { code?: string; message: string };
      return [err.code === "42501" ? 403 : 400, { code: err.code, message: err.message }];
    } finally {
      c.release();
    }
  }

  /** The recorded requests to one RPC function. */
  calls(fn: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === `/rest/v1/rpc/${fn}`);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.pool.end();
  }
}

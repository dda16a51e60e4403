import { createHmac } from "node:crypto";
import fc from "fast-check";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { FleetConfig } from "../../src/config/schema";
import { RELEASES } from "../../src/model/releases";
import { planFleet } from "../../src/plan/planFleet";
import type { ProjectPlan } from "../../src/plan/types";
import { tenantUuid } from "../../src/rls/tenants";
import { projectCompose } from "../../src/supabase/compose";
import { kongConfig, renderKongConfig, type KongConfig } from "../../src/supabase/kong";
import { runPreFunction, type KongOutcome, type KongRequest, type KongSandbox } from "../helpers/kongSandbox";
import { check, clone, stackDoc } from "../helpers/stacks";

/**
 * The per-tenant rate limit as a project's gateway runs it: the pre-function
 * chunk taken from the rendered kong.yml of prod's pooled project (its owner
 * and two pooled tenants), run by the real Lua 5.1 interpreter inside Kong's
 * sandbox, with the requires and shared dict the rendered Compose file gives
 * Kong. Tokens are HS256 JWTs as GoTrue signs them, with the claims the access
 * token hook adds (tests/integration/rls-migrations.test.ts runs the hook), HMAC
 * checked by OpenSSL.
 */

const JWT_SECRET = "a-project-jwt-secret-of-at-least-32-characters";
const MINUTE = 60;
// Whole minutes since the epoch, so each test knows where its window starts.
const T0 = 29_000_000 * MINUTE;

type Doc = Record<string, unknown>;

let ops: ProjectPlan;
let chunk: string;
let sandbox: KongSandbox;
let rendered: KongConfig;

/** prod, with its plans as given: starter for the pooled tenants, enterprise for the owner. */
function planWith(plans: Doc | undefined): ProjectPlan {
  const doc = clone(stackDoc("prod"));
  if (plans !== undefined) doc["supafleet:plans"] = plans;
  const { config, issues } = check(doc, "prod");
  expect(issues).toEqual([]);
  return planFleet("prod", config as FleetConfig).projects.find((p) => p.name === "ops")!;
}

function renderedChunks(p: ProjectPlan, secret = JWT_SECRET): { config: KongConfig; chunks: Map<string, string> } {
  const keys = { anonKey: "eyJ.anon", serviceRoleKey: "eyJ.service", publishableKey: "sb_publishable_x", secretKey: "sb_secret_x" };
  const text = renderKongConfig(kongConfig(keys, { services: p.services, studioHostname: p.hostnames.studio }, { limits: p.rateLimits, jwtSecret: secret }));
  const config = parse(text) as KongConfig;
  const chunks = new Map<string, string>();
  for (const s of config.services) {
    const plugin = s.plugins?.find((x) => x.name === "pre-function");
    if (plugin !== undefined && "access" in plugin.config) chunks.set(s.name, plugin.config.access[0]!);
  }
  return { config, chunks };
}

const b64url = (v: string | Buffer): string => Buffer.from(v).toString("base64url");

/** An HS256 token as GoTrue issues it: the tenant and its plan at the top level (custom_access_token_hook). */
function token(claims: Record<string, unknown>, secret = JWT_SECRET, alg = "HS256"): string {
  const head = `${b64url(JSON.stringify({ alg, typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

/** prod's plans of ops's tenants, as supafleet.tenants records them; the hook adds no plan for any other tenant. */
const PLAN_OF: Readonly<Record<string, string>> = { techhilfe: "enterprise", "baeckerei-koch": "starter", "kanzlei-weber": "starter" };

const userOf = (slug: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  role: "authenticated",
  sub: "5b3c0d9e-1111-4222-8333-444455556666",
  tenant_id: tenantUuid(slug),
  ...(PLAN_OF[slug] !== undefined ? { tenant_plan: PLAN_OF[slug] } : {}),
  exp: T0 + 3600,
  ...extra,
});

/** A browser's request with a signed-in user's token and the anon key, at second `at` of the window. */
const asUser = (slug: string, at: number, extra?: Record<string, unknown>): KongRequest => ({
  headers: { apikey: "eyJ.anon", Authorization: `Bearer ${token(userOf(slug, extra))}` },
  now: T0 + at,
});
const withToken = (bearer: string, at: number): KongRequest => ({ headers: { apikey: "eyJ.anon", Authorization: `Bearer ${bearer}` }, now: T0 + at });
const anonymous = (at: number): KongRequest => ({ headers: { apikey: "eyJ.anon" }, now: T0 + at });

const run = (requests: readonly KongRequest[]): KongOutcome[] => runPreFunction(chunk, sandbox, requests);
const statuses = (outcomes: readonly KongOutcome[]): number[] => outcomes.map((o) => o.status);
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

beforeAll(() => {
  ops = planWith(undefined);
  const { config, chunks } = renderedChunks(ops);
  rendered = config;
  chunk = chunks.get("rest-v1")!;
  // What the Compose file tells Kong: the plugin is loaded, its sandbox's requires, the shared dict.
  const release = RELEASES[ops.release]!;
  const env = projectCompose({ project: ops.name, release, bindAddress: ops.worker.address, ports: ops.ports, accessTokenHook: true, services: ops.services }).services.gateway!.environment as Record<string, string>;
  expect(env.KONG_PLUGINS!.split(",")).toContain("pre-function");
  expect(env.KONG_UNTRUSTED_LUA).toBe("sandbox");
  sandbox = { requires: env.KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES!.split(","), dicts: [env.KONG_NGINX_HTTP_LUA_SHARED_DICT!.split(" ")[0]!] };
});

describe("the rendered gateway", () => {
  it("counts every route a tenant's traffic takes with one rule, and neither Studio's database route nor denied ones", () => {
    const { chunks } = renderedChunks(ops);
    expect([...chunks.keys()].sort()).toEqual(
      ["auth-v1", "auth-v1-open", "auth-v1-open-authorize", "auth-v1-open-callback", "auth-v1-open-jwks", "functions-v1", "graphql-v1", "realtime-v1-rest", "realtime-v1-ws", "rest-v1", "storage-v1"].sort(),
    );
    expect(new Set(chunks.values()).size).toBe(1);
    const names = rendered.services.filter((s) => s.plugins?.some((x) => x.name === "pre-function")).map((s) => s.name);
    expect(names).not.toContain("meta");
    expect(names).not.toContain("realtime-v1-admin");
  });

  it("carries the plans' limits: seed 002's 1,000 a minute for every tenant of the pooled project by default", () => {
    expect(ops.rateLimits).toEqual({ owner: tenantUuid("techhilfe"), plans: { enterprise: 1000, starter: 1000 }, fallback: 1000 });
  });
});

describe("a tenant over its limit, in Lua 5.1 under Kong's sandbox", () => {
  it("runs only with the requires the Compose file allows: the sandbox is live", () => {
    for (const missing of sandbox.requires) {
      expect(() => runPreFunction(chunk, { ...sandbox, requires: sandbox.requires.filter((m) => m !== missing) }, [anonymous(1)]), missing).toThrow(`require '${missing}' not allowed within sandbox`);
    }
    // Without its shared dict the gateway serves on, and says why.
    expect(runPreFunction(chunk, { ...sandbox, dicts: [] }, [anonymous(1)])).toEqual([{ status: 0, log: "rate limit: no shared dict supafleet_rate_limits" }]);
  });

  it("gets 429 with Retry-After on request 1,001 of a minute, while the other tenants of the project pass", () => {
    const burst = times(1001, (i) => asUser("baeckerei-koch", 10 + i * 0.01));
    const out = run([...burst, asUser("baeckerei-koch", 20.5), asUser("kanzlei-weber", 20.6), anonymous(20.7)]);
    expect(statuses(out.slice(0, 1000)).every((s) => s === 0)).toBe(true);
    const over = out[1000]!;
    expect(over.status).toBe(429);
    // The window ends at second 60; the request came at second 20.
    expect(over.headers).toEqual({ "Retry-After": 40, "RateLimit-Limit": 1000, "RateLimit-Remaining": 0, "RateLimit-Reset": 40 });
    expect(over.body).toEqual({ message: "API rate limit exceeded" });
    expect(JSON.stringify(over)).not.toContain(JWT_SECRET);
    expect(statuses(out.slice(1001))).toEqual([429, 0, 0]);
  });

  it("starts counting again when the minute turns", () => {
    const p = planWith({ starter: { requestsPerMinute: 3 } });
    chunk = renderedChunks(p).chunks.get("rest-v1")!;
    try {
      const out = run([...times(4, (i) => asUser("kanzlei-weber", 50 + i)), asUser("kanzlei-weber", 59.9), asUser("kanzlei-weber", MINUTE), asUser("kanzlei-weber", MINUTE + 1)]);
      expect(statuses(out)).toEqual([0, 0, 0, 429, 429, 0, 0]);
      expect(out[3]!.headers!["Retry-After"]).toBe(7);
      // A tenth of a second before the window ends, a client still waits a whole second.
      expect(out[4]!.headers!["Retry-After"]).toBe(1);
    } finally {
      chunk = renderedChunks(ops).chunks.get("rest-v1")!;
    }
  });

  it("counts a forged tenant claim against the API key's tenant (the owner), never the tenant it names", () => {
    const p = planWith({ starter: { requestsPerMinute: 2 }, enterprise: { requestsPerMinute: 5 } });
    chunk = renderedChunks(p).chunks.get("rest-v1")!;
    try {
      const victim = userOf("baeckerei-koch");
      const forged = [
        token(victim, "not-the-project-secret-but-just-as-long!!"),
        token(victim, JWT_SECRET, "none").replace(/\.[^.]+$/, "."),
        token(victim, JWT_SECRET, "HS512"),
        token({ ...victim, exp: T0 - 1 }),
        // A signature copied from another token: the claims are changed, the signature is not.
        `${token(victim).split(".")[0]}.${b64url(JSON.stringify({ ...victim, tenant_id: tenantUuid("kanzlei-weber") }))}.${token(victim).split(".")[2]}`,
      ];
      const out = run([...forged.map((t, i) => withToken(t, 1 + i)), anonymous(10), asUser("baeckerei-koch", 11), asUser("baeckerei-koch", 12), asUser("baeckerei-koch", 13)]);
      // Five forgeries and one anonymous request spend the owner's 5; the victim keeps its own 2.
      expect(statuses(out)).toEqual([0, 0, 0, 0, 0, 429, 0, 0, 429]);
    } finally {
      chunk = renderedChunks(ops).chunks.get("rest-v1")!;
    }
  });

  it("counts a forged plan claim against the owner, at the owner's plan, never at the plan it names", () => {
    const p = planWith({ starter: { requestsPerMinute: 3 }, enterprise: { requestsPerMinute: 1 } });
    chunk = renderedChunks(p).chunks.get("rest-v1")!;
    try {
      // A starter tenant's claims, signed with another secret: its plan would allow 3 a minute.
      const forged = token(userOf("baeckerei-koch"), "not-the-project-secret-but-just-as-long!!");
      const out = run([withToken(forged, 1), withToken(forged, 2), anonymous(3), ...times(4, (i) => asUser("baeckerei-koch", 4 + i))]);
      // The forgeries and the anonymous request share the owner's 1; baeckerei-koch keeps its own 3.
      expect(statuses(out)).toEqual([0, 429, 429, 0, 0, 0, 429]);
      expect(out[1]!.headers!["RateLimit-Limit"]).toBe(1);
    } finally {
      chunk = renderedChunks(ops).chunks.get("rest-v1")!;
    }
  });

  it("gives a signed token claiming a plan the project does not list its owner's plan's limit, counted under its own tenant", () => {
    // ops's tenants are on starter and enterprise; business is a fleet plan no tenant of ops is on.
    const p = planWith({ starter: { requestsPerMinute: 2 }, enterprise: { requestsPerMinute: 3 }, business: { requestsPerMinute: 50 } });
    expect(p.rateLimits.plans).toEqual({ enterprise: 3, starter: 2 });
    chunk = renderedChunks(p).chunks.get("rest-v1")!;
    try {
      const signup = (plan: unknown, at: number): KongRequest => withToken(token({ ...userOf("x"), tenant_id: "00000003-0000-4000-8000-000000000000", tenant_plan: plan }), at);
      const out = run([...times(4, (i) => signup("business", 1 + i)), ...times(4, (i) => signup("gold", 10 + i)), anonymous(20), anonymous(21), anonymous(22), anonymous(23)]);
      expect(statuses(out)).toEqual([0, 0, 0, 429, 429, 429, 429, 429, 0, 0, 0, 429]);
      expect(out[3]!.headers!["RateLimit-Limit"]).toBe(3);
      // A plan claim that is not a string is no plan either.
      const odd = run([...[{ business: true }, ["starter"], 7].map((plan, i) => signup(plan, 30 + i)), signup(null, 33)]);
      expect(statuses(odd)).toEqual([0, 0, 0, 429]);
    } finally {
      chunk = renderedChunks(ops).chunks.get("rest-v1")!;
    }
  });

  it("leaves CORS preflights uncounted, and counts tenants the stack file does not declare each on their own, at the owner's plan", () => {
    const p = planWith({ starter: { requestsPerMinute: 2 }, enterprise: { requestsPerMinute: 1 } });
    chunk = renderedChunks(p).chunks.get("rest-v1")!;
    try {
      const preflight = (at: number): KongRequest => ({ method: "OPTIONS", headers: { "Access-Control-Request-Method": "GET", Origin: "https://app.example" }, now: T0 + at });
      const signup = (n: number, at: number): KongRequest => withToken(token({ ...userOf("x"), tenant_id: `0000000${n}-0000-4000-8000-000000000000` }), at);
      const out = run([asUser("kanzlei-weber", 1), preflight(2), preflight(3), asUser("kanzlei-weber", 4), asUser("kanzlei-weber", 4.5), signup(1, 5), signup(1, 6), signup(2, 7)]);
      expect(statuses(out)).toEqual([0, 0, 0, 0, 429, 0, 429, 0]);
    } finally {
      chunk = renderedChunks(ops).chunks.get("rest-v1")!;
    }
  });

  it("holds each tenant to its own limit whatever the order, timing and mix of requests (fast-check)", () => {
    const slugs = ["techhilfe", "baeckerei-koch", "kanzlei-weber"] as const;
    fc.assert(
      fc.property(
        fc.record({ starter: fc.integer({ min: 1, max: 6 }), enterprise: fc.integer({ min: 1, max: 6 }) }),
        fc.array(fc.record({ who: fc.constantFrom(...slugs, "anonymous"), at: fc.double({ min: 0, max: 179.999, noNaN: true }) }), { maxLength: 40 }),
        (limits, raw) => {
          const c = renderedChunks({ ...ops, rateLimits: { ...ops.rateLimits, plans: limits, fallback: limits.enterprise } }).chunks.get("rest-v1")!;
          const requests = [...raw].sort((a, b) => a.at - b.at);
          const out = runPreFunction(c, sandbox, requests.map((r) => (r.who === "anonymous" ? anonymous(r.at) : asUser(r.who, r.at))));
          // The model: a count per tenant per whole minute; the owner's also takes the anonymous requests.
          const seen = new Map<string, number>();
          requests.forEach((r, i) => {
            const tenant = r.who === "anonymous" ? "techhilfe" : r.who;
            const limit = tenant === "techhilfe" ? limits.enterprise : limits.starter;
            const now = T0 + r.at;
            const window = Math.floor(now / MINUTE);
            const n = (seen.get(`${tenant}:${window}`) ?? 0) + 1;
            seen.set(`${tenant}:${window}`, n);
            const o = out[i]!;
            if (n <= limit) expect(o.status).toBe(0);
            else {
              expect(o.status).toBe(429);
              expect(o.headers!["Retry-After"]).toBe(Math.max(1, Math.ceil((window + 1) * MINUTE - now)));
            }
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});

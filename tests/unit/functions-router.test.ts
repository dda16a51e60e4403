import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { FunctionsSchema } from "../../src/config/functions";
import { FUNCTION_NAME as CHECKED_NAME, PROGRAM_ROOT, ROUTER as CHECKED_ROUTER } from "../../src/functions/names";
import { signApiKey } from "../../src/supabase/keys";
import { decide, FUNCTION_NAME, parseManifest, ROUTER, type Decision, type Manifest } from "../../templates/supabase/functions/main/route";

/**
 * The router's decisions (templates/supabase/functions/main/route.ts), run under Node: which
 * function a request goes to, and whether its JWT must hold, per function, from the manifest the
 * deploy writes. Tokens are signed here with jose, as GoTrue and supafleet's keys sign them.
 */

const SECRET = "a-project-jwt-secret-of-forty-eight-characters!!";
const NOW = 1_800_000_000;
const manifest: Manifest = { verifyJwt: { private: true, "stripe-webhook": false } };
const call = (path: string, authorization: string | null = null, method = "POST", m: Manifest | undefined = manifest): Promise<Decision> => decide({ method, path, authorization }, m, SECRET, NOW);
const sign = (claims: Record<string, unknown>, secret = SECRET, alg = "HS256"): Promise<string> => new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
const code = (d: Decision): string => ("refuse" in d ? `${d.refuse.status} ${d.refuse.code}` : `route ${d.route}`);

describe("the router", () => {
  it("lets a verifyJwt-false function be called with no JWT at all, and refuses a checked one without", async () => {
    expect(code(await call("/stripe-webhook"))).toBe("route stripe-webhook");
    expect(code(await call("/stripe-webhook/events?x=1", "Bearer garbage"))).toBe("route stripe-webhook");
    expect(code(await call("/private"))).toBe("401 UNAUTHORIZED_NO_AUTH_HEADER");
  });

  it("takes the project's own anon and service keys, and a user's token, signed with its JWT secret", async () => {
    for (const key of [await signApiKey(SECRET, "anon"), await signApiKey(SECRET, "service_role"), await sign({ sub: "u1", role: "authenticated", exp: NOW + 60 })]) {
      expect(code(await call("/private", `Bearer ${key}`))).toBe("route private");
    }
  });

  it("refuses a token signed with another secret, expired, not yet valid, of another algorithm, or malformed", async () => {
    const cases: [string, string][] = [
      [`Bearer ${await sign({ role: "anon" }, "another-projects-secret-of-enough-characters!!")}`, "401 UNAUTHORIZED_INVALID_JWT"],
      [`Bearer ${await sign({ role: "anon", exp: NOW })}`, "401 UNAUTHORIZED_INVALID_JWT"],
      [`Bearer ${await sign({ role: "anon", nbf: NOW + 30 })}`, "401 UNAUTHORIZED_INVALID_JWT"],
      [`Bearer ${await sign({ role: "anon" }, SECRET, "HS512")}`, "401 UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM"],
      ["Bearer a.b", "401 UNAUTHORIZED_INVALID_JWT_FORMAT"],
      ["Bearer !!.??.**", "401 UNAUTHORIZED_INVALID_JWT_FORMAT"],
      [`Basic ${await sign({ role: "anon" })}`, "401 UNAUTHORIZED_INVALID_JWT_FORMAT"],
    ];
    for (const [auth, expected] of cases) expect(code(await call("/private", auth)), auth).toBe(expected);
    // "alg: none" with the signature dropped.
    const [, claims] = (await sign({ role: "service_role" })).split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${claims}.`;
    expect(code(await call("/private", `Bearer ${none}`))).toBe("401 UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM");
  });

  it("refuses a token whose claims were changed after signing", async () => {
    const [h, , s] = (await sign({ role: "anon" })).split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ role: "service_role" })).toString("base64url")}.${s}`;
    expect(code(await call("/private", `Bearer ${forged}`))).toBe("401 UNAUTHORIZED_INVALID_JWT");
  });

  it("lets a CORS preflight through unchecked, as upstream's router does", async () => {
    expect(code(await call("/private", null, "OPTIONS"))).toBe("route private");
  });

  it("answers 404 for a function the manifest does not list, 400 for a bad name or the router itself", async () => {
    expect(code(await call("/gone"))).toBe("404 NOT_FOUND");
    for (const path of ["/", "/main", "/Hello", "/_shared", "/a.b"]) expect(code(await call(path)), path).toBe("400 INVALID_FUNCTION_NAME");
  });

  it("checks every function when the manifest is missing or unreadable (fail closed)", async () => {
    for (const text of [undefined, "", "{", '{"verifyJwt": {"a": "no"}}', '{"verifyJwt": null}', "[]"]) {
      const m = parseManifest(text);
      expect(m, String(text)).toBeUndefined();
      expect(code(await decide({ method: "POST", path: "/stripe-webhook", authorization: null }, m, SECRET, NOW))).toBe("401 UNAUTHORIZED_NO_AUTH_HEADER");
    }
  });

  it("routes a name exactly when the config checks would accept it as a function", () => {
    expect(FUNCTION_NAME.source).toBe(CHECKED_NAME.source);
    expect(ROUTER).toBe(CHECKED_ROUTER);
    fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 8 }), async (name) => {
        const routed = "route" in (await call(`/${name}`, null, "POST", { verifyJwt: { [name]: false } }));
        const accepted = FunctionsSchema.safeParse({ path: "fns", verifyJwt: { [name]: false } }).success;
        expect(routed).toBe(accepted && name !== ROUTER && !name.includes("/"));
      }),
    );
  });
});

describe("the router's main service (main/index.ts), with Deno's and the edge runtime's APIs stood in for", () => {
  // Its files as the deploy lays them out, with the manifest beside them.
  const dir = mkdtempSync(join(PROGRAM_ROOT, "tests/fixtures/functions/.router-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const main = join(PROGRAM_ROOT, "templates/supabase/functions/main");
  for (const f of ["index.ts", "route.ts"]) copyFileSync(join(main, f), join(dir, f));
  writeFileSync(join(dir, "verify-jwt.json"), JSON.stringify(manifest));

  const started: Record<string, unknown>[] = [];
  let serve: ((req: Request) => Promise<Response>) | undefined;
  const env = { JWT_SECRET: SECRET, SUPABASE_URL: "http://gateway:8000" };
  Object.assign(globalThis, {
    Deno: { serve: (h: (req: Request) => Promise<Response>) => (serve = h), env: { get: (k: string) => env[k as keyof typeof env], toObject: () => ({ ...env }) }, readTextFileSync: (u: URL) => readFileSync(u, "utf8") },
    EdgeRuntime: { userWorkers: { create: async (o: Record<string, unknown>) => (started.push(o), { fetch: async () => new Response("from the function") }) } },
  });

  it("serves a verifyJwt-false function without a JWT, and answers 401 with upstream's error code for a checked one", async () => {
    await import(join(dir, "index.ts"));
    const open = await serve!(new Request("http://functions:9000/stripe-webhook", { method: "POST" }));
    expect(await open.text()).toBe("from the function");
    expect(started.at(-1)).toMatchObject({ servicePath: "/home/deno/functions/stripe-webhook", memoryLimitMb: 150 });
    const refused = await serve!(new Request("http://functions:9000/private", { method: "POST" }));
    expect(refused.status).toBe(401);
    expect(refused.headers.get("sb-error-code")).toBe("UNAUTHORIZED_NO_AUTH_HEADER");
    const key = await signApiKey(SECRET, "anon");
    const allowed = await serve!(new Request("http://functions:9000/private", { method: "POST", headers: { Authorization: `Bearer ${key}` } }));
    expect(await allowed.text()).toBe("from the function");
    expect(started.at(-1)).toMatchObject({ servicePath: "/home/deno/functions/private" });
    expect((await serve!(new Request("http://functions:9000/gone"))).status).toBe(404);
  });
});

import { SERVICES } from "../../src/model/services";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { authorizationExpression, kongConfig, type KongKeys } from "../../src/supabase/kong";

/**
 * Kong evaluates `$(…)` in request-transformer values as Lua (LuaJIT, 5.1
 * semantics). These tests run the rendered expression in the real Lua 5.1
 * interpreter with the request headers Kong would give it.
 */
const keys: KongKeys = {
  anonKey: "eyJ.anon.jwt",
  serviceRoleKey: "eyJ.service.jwt",
  dashboardPassword: "pw",
  publishableKey: "sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_abcdefgh",
  secretKey: "sb_secret_BBBBBBBBBBBBBBBBBBBBBB_ijklmnop",
};

function evaluate(expression: string, headers: Record<string, string>): string {
  const inner = expression.replace(/^\$\(/, "").replace(/\)$/, "");
  const table = Object.entries(headers).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ");
  return execFileSync("lua5.1", ["-e", `local headers = { ${table} }\nio.write(tostring(${inner}))`], { encoding: "utf8" });
}

describe("the gateway's Authorization mapping, in Lua 5.1", () => {
  const expr = authorizationExpression(keys);

  it("lets a signed-in user's own JWT through, whatever the apikey", () => {
    expect(evaluate(expr, { authorization: "Bearer eyJ.user.jwt", apikey: keys.publishableKey! })).toBe("Bearer eyJ.user.jwt");
  });

  it("turns the opaque keys into their role's JWT", () => {
    expect(evaluate(expr, { apikey: keys.secretKey! })).toBe(`Bearer ${keys.serviceRoleKey}`);
    expect(evaluate(expr, { apikey: keys.publishableKey! })).toBe(`Bearer ${keys.anonKey}`);
    // Clients that also send the opaque key as a bearer token get the JWT, not the opaque key.
    expect(evaluate(expr, { authorization: `Bearer ${keys.publishableKey}`, apikey: keys.publishableKey! })).toBe(`Bearer ${keys.anonKey}`);
  });

  it("uses a legacy key as the bearer token, as before", () => {
    expect(evaluate(expr, { apikey: keys.anonKey })).toBe(`Bearer ${keys.anonKey}`);
    const legacy = authorizationExpression({ anonKey: keys.anonKey, serviceRoleKey: keys.serviceRoleKey, dashboardPassword: "pw" });
    expect(evaluate(legacy, { apikey: keys.serviceRoleKey })).toBe(`Bearer ${keys.serviceRoleKey}`);
    expect(legacy).not.toContain("sb_secret_");
  });

  it("is only installed on releases with opaque keys", () => {
    const withOpaque = JSON.stringify(kongConfig(keys, { services: SERVICES, studioHostname: "ops-studio.example.org" }));
    const legacy = JSON.stringify(kongConfig({ anonKey: keys.anonKey, serviceRoleKey: keys.serviceRoleKey, dashboardPassword: "pw" }, { services: SERVICES, studioHostname: "ops-studio.example.org" }));
    expect(withOpaque).toContain("Authorization:$(");
    expect(legacy).not.toContain("Authorization:$(");
  });
});

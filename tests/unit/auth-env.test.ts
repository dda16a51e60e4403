import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AUTH_PROVIDERS, AuthSchema } from "../../src/config/auth";
import { authEnv, renderAuthFile } from "../../src/supabase/authEnv";
import { authInput } from "../fixtures/gotrue/authInput";

const args = (input: unknown, customHostnames: string[] = []) => ({
  auth: { ...AuthSchema.parse(input), siteUrl: "https://app.example.com" },
  apiHostname: "shop.fleet.example",
  customHostnames,
});
const secrets = { providers: Object.fromEntries(AUTH_PROVIDERS.map((p) => [p, `secret-of-${p}`])), smsAuthToken: "twilio-token" };
/** The file read back as godotenv reads single-quoted values: literally. */
const parse = (text: string): Record<string, string> => Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));

describe("a project's GoTrue settings", () => {
  it("state every provider: a declared one with its client id, secret and the project's callback, any other disabled", () => {
    fc.assert(
      fc.property(authInput, (input) => {
        const a = args(input);
        const env = parse(renderAuthFile(authEnv(a, secrets)));
        for (const p of AUTH_PROVIDERS) {
          const P = p.toUpperCase();
          const declared = a.auth.providers[p];
          expect(env[`GOTRUE_EXTERNAL_${P}_ENABLED`]).toBe(String(declared !== undefined));
          if (declared === undefined) {
            expect(env[`GOTRUE_EXTERNAL_${P}_SECRET`]).toBeUndefined();
            continue;
          }
          expect(env[`GOTRUE_EXTERNAL_${P}_CLIENT_ID`]).toBe(declared.clientId);
          expect(env[`GOTRUE_EXTERNAL_${P}_SECRET`]).toBe(`secret-of-${p}`);
          expect(env[`GOTRUE_EXTERNAL_${P}_REDIRECT_URI`]).toBe("https://shop.fleet.example/auth/v1/callback");
          expect(env[`GOTRUE_EXTERNAL_${P}_URL`]).toBe(declared.url ?? "");
        }
        expect(env.GOTRUE_MAILER_AUTOCONFIRM).toBe(String(!a.auth.emailConfirm));
        expect(env.GOTRUE_JWT_EXP).toBe(String(a.auth.jwtExpiry));
        expect(env.GOTRUE_URI_ALLOW_LIST).toBe(a.auth.redirectUrls.join(","));
        expect(env.GOTRUE_SMS_PROVIDER).toBe(a.auth.phone?.provider ?? "");
      }),
      { numRuns: 100 },
    );
  });

  it("close every channel with signup: false, yet keep e-mail (and phone, when set) for existing users", () => {
    const closed = authEnv(args({ signup: false, phone: { provider: "twilio", accountSid: `AC${"0".repeat(32)}`, messageServiceSid: `MG${"1".repeat(32)}` } }), secrets);
    expect(closed).toMatchObject({ GOTRUE_DISABLE_SIGNUP: "true", GOTRUE_EXTERNAL_EMAIL_ENABLED: "true", GOTRUE_EXTERNAL_PHONE_ENABLED: "true", GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: "false" });
    const open = authEnv(args({ signup: { email: false, anonymous: true } }), secrets);
    expect(open).toMatchObject({ GOTRUE_DISABLE_SIGNUP: "false", GOTRUE_EXTERNAL_EMAIL_ENABLED: "false", GOTRUE_EXTERNAL_PHONE_ENABLED: "false", GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: "true" });
  });

  it("send SMS through the chosen Twilio product with its token, and confirm phones unless told not to", () => {
    const phone = { provider: "twilio_verify", accountSid: `AC${"a".repeat(32)}`, messageServiceSid: `VA${"b".repeat(32)}`, confirm: false };
    const env = authEnv(args({ signup: { phone: true }, mfa: { phone: true }, phone }), secrets);
    expect(env).toMatchObject({
      GOTRUE_SMS_PROVIDER: "twilio_verify",
      GOTRUE_SMS_TWILIO_VERIFY_ACCOUNT_SID: phone.accountSid,
      GOTRUE_SMS_TWILIO_VERIFY_AUTH_TOKEN: "twilio-token",
      GOTRUE_SMS_TWILIO_VERIFY_MESSAGE_SERVICE_SID: phone.messageServiceSid,
      GOTRUE_SMS_AUTOCONFIRM: "true",
      GOTRUE_EXTERNAL_PHONE_ENABLED: "true",
      GOTRUE_MFA_PHONE_ENROLL_ENABLED: "true",
      GOTRUE_MFA_PHONE_VERIFY_ENABLED: "true",
    });
    expect(() => authEnv(args({ phone: { ...phone, provider: "twilio", messageServiceSid: `MG${"b".repeat(32)}` } }), { providers: {} })).toThrow("the SMS auth token is missing");
  });

  it("accept mail links on the fleet hostname and each custom domain", () => {
    expect(authEnv(args({}, ["api.client.com", "app.client.com"]), secrets).GOTRUE_MAILER_EXTERNAL_HOSTS).toBe("shop.fleet.example,api.client.com,app.client.com");
    expect(authEnv(args({}), secrets).GOTRUE_MAILER_EXTERNAL_HOSTS).toBe("shop.fleet.example");
  });

  it("need each declared provider's secret, and refuse a value the .env format cannot carry, without showing it", () => {
    expect(() => authEnv(args({ providers: { github: { clientId: "Iv1.abc" } } }), { providers: {} })).toThrow("the github client secret is missing");
    const env = authEnv(args({ providers: { github: { clientId: "Iv1.abc" } } }), { providers: { github: "it's-secret" } });
    expect(() => renderAuthFile(env)).toThrow(/^GOTRUE_EXTERNAL_GITHUB_SECRET holds a quote or a line break/);
    expect(() => renderAuthFile(env)).not.toThrow(/it's-secret/);
    expect(() => renderAuthFile({ GOTRUE_EXTERNAL_GITHUB_SECRET: "ends\\" })).toThrow(/ends in a backslash/);
    // $, backslashes and # stay literal in single quotes.
    const literal = renderAuthFile({ ...authEnv(args({ providers: { github: { clientId: "Iv1.abc" } } }), { providers: { github: "a$b\\c#d" } }) });
    expect(parse(literal).GOTRUE_EXTERNAL_GITHUB_SECRET).toBe("a$b\\c#d");
  });
});

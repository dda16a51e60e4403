import { describe, expect, it } from "vitest";
import { checkFleetConfig } from "../../src/config/load";
import { authProviderSecretKey, projectSecretOwner, smsAuthTokenKey } from "../../src/config/secrets";
import { check, clone, stackDoc, validatorInput } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

/** Staging with `auth` set on its smarteros project (tenants[2].projects[0]). */
function withAuth(auth: unknown): Doc {
  const c = clone(stackDoc("staging")) as Doc;
  c["supafleet:tenants"][2].projects[0].auth = auth;
  return c;
}
const AT = "tenants[2].projects[0].auth";
const issues = (auth: unknown) => check(withAuth(auth)).issues.map((i) => ({ path: i.path, message: i.message }));
const PHONE = { provider: "twilio", accountSid: `AC${"0".repeat(32)}`, messageServiceSid: `MG${"1".repeat(32)}` };

describe("a project's auth block", () => {
  it("takes the issue's example and the phone sign-in, and declares a secure key per provider and the SMS token", () => {
    const auth = {
      siteUrl: "https://app.smarteros.cl",
      redirectUrls: ["https://app.smarteros.cl/**", "http://localhost:3000/**"],
      signup: { email: true, phone: true, anonymous: false },
      emailConfirm: true,
      providers: { google: { clientId: "1234.apps.googleusercontent.com" }, github: { clientId: "Iv1.abc" }, slack_oidc: { clientId: "42.17" } },
      jwtExpiry: 3600,
      mfa: { totp: true, phone: true },
      phone: PHONE,
    };
    const r = check(withAuth(auth));
    expect(r.issues).toEqual([]);
    const keys = r.secure.map((s) => s.key);
    for (const k of [authProviderSecretKey("smarteros", "google"), authProviderSecretKey("smarteros", "github"), authProviderSecretKey("smarteros", "slack_oidc"), smsAuthTokenKey("smarteros")])
      expect(keys).toContain(k);
    expect(authProviderSecretKey("smarteros", "slack_oidc")).toBe("supafleet:authSlackOidcSecret-smarteros");
    expect(projectSecretOwner("supafleet:authSlackOidcSecret-smarteros")).toEqual({ project: "smarteros", setting: "auth.providers.slack_oidc" });
    expect(projectSecretOwner("supafleet:smsAuthToken-smarteros")).toEqual({ project: "smarteros", setting: "auth.phone" });
  });

  it("refuses a URL that is not https (localhost aside), naming its path", () => {
    expect(issues({ siteUrl: "http://app.smarteros.cl" })).toEqual([{ path: `${AT}.siteUrl`, message: expect.stringContaining("must use https") }]);
    expect(issues({ redirectUrls: ["http://localhost:3000/**", "http://app.smarteros.cl/**"] })).toEqual([{ path: `${AT}.redirectUrls[1]`, message: expect.stringContaining("must use https") }]);
    expect(issues({ providers: { keycloak: { clientId: "app", url: "sso.example.com" } } })).toEqual([{ path: `${AT}.providers.keycloak.url`, message: expect.stringContaining("not an absolute URL") }]);
  });

  it("refuses an unknown provider, and says a renamed one's new name", () => {
    expect(issues({ providers: { myspace: { clientId: "x" } } })).toEqual([{ path: `${AT}.providers.myspace`, message: expect.stringContaining("is not a provider GoTrue knows") }]);
    expect(issues({ providers: { slack: { clientId: "x" } } })).toEqual([{ path: `${AT}.providers.slack`, message: expect.stringContaining("write slack_oidc") }]);
    expect(issues({ providers: { google: { clientId: "a b" } } })).toEqual([{ path: `${AT}.providers.google.clientId`, message: expect.stringContaining("no spaces or commas") }]);
    expect(issues({ providers: { keycloak: { clientId: "app" } } })).toEqual([{ path: `${AT}.providers.keycloak.url`, message: expect.stringContaining("give its realm's URL") }]);
  });

  it("refuses phone sign-up or phone MFA without an SMS sender", () => {
    expect(issues({ signup: { phone: true } })).toEqual([{ path: `${AT}.signup.phone`, message: expect.stringContaining("add auth.phone") }]);
    expect(issues({ mfa: { phone: true } })).toEqual([{ path: `${AT}.mfa.phone`, message: expect.stringContaining("add auth.phone") }]);
    expect(issues({ signup: false, mfa: { phone: false }, phone: PHONE })).toEqual([]);
  });

  it("refuses a Twilio SID of the wrong kind for the provider, and a bad account SID", () => {
    expect(issues({ phone: { ...PHONE, provider: "twilio_verify" } })).toEqual([{ path: `${AT}.phone.messageServiceSid`, message: expect.stringContaining("Verify Service SID (VA…)") }]);
    expect(issues({ phone: { ...PHONE, messageServiceSid: `VA${"1".repeat(32)}` } })).toEqual([{ path: `${AT}.phone.messageServiceSid`, message: expect.stringContaining("Messaging Service SID (MG…)") }]);
    expect(issues({ phone: { ...PHONE, accountSid: "AC123" } })).toEqual([{ path: `${AT}.phone.accountSid`, message: expect.stringContaining("Twilio account SID") }]);
    expect(issues({ phone: { ...PHONE, provider: "vonage" } })[0]).toEqual({ path: `${AT}.phone.provider`, message: "must be one of twilio, twilio_verify" });
  });

  it("refuses a JWT expiry outside 5 minutes to a week, and a signup that is neither false nor channels", () => {
    expect(issues({ jwtExpiry: 100 })).toEqual([{ path: `${AT}.jwtExpiry`, message: "must be at least 300 (5 minutes)" }]);
    expect(issues({ jwtExpiry: 3600.5 })).toEqual([{ path: `${AT}.jwtExpiry`, message: expect.stringContaining("must be an int") }]);
    expect(issues({ signup: true })).toEqual([{ path: `${AT}.signup`, message: "must be false, or { email, phone, anonymous } with true or false for each" }]);
    expect(issues({ sitUrl: "https://x.example" })).toEqual([{ path: `${AT}.sitUrl`, message: expect.stringContaining("is not a known setting") }]);
  });

  it("needs each declared provider's secret, and refuses one for a provider the project does not declare", () => {
    const key = authProviderSecretKey("smarteros", "google");
    const missing = checkFleetConfig(validatorInput(withAuth({ providers: { google: { clientId: "1234.apps.googleusercontent.com" } } }), "staging")).issues.filter((i) => i.path === key);
    expect(missing).toEqual([expect.objectContaining({ message: expect.stringContaining(`pulumiConfig.${key}`) })]);
    const stray = check({ ...withAuth({}), [key]: "s" }, "staging").issues.filter((i) => i.path === key);
    expect(stray).toEqual([expect.objectContaining({ message: expect.stringContaining("has no auth.providers.google of its own") })]);
  });
});

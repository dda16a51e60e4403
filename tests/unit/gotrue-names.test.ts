import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AUTH_PROVIDERS, AuthSchema } from "../../src/config/auth";
import { RELEASES } from "../../src/model/releases";
import { workerServices, FULL_SERVICES, API_ONLY_SERVICES } from "../../src/model/projectServices";
import { projectCompose } from "../../src/supabase/compose";
import { authEnv, authFileNames, renderAuthFile } from "../../src/supabase/authEnv";
import { envconfigNames, gotrueNames, splitWords } from "../fixtures/gotrue/envconfig";
import { authInput } from "../fixtures/gotrue/authInput";

/** The GOTRUE_* names among `names` that GoTrue of that image tag does not read. */
function unknownTo(tag: string, names: readonly string[]): string[] {
  const known = gotrueNames(tag);
  return names.filter((n) => n.startsWith("GOTRUE_") && !known.has(n));
}

const tagOf = (release: string): string => RELEASES[release]!.images.auth.split(":")[1]!;

describe("GoTrue's names, derived from its source as envconfig does", () => {
  it("splits words as envconfig does", () => {
    expect(splitWords("RateLimitSmsSent")).toBe("Rate_Limit_Sms_Sent");
    expect(splitWords("URIAllowList")).toBe("URI_Allow_List");
    expect(splitWords("WebAuthn")).toBe("Web_Authn");
    expect(splitWords("TOTP")).toBe("TOTP");
  });

  it("read nested, embedded, explicitly named and decoded fields as GoTrue does", () => {
    const names = gotrueNames("v2.186.0");
    for (const n of [
      "GOTRUE_SITE_URL", "GOTRUE_URI_ALLOW_LIST", "GOTRUE_DB_DATABASE_URL", "DATABASE_URL", "GOTRUE_API_PORT", "API_EXTERNAL_URL",
      "GOTRUE_EXTERNAL_LINKEDIN_OIDC_CLIENT_ID", "GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED", "GOTRUE_MFA_PHONE_ENROLL_ENABLED",
      "GOTRUE_MFA_WEB_AUTHN_VERIFY_ENABLED", "GOTRUE_SMS_TWILIO_VERIFY_MESSAGE_SERVICE_SID", "GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_SECRETS",
      "GOTRUE_PASSWORD_REQUIRED_CHARACTERS", "GOTRUE_SMS_TEST_OTP_VALID_UNTIL", "GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE",
    ]) expect(names.has(n), n).toBe(true);
    // An embedded struct adds no name of its own; text/template's struct adds none; a decoder is one value.
    for (const n of ["GOTRUE_MFA_PHONE_MFAFACTORTYPECONFIGURATION_ENROLL_ENABLED", "GOTRUE_SMS_SMSTEMPLATE", "GOTRUE_SMS_TEST_OTP_VALID_UNTIL_TIME", "GOTRUE_SMTP_FROMADDRESS"])
      expect(names.has(n), n).toBe(false);
  });

  it("need the struct a name sits in: a type the source does not declare is one value, never guessed into", () => {
    const src = "type GlobalConfiguration struct {\n\tTracing TracingConfig\n\tSiteURL string `split_words:\"true\"`\n}\n";
    expect([...envconfigNames(src)].sort()).toEqual(["GOTRUE_SITE_URL", "GOTRUE_TRACING"]);
  });
});

describe("every GOTRUE_* name supafleet renders", () => {
  it("is one GoTrue reads at the project's release, over generated Auth settings and service sets", () => {
    fc.assert(
      fc.property(authInput, fc.constantFrom(...Object.keys(RELEASES)), fc.boolean(), fc.boolean(), fc.array(fc.domain(), { maxLength: 3 }), (input, release, full, hook, domains) => {
        const auth = { ...AuthSchema.parse(input), siteUrl: "https://app.example.com" };
        const secrets = { providers: Object.fromEntries(AUTH_PROVIDERS.map((p) => [p, "s3cret"])), smsAuthToken: "t0ken" };
        const file = renderAuthFile(authEnv({ auth, apiHostname: "p.fleet.example", customHostnames: domains }, secrets));
        const services = workerServices({ services: full ? FULL_SERVICES : API_ONLY_SERVICES, studio: "master" });
        const compose = projectCompose({ project: "p", release: RELEASES[release]!, bindAddress: "10.0.0.2", ports: { gateway: 8000, db: 5432 }, accessTokenHook: hook, services });
        const rendered = [...authFileNames(file), ...Object.keys(compose.services.auth!.environment ?? {})];
        expect(rendered.filter((n) => n.startsWith("GOTRUE_")).length).toBeGreaterThan(20);
        expect(unknownTo(tagOf(release), rendered)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it("is refused when misspelled", () => {
    const auth = { ...AuthSchema.parse({ providers: { google: { clientId: "1234.apps.googleusercontent.com" } } }), siteUrl: "https://app.example.com" };
    const env = authEnv({ auth, apiHostname: "p.fleet.example", customHostnames: [] }, { providers: { google: "s" } });
    const good = authFileNames(renderAuthFile(env));
    expect(unknownTo("v2.189.0", good)).toEqual([]);
    const typos = ["GOTRUE_EXTERNAL_GOOGLE_CLIENTID", "GOTRUE_MFA_TOTP_ENROLL_ENABLE", "GOTRUE_SMS_TWILIO_MESSAGING_SERVICE_SID", "GOTRUE_MAILER_EXTERNALHOSTS", "GOTRUE_URI_ALLOWLIST"];
    expect(unknownTo("v2.189.0", [...good, ...typos])).toEqual(typos);
  });
});

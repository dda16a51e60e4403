import { describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { ProbeTargetSchema } from "../../src/probe/target";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const prod = stackDoc("prod") as Doc;
const projectsOf = (c: Doc): Doc[] => c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
const names = (changes: Change[], kind: Change["kind"]): string[] => changes.filter((c) => c.kind === kind).map((c) => c.name).sort();
const PHONE = { provider: "twilio", accountSid: `AC${"a".repeat(32)}`, messageServiceSid: `MG${"b".repeat(32)}` };

let base: Snapshot;
let project: string;

describe("a change to one project's Auth settings", () => {
  it("baseline renders", async () => {
    base = await runDoc("prod", prod);
    expect(base.error).toBeUndefined();
    project = projectsOf(prod)[0]!.name as string;
  });

  it("site URL, redirects, sign-up, a new provider with its secret, MFA and phone sign-in: only that project's auth config command changes", async () => {
    const c = clone(prod);
    projectsOf(c)[0]!.auth = {
      siteUrl: "https://app.example.com",
      redirectUrls: ["https://app.example.com/**", "http://localhost:3000/**"],
      signup: { email: true, phone: true, anonymous: true },
      emailConfirm: false,
      providers: { google: { clientId: "1234.apps.googleusercontent.com" }, keycloak: { clientId: "app", url: "https://sso.example.com/realms/app" } },
      mfa: { totp: false, phone: true },
      phone: PHONE,
    };
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    const changes = diffSnapshots(base, head);
    expect(names(changes, "create")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    expect(names(changes, "update")).toEqual([`${project}-auth-config`]);
    expect(changes.find((x) => x.name === `${project}-auth-config`)!.paths).toEqual(["stdin"]);

    // The file carries the provider's and Twilio's secrets: secret on the way, redacted in the render.
    const cmd = head.resources.find((r) => r.name === `${project}-auth-config`)!;
    expect(isSecretEnvelope(cmd.inputs.stdin)).toBe(true);
    const file = head.files.find((f) => f.path === `projects/${project}/auth.d/50-project.env`)!.content;
    expect(file).toContain("GOTRUE_EXTERNAL_GOOGLE_SECRET='<redacted:google>'");
    expect(file).toContain("GOTRUE_SMS_TWILIO_AUTH_TOKEN='<redacted:smsAuthToken>'");
    expect(file).toContain("GOTRUE_SITE_URL='https://app.example.com'");
    for (const secret of head.secretValues) expect(file.includes(secret), "a secret in the rendered auth file").toBe(false);

    // The probe target carries what the probe's sign-up, redirect and authorize checks expect, and no secret.
    const target = ProbeTargetSchema.parse(head.outputs.probeTarget);
    expect(target.projects.find((x) => x.name === project)!.auth).toEqual({
      siteUrl: "https://app.example.com",
      redirectUrls: ["https://app.example.com/**", "http://localhost:3000/**"],
      emailSignup: true,
      emailConfirm: false,
      providers: [
        { name: "google", clientId: "1234.apps.googleusercontent.com" },
        { name: "keycloak", clientId: "app" },
      ],
    });
    const other = target.projects.find((x) => x.name !== project)!;
    expect(other.auth).toEqual({ siteUrl: other.apiUrl, redirectUrls: [], emailSignup: true, emailConfirm: true, providers: [] });
  });

  it("a custom domain joins the hosts GoTrue accepts in mail links, in the auth config only among the auth resources", async () => {
    const c = clone(prod);
    projectsOf(c)[0]!.domains = ["api.client-example.com"];
    const head = await runDoc("prod", c);
    expect(head.error).toBeUndefined();
    const changes = diffSnapshots(base, head);
    expect(names(changes, "update")).toContain(`${project}-auth-config`);
    const file = head.files.find((f) => f.path === `projects/${project}/auth.d/50-project.env`)!.content;
    expect(file).toMatch(/^GOTRUE_MAILER_EXTERNAL_HOSTS='[^',]+,api\.client-example\.com'$/m);
    // No other project's auth settings move.
    for (const x of changes.filter((x) => x.name.endsWith("-auth-config"))) expect(x.name).toBe(`${project}-auth-config`);
  });

  it("the access tokens' lifetime also reaches the database's and PostgREST's JWT_EXP: that project's config and deploy, nothing of any other project", async () => {
    const c = clone(prod);
    projectsOf(c)[0]!.auth = { jwtExpiry: 7200 };
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(names(changes, "create")).toEqual([]);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    const updates = names(changes, "update");
    expect(updates).toEqual(expect.arrayContaining([`${project}-auth-config`, `${project}-config`, `${project}-deploy`]));
    for (const n of updates) expect(n === `studios-${project}-secrets` || n.startsWith(`${project}-`), n).toBe(true);
  });
});

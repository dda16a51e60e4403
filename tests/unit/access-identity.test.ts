import type { ResourceValidationArgs } from "@pulumi/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { accessAppNamesIdentityProvider } from "../../policies/rules/tunnel";
import { checkFleetConfig } from "../../src/config/load";
import type { ResourceNode, Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { runDoc } from "../helpers/offline";
import { plain } from "../helpers/policyHarness";
import { check, clone, stackDoc, validatorInput } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const TYPE = {
  idp: "cloudflare:index/zeroTrustAccessIdentityProvider:ZeroTrustAccessIdentityProvider",
  app: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  policy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
};
const of = (s: Snapshot, type: string): ResourceNode[] => s.resources.filter((r) => r.type === type);
/** A provider's config: secret as a whole, since it holds the client secret (so a preview shows none of it). */
function configOf(idp: ResourceNode): Doc {
  expect(isSecretEnvelope(idp.inputs.config), idp.name).toBe(true);
  return (idp.inputs.config as { value: Doc }).value;
}
/** A value with every secret envelope in it blanked: what a preview shows in plain text. */
function outsideSecrets(v: unknown): unknown {
  if (isSecretEnvelope(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(outsideSecrets);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, outsideSecrets(x)]));
  return v;
}
const issuesOf = (config: Doc): Record<string, string> => Object.fromEntries(check(config).issues.map((i) => [i.path, i.message]));

/** Slack's "Sign in with Slack" endpoints, as docs/configuration.md gives them. */
const SLACK = {
  type: "oidc",
  name: "slack",
  clientId: "4829166532.7301124855281",
  authUrl: "https://slack.com/openid/connect/authorize",
  tokenUrl: "https://slack.com/api/openid.connect.token",
  certsUrl: "https://slack.com/openid/connect/keys",
};

function withAccess(stack: string, access: Doc): Doc {
  const doc = clone(stackDoc(stack)) as Doc;
  doc["supafleet:access"] = { ...doc["supafleet:access"], ...access };
  return doc;
}

/** Runs the policy as the analyzer would for a resource of the given stack (the URN names it). */
function refusals(app: ResourceNode, stack: string, requiredInStacks = ["prod"]): string[] {
  const messages: string[] = [];
  const args = {
    type: app.type,
    name: app.name,
    urn: `urn:pulumi:${stack}::supafleet::${app.type}::${app.name}`,
    props: plain(app.inputs),
    getConfig: () => ({ requiredInStacks }),
  } as unknown as ResourceValidationArgs;
  for (const fn of [accessAppNamesIdentityProvider.validateResource].flat()) void fn!(args, (m) => messages.push(m));
  return messages;
}

describe("access.identityProviders and access.oneTimePin in the stack file", () => {
  it("accept Google Workspace, GitHub and an OIDC provider such as Slack, whose tokenUrl is no secret", () => {
    expect(check(withAccess("staging", { identityProviders: [{ type: "google", domain: "techhilfepro.de", clientId: "g" }, { type: "github", organization: "techhilfepro", clientId: "h" }, SLACK] })).issues).toEqual([]);
  });

  it("refuses, by path, a plain-http endpoint, a bad organisation, a second provider of a name, an unknown type and a bare oneTimePin: false", () => {
    expect(issuesOf(withAccess("staging", { identityProviders: [{ ...SLACK, authUrl: "http://slack.com/authorize" }, { type: "github", organization: "-bad-", clientId: "x" }, { ...SLACK, certsUrl: "https://slack.com/keys" }] }))).toEqual({
      "access.identityProviders[0].authUrl": "must be an https URL (got http://…): Access sends the sign-in's tokens over it",
      "access.identityProviders[1].organization": "must be a GitHub organisation's login, such as techhilfepro",
      "access.identityProviders[2]": 'is a second "slack" provider (the first is identityProviders[0]); declare each once',
    });
    expect(Object.keys(issuesOf(withAccess("staging", { identityProviders: [{ type: "okta", clientId: "x" }] })))).toEqual(["access.identityProviders[0].type"]);
    expect(issuesOf(withAccess("staging", { oneTimePin: false }))).toEqual({
      "access.oneTimePin": "is false and identityProviders is empty: nobody could sign in; declare a provider or leave oneTimePin out",
    });
  });

  it("declares one secure key per provider, and a run without it names the key and the command that sets it", () => {
    const { issues } = checkFleetConfig(validatorInput(withAccess("staging", { identityProviders: [SLACK] }), "staging"));
    expect(issues).toContainEqual({
      path: "supafleet:accessIdpSlackClientSecret",
      message: expect.stringContaining("pulumi env set <org>/supafleet/staging pulumiConfig.supafleet:accessIdpSlackClientSecret <value> --secret"),
    });
  });
});

describe("prod's identity providers in the plan", () => {
  let s: Snapshot;
  let staging: Snapshot;
  beforeAll(async () => {
    // One at a time: an offline run installs the mock runtime for itself.
    s = await runDoc("prod", stackDoc("prod"));
    staging = await runDoc("staging", stackDoc("staging"));
  });

  it("are Google Workspace restricted to the team's domain and GitHub, and no one-time PIN", () => {
    const idps = of(s, TYPE.idp).map((r) => ({ type: r.inputs.type, name: r.inputs.name, appsDomain: configOf(r).appsDomain }));
    expect(idps).toEqual([
      { type: "google-apps", name: "supafleet prod: Google Workspace (techhilfepro.de)", appsDomain: "techhilfepro.de" },
      { type: "github", name: "supafleet prod: GitHub (techhilfepro)", appsDomain: undefined },
    ]);
  });

  it("keep each client secret a secret, and its placeholder appears nowhere in plain text", () => {
    expect(of(s, TYPE.idp)).toHaveLength(2);
    for (const idp of of(s, TYPE.idp)) {
      const value = configOf(idp).clientSecret as string;
      expect(value).toMatch(/^<offline-placeholder:supafleet:accessIdp(Google|Github)ClientSecret>$/);
      expect(JSON.stringify(s.files)).not.toContain(value);
      expect(JSON.stringify(s.resources.map((r) => outsideSecrets(r)))).not.toContain(value);
    }
  });

  it("are named by every Access application, with the session of access.sessionDuration, and none redirects (two ways in)", () => {
    const ids = of(s, TYPE.idp).map((r) => r.id).sort();
    const apps = of(s, TYPE.app);
    expect(apps.length).toBeGreaterThan(5);
    for (const app of apps) {
      expect([...(app.inputs.allowedIdps as string[])].sort(), app.name).toEqual(ids);
      expect(app.inputs.sessionDuration, app.name).toBe("24h");
      expect(app.inputs.autoRedirectToIdentity, app.name).toBeUndefined();
    }
  });

  it("admit the GitHub organisation's members by the organisation, through that provider", () => {
    const github = of(s, TYPE.idp).find((r) => r.inputs.type === "github")!;
    const operators = of(s, TYPE.policy).find((r) => r.name === "edge-operators")!;
    expect(operators.inputs.includes).toContainEqual({ githubOrganization: { name: "techhilfepro", identityProviderId: github.id } });
    // The Workspace's domain is prod's access.emailDomains already: one rule, not two.
    expect((operators.inputs.includes as Doc[]).filter((i) => i.emailDomain?.domain === "techhilfepro.de")).toHaveLength(1);
  });

  it("pass the policy pack in prod, where an application without them is refused; staging, declaring none, keeps the account's login methods", () => {
    expect(of(s, TYPE.app).length).toBeGreaterThan(5);
    for (const app of of(s, TYPE.app)) expect(refusals(app, "prod"), app.name).toEqual([]);
    expect(of(staging, TYPE.idp)).toEqual([]);
    const bare = of(staging, TYPE.app);
    expect(bare.length).toBeGreaterThan(3);
    for (const app of bare) expect(app.inputs.allowedIdps, app.name).toBeUndefined();
    // The rule reads the stack from the URN: the same application is refused in prod, and passes in staging.
    expect(refusals(bare[0]!, "prod")).toEqual([`Access application ${bare[0]!.name}: names no identity provider in stack prod; declare access.identityProviders (or access.oneTimePin: true) in its stack file.`]);
    expect(refusals(bare[0]!, "staging")).toEqual([]);
    expect(refusals(bare[0]!, "staging", ["staging"])).toHaveLength(1);
  });
});

describe("other sign-in choices", () => {
  it("Google Workspace admits its own domain even where access.emailDomains does not list it", async () => {
    const s = await runDoc("staging", withAccess("staging", { emailDomains: [], identityProviders: [{ type: "google", domain: "techhilfe.dev", clientId: "g" }] }));
    const operators = of(s, TYPE.policy).find((r) => r.name === "edge-operators")!;
    expect(operators.inputs.includes).toContainEqual({ emailDomain: { domain: "techhilfe.dev" } });
  });

  it("one provider: every application goes straight to it", async () => {
    const s = await runDoc("staging", withAccess("staging", { identityProviders: [{ type: "github", organization: "techhilfepro", clientId: "Ov23li" }] }));
    const [github, ...more] = of(s, TYPE.idp);
    expect(more).toEqual([]);
    for (const app of of(s, TYPE.app)) {
      expect(app.inputs.allowedIdps, app.name).toEqual([github!.id]);
      expect(app.inputs.autoRedirectToIdentity, app.name).toBe(true);
    }
  });

  it("an OIDC provider beside the one-time PIN, which exists only because the stack file asks for it", async () => {
    const s = await runDoc("staging", withAccess("staging", { identityProviders: [SLACK], oneTimePin: true }));
    const idps = of(s, TYPE.idp).sort((a, b) => String(a.inputs.type).localeCompare(String(b.inputs.type)));
    expect(idps.map((r) => [r.inputs.type, r.inputs.name])).toEqual([
      ["oidc", "supafleet staging: slack"],
      ["onetimepin", "supafleet staging: one-time PIN"],
    ]);
    expect(configOf(idps[0]!)).toMatchObject({ authUrl: SLACK.authUrl, tokenUrl: SLACK.tokenUrl, certsUrl: SLACK.certsUrl, scopes: ["openid", "email", "profile"], clientId: SLACK.clientId });
    for (const app of of(s, TYPE.app)) {
      expect([...(app.inputs.allowedIdps as string[])].sort(), app.name).toEqual(idps.map((r) => r.id).sort());
      expect(app.inputs.autoRedirectToIdentity, app.name).toBeUndefined();
    }
    // An OIDC provider adds no rule of its own: its users pass by the listed e-mails and domains.
    const operators = of(s, TYPE.policy).find((r) => r.name === "edge-operators")!;
    expect((operators.inputs.includes as Doc[]).every((i) => "email" in i || "emailDomain" in i)).toBe(true);
  });
});

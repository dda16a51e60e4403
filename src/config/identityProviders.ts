import { z } from "zod";

/**
 * How operators sign in to Cloudflare Access (`access.identityProviders`, `access.oneTimePin`):
 * Google Workspace restricted to the team's domain, GitHub restricted to an organisation, or any
 * OIDC provider (Slack's "Sign in with Slack" is one). Client secrets are secure config keys
 * (`supafleet:accessIdp<Name>ClientSecret`), never fields here.
 */

const domain = z
  .string()
  .regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lowercase domain name such as example.com");
const clientId = z.string().min(1, "must not be empty").max(300, "must be at most 300 characters").regex(/^\S+$/, "must not hold spaces");

/** The IdP's endpoints carry the sign-in's tokens: https only. */
const httpsUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: `${value} is not an absolute URL such as https://idp.example.com/authorize` });
    return;
  }
  if (url.protocol !== "https:") ctx.addIssue({ code: "custom", message: `must be an https URL (got ${url.protocol}//…): Access sends the sign-in's tokens over it` });
});

/** GitHub's rule for organisation logins: letters, digits and inner single hyphens, at most 39. */
const githubOrganization = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, "must be a GitHub organisation's login, such as techhilfepro");

/** Names of the built-in kinds; an OIDC provider's own name must differ from them. */
const BUILT_IN = ["google", "github", "onetimepin"] as const;
const oidcName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/, "must be 2-24 characters: lowercase letters, digits and inner '-', starting with a letter")
  .refine((n) => !(BUILT_IN as readonly string[]).includes(n), { error: (i) => `"${String(i.input)}" names a built-in kind; choose another name` });

export const IdentityProviderSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("google"), domain, clientId }),
    z.strictObject({ type: z.literal("github"), organization: githubOrganization, clientId }),
    z.strictObject({
      type: z.literal("oidc"),
      name: oidcName,
      clientId,
      authUrl: httpsUrl,
      tokenUrl: httpsUrl,
      certsUrl: httpsUrl,
      scopes: z.array(z.string().regex(/^[\x21-\x7e]+$/, "must be one scope, without spaces")).min(1, "must list at least one scope").default(["openid", "email", "profile"]),
    }),
  ],
  { error: () => "type must be google, github or oidc" },
);

export type IdentityProviderConfig = z.infer<typeof IdentityProviderSchema>;

/** A provider's name in the stack: its kind for Google and GitHub (one of each), its own name for OIDC. */
export const identityProviderName = (p: IdentityProviderConfig): string => (p.type === "oidc" ? p.name : p.type);

/** `my-okta` → `supafleet:accessIdpMyOktaClientSecret`. */
export function identityProviderSecretKey(p: IdentityProviderConfig): string {
  const stem = identityProviderName(p).split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
  return `supafleet:accessIdp${stem}ClientSecret`;
}

const SECRET_KEY = /^supafleet:accessIdp[A-Z][A-Za-z0-9]*ClientSecret$/;
export const isIdentityProviderSecretKey = (key: string): boolean => SECRET_KEY.test(key);

/** The fields AccessSchema (schema.ts) takes from here. */
export const ACCESS_SIGN_IN_FIELDS = {
  identityProviders: z
    .array(IdentityProviderSchema)
    .superRefine((providers, ctx) => {
      const seen = new Map<string, number>();
      providers.forEach((p, i) => {
        const name = identityProviderName(p);
        const first = seen.get(name);
        if (first !== undefined) ctx.addIssue({ code: "custom", path: [i], message: `is a second "${name}" provider (the first is identityProviders[${first}]); declare each once` });
        else seen.set(name, i);
      });
    })
    .optional(),
  /** Cloudflare's one-time PIN by e-mail; see accessSignIn for its default. */
  oneTimePin: z.boolean().optional(),
};

/** The cross-field rule: a stack that turns the one-time PIN off must leave some other way in. */
export function refineSignIn(access: { identityProviders?: readonly unknown[] | undefined; oneTimePin?: boolean | undefined }, ctx: z.RefinementCtx): void {
  if (access.oneTimePin === false && (access.identityProviders ?? []).length === 0) {
    ctx.addIssue({ code: "custom", path: ["oneTimePin"], message: "is false and identityProviders is empty: nobody could sign in; declare a provider or leave oneTimePin out" });
  }
}

export interface AccessSignIn {
  readonly providers: readonly IdentityProviderConfig[];
  readonly oneTimePin: boolean;
  /**
   * Whether the program names each application's login methods. Not when the stack declares no
   * provider and leaves oneTimePin out: the applications then accept the account's own login
   * methods, as before identity providers were declared (the policy pack refuses that in prod).
   */
  readonly managed: boolean;
}

/** What the stack's access section means for sign-in: one-time PIN defaults to off once any provider is declared. */
export function accessSignIn(access: { identityProviders?: readonly IdentityProviderConfig[] | undefined; oneTimePin?: boolean | undefined }): AccessSignIn {
  const providers = access.identityProviders ?? [];
  const oneTimePin = access.oneTimePin ?? false;
  return { providers, oneTimePin, managed: providers.length > 0 || oneTimePin };
}

/** The secure keys the declared providers need, one client secret each. */
export function identityProviderSecureKeys(access: { identityProviders?: readonly IdentityProviderConfig[] | undefined } | undefined): { key: string; why: string; required: boolean }[] {
  return (access?.identityProviders ?? []).map((p) => ({
    key: identityProviderSecretKey(p),
    why: `client secret of the ${identityProviderName(p)} identity provider for Cloudflare Access (access.identityProviders)`,
    required: true,
  }));
}

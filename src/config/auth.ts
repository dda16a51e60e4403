import { z } from "zod";

/**
 * A project's own Auth (GoTrue) settings: where users land, who may sign up and how,
 * and which OAuth providers and SMS sender it uses. Secrets (provider secrets, the SMS
 * token) are secure config keys named in secrets.ts, never fields here.
 */

/** GoTrue's external providers at the pinned releases (supabase/auth internal/conf/configuration.go). */
export const AUTH_PROVIDERS = [
  "apple", "azure", "bitbucket", "discord", "facebook", "figma", "github", "gitlab", "google", "kakao",
  "keycloak", "linkedin_oidc", "notion", "slack_oidc", "spotify", "twitch", "twitter", "workos", "zoom",
] as const;
export type AuthProvider = (typeof AUTH_PROVIDERS)[number];

/** Providers GoTrue only knows under another name now. */
const RENAMED: Readonly<Record<string, AuthProvider>> = { slack: "slack_oidc", linkedin: "linkedin_oidc" };

/** Loopback is the one place plain http is fine: a developer's own machine. */
const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])$/;

/** An absolute https URL (http only to loopback); `globs` allows GoTrue's `*`/`**` patterns in the path and host. */
export function urlProblem(value: string, globs: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(globs ? value.replaceAll("**", "x").replaceAll("*", "x") : value);
  } catch {
    return `${value} is not an absolute URL such as https://app.example.com`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOCAL_HOST.test(url.hostname)) return undefined;
  return `${value} must use https (plain http only to localhost)`;
}

const url = (globs: boolean) =>
  z.string().superRefine((v, ctx) => {
    const problem = urlProblem(v, globs);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

/** A provider's public side: its client id, and for self-hosted providers (Keycloak, GitLab, Azure tenant, WorkOS) its URL. */
const ProviderSchema = z.strictObject({
  clientId: z.string().min(1).max(500).regex(/^[^\s,]+$/, "must be the provider's client id: no spaces or commas"),
  url: url(false).optional(),
});

/** Providers GoTrue has no default URL for: it fails their sign-in without one. */
const NEEDS_URL: readonly string[] = ["keycloak"];

const ProvidersSchema = z.record(z.string(), ProviderSchema).superRefine((providers, ctx) => {
  for (const name of NEEDS_URL) {
    if (providers[name] !== undefined && providers[name].url === undefined) {
      ctx.addIssue({ code: "custom", path: [name, "url"], message: `${name} has no public service of its own: give its realm's URL, e.g. https://sso.example.com/realms/app` });
    }
  }
  for (const name of Object.keys(providers)) {
    if ((AUTH_PROVIDERS as readonly string[]).includes(name)) continue;
    const renamed = RENAMED[name];
    ctx.addIssue({
      code: "custom",
      path: [name],
      message: renamed !== undefined ? `GoTrue calls this provider ${renamed} now; write ${renamed}` : `is not a provider GoTrue knows: ${AUTH_PROVIDERS.join(", ")}`,
    });
  }
});

/** Who may sign up, channel by channel; `signup: false` closes all of them (invites and the admin API still work). */
const SignupSchema = z.union(
  [
    z.literal(false),
    z.strictObject({ email: z.boolean().default(true), phone: z.boolean().default(false), anonymous: z.boolean().default(false) }),
  ],
  { error: () => "must be false, or { email, phone, anonymous } with true or false for each" },
);

/** Phone sign-in's SMS (and WhatsApp) sender; its auth token is the secure key supafleet:smsAuthToken-<project>. */
export const SMS_PROVIDERS = ["twilio", "twilio_verify"] as const;
const PhoneSchema = z.strictObject({
  provider: z.enum(SMS_PROVIDERS, { error: () => `must be one of ${SMS_PROVIDERS.join(", ")}` }),
  accountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "must be a Twilio account SID (AC followed by 32 hex digits)"),
  /** A Messaging Service SID (MG…) for twilio, a Verify Service SID (VA…) for twilio_verify. */
  messageServiceSid: z.string().regex(/^(MG|VA)[0-9a-f]{32}$/, "must be a Twilio Messaging Service SID (MG…) or Verify Service SID (VA…)"),
  /** Sign-in codes need a confirmed number: false lets a user in before the code is entered (not for production). */
  confirm: z.boolean().default(true),
});

export const AUTH_DEFAULT = {
  redirectUrls: [],
  signup: { email: true, phone: false, anonymous: false },
  emailConfirm: true,
  providers: {},
  jwtExpiry: 3600,
  mfa: { totp: true, phone: false },
} as const;

export const AuthSchema = z.strictObject({
  /** Where mail links and OAuth land by default; the project's API URL when left out. */
  siteUrl: url(false).optional(),
  /** Other places a sign-in may return to; GoTrue's globs (`*`, `**`) allowed. */
  redirectUrls: z.array(url(true)).default([]),
  signup: SignupSchema.default({ ...AUTH_DEFAULT.signup }),
  /** A new e-mail address must be confirmed before its user signs in (GoTrue's autoconfirm off). */
  emailConfirm: z.boolean().default(AUTH_DEFAULT.emailConfirm),
  providers: ProvidersSchema.default({}),
  /** Access tokens' lifetime in seconds: 5 minutes to a week. */
  jwtExpiry: z.number().int("must be a whole number of seconds").min(300, "must be at least 300 (5 minutes)").max(604800, "must be at most 604800 (a week)").default(AUTH_DEFAULT.jwtExpiry),
  mfa: z.strictObject({ totp: z.boolean().default(true), phone: z.boolean().default(false) }).default({ ...AUTH_DEFAULT.mfa }),
  phone: PhoneSchema.optional(),
}).superRefine((a, ctx) => {
  // Both need an SMS sender: without one GoTrue would accept the setting and fail each code it sends.
  if (a.signup !== false && a.signup.phone && a.phone === undefined) {
    ctx.addIssue({ code: "custom", path: ["signup", "phone"], message: "phone sign-up needs an SMS sender: add auth.phone (provider, accountSid, messageServiceSid)" });
  }
  if (a.mfa.phone && a.phone === undefined) {
    ctx.addIssue({ code: "custom", path: ["mfa", "phone"], message: "phone MFA sends its codes by SMS: add auth.phone (provider, accountSid, messageServiceSid)" });
  }
  // Twilio sends through a Messaging Service (MG…), Twilio Verify through a Verify Service (VA…).
  const sid = a.phone?.messageServiceSid.slice(0, 2);
  const wanted = a.phone?.provider === "twilio" ? "MG" : "VA";
  if (a.phone !== undefined && sid !== wanted) {
    ctx.addIssue({ code: "custom", path: ["phone", "messageServiceSid"], message: `${a.phone.provider} needs a ${wanted === "MG" ? "Messaging Service SID (MG…)" : "Verify Service SID (VA…)"}, not ${sid}…` });
  }
});

export type AuthConfig = z.infer<typeof AuthSchema>;
export type PhoneConfig = z.infer<typeof PhoneSchema>;

import { AUTH_PROVIDERS, type AuthConfig, type AuthProvider } from "../config/auth";

/**
 * A project's own Auth (GoTrue) settings, as the file GoTrue reads from its
 * config dir (`auth --config-dir /etc/auth.d`, see docs/configuration.md).
 *
 * How GoTrue reads that dir, from supabase/auth's source (cmd/serve_cmd.go at
 * 6b842f6b, internal/conf/configuration.go LoadDirectory at d7a9ca62,
 * internal/reloader/reloader.go at b1cd2b03, internal/conf/confload/loader.go at
 * 23188211): at start it takes the container's environment, then loads the
 * dir's *.env files over it (godotenv.Overload, or Setenv in the newer loader),
 * so the file wins. On a create, write or rename of a *.env file it waits for a
 * quiet spell (10 s; 5 s by default in newer releases), loads the files over the
 * process environment again and swaps in a new API
 * handler; the database connection stays. A changed value is therefore seen,
 * but a key taken out of the file keeps its last value until a restart: this
 * file states every key it owns, a provider no longer declared as disabled.
 */

/** The file's name in the project's auth.d folder; GoTrue reads *.env there in name order. */
export const AUTH_FILE = "50-project.env";
/** Where GoTrue sees the folder. */
export const AUTH_CONFIG_DIR = "/etc/auth.d";
/** The user GoTrue runs as in supabase/gotrue (its Dockerfile: `adduser -D -u 1000 supabase`, `USER supabase`): the file's owner. */
export const GOTRUE_UID = 1000;

/** The secrets a project's Auth settings carry: its declared providers' client secrets, its SMS token (values, or Pulumi inputs of them). */
export interface AuthSecrets<T> {
  readonly providers: Readonly<Partial<Record<AuthProvider, T>>>;
  readonly smsAuthToken?: T;
}
export type AuthSecretValues = AuthSecrets<string>;

export interface AuthEnvArgs {
  /** The project's Auth settings, its site URL resolved (ProjectPlan.auth). */
  readonly auth: AuthConfig & { readonly siteUrl: string };
  /** Its API hostname in the fleet's zone (<subdomain>.<domain>). */
  readonly apiHostname: string;
  /** The client's own hostnames that also serve its API (plan.customDomains). */
  readonly customHostnames: readonly string[];
}

/** GoTrue's name for a provider: GOTRUE_EXTERNAL_<NAME>_… (linkedin_oidc → LINKEDIN_OIDC). */
const providerVar = (p: AuthProvider, field: string): string => `GOTRUE_EXTERNAL_${p.toUpperCase()}_${field}`;
const flag = (b: boolean): string => String(b);

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`${what} is missing: the stack's secrets must supply it`);
  return value;
}

/** Every GOTRUE_* setting of one project's Auth, secrets included: for the auth.d file only. */
export function authEnv(a: AuthEnvArgs, s: AuthSecretValues): Record<string, string> {
  const auth = a.auth;
  const signup = auth.signup === false ? undefined : auth.signup;
  const phone = auth.phone;
  const callback = `https://${a.apiHostname}/auth/v1/callback`;
  const providers = AUTH_PROVIDERS.flatMap((p): [string, string][] => {
    const c = auth.providers[p];
    if (c === undefined) return [[providerVar(p, "ENABLED"), "false"]];
    return [
      [providerVar(p, "ENABLED"), "true"],
      [providerVar(p, "CLIENT_ID"), c.clientId],
      [providerVar(p, "SECRET"), required(s.providers[p], `the ${p} client secret`)],
      [providerVar(p, "REDIRECT_URI"), callback],
      // Always stated, so a URL taken out of the stack file is taken out of GoTrue too.
      [providerVar(p, "URL"), c.url ?? ""],
    ];
  });
  const sms: Record<string, string> =
    phone === undefined
      ? { GOTRUE_SMS_PROVIDER: "" }
      : {
          GOTRUE_SMS_PROVIDER: phone.provider,
          [`GOTRUE_SMS_${phone.provider.toUpperCase()}_ACCOUNT_SID`]: phone.accountSid,
          [`GOTRUE_SMS_${phone.provider.toUpperCase()}_AUTH_TOKEN`]: required(s.smsAuthToken, "the SMS auth token"),
          [`GOTRUE_SMS_${phone.provider.toUpperCase()}_MESSAGE_SERVICE_SID`]: phone.messageServiceSid,
        };
  return {
    GOTRUE_SITE_URL: auth.siteUrl,
    GOTRUE_URI_ALLOW_LIST: auth.redirectUrls.join(","),
    // `signup: false` closes every channel to new users; invited users still sign in by e-mail.
    GOTRUE_DISABLE_SIGNUP: flag(signup === undefined),
    GOTRUE_EXTERNAL_EMAIL_ENABLED: flag(signup?.email ?? true),
    GOTRUE_EXTERNAL_PHONE_ENABLED: flag(signup?.phone ?? phone !== undefined),
    GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: flag(signup?.anonymous ?? false),
    GOTRUE_MAILER_AUTOCONFIRM: flag(!auth.emailConfirm),
    GOTRUE_SMS_AUTOCONFIRM: flag(phone !== undefined && !phone.confirm),
    // Mail links and OAuth callbacks may name any of these hosts (X-Forwarded-Host), not only API_EXTERNAL_URL's.
    GOTRUE_MAILER_EXTERNAL_HOSTS: [a.apiHostname, ...a.customHostnames].join(","),
    GOTRUE_JWT_EXP: String(auth.jwtExpiry),
    GOTRUE_MFA_TOTP_ENROLL_ENABLED: flag(auth.mfa.totp),
    GOTRUE_MFA_TOTP_VERIFY_ENABLED: flag(auth.mfa.totp),
    GOTRUE_MFA_PHONE_ENROLL_ENABLED: flag(auth.mfa.phone),
    GOTRUE_MFA_PHONE_VERIFY_ENABLED: flag(auth.mfa.phone),
    ...sms,
    ...Object.fromEntries(providers),
  };
}

/**
 * The .env GoTrue parses (joho/godotenv): single-quoted values are taken
 * literally, with no escapes and no ${…} expansion. A value that holds a `'` or
 * a line break, or ends in a backslash (which godotenv 1.5 reads as escaping the
 * closing quote), cannot be written that way and is refused, without showing it.
 */
export function renderAuthFile(env: Readonly<Record<string, string>>): string {
  const lines = Object.entries(env).map(([k, v]) => {
    if (/['\n\r\0]|\\$/.test(v)) throw new Error(`${k} holds a quote or a line break, or ends in a backslash, which GoTrue's .env format cannot carry`);
    return `${k}='${v}'`;
  });
  return ["# supafleet: generated; this project's Auth settings and secrets. GoTrue reloads it on change.", ...lines].join("\n") + "\n";
}

/** The names the file sets, without values: what the GoTrue-names test checks. */
export function authFileNames(text: string): string[] {
  return [...text.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!);
}

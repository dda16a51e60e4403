import type { FleetConfig } from "./schema";
import { AUTH_PROVIDERS, type AuthConfig, type AuthProvider } from "./auth";
import { identityProviderSecureKeys, isIdentityProviderSecretKey } from "./identityProviders";

/** A value that must live in the stack file only as `secure:` ciphertext. */
export interface SecureKey {
  readonly key: string;
  readonly why: string;
  readonly required: boolean;
}

export const PROJECT_NAMESPACE = "supafleet";

/** The program's own secure keys besides the per-project SMTP passwords. */
/** The second copy's S3 credentials (backups.copy). */
export const BACKUP_COPY_SECRET_KEYS = {
  accessKeyId: "supafleet:backupCopyAccessKeyId",
  secretAccessKey: "supafleet:backupCopySecretAccessKey",
} as const;

export const ALERTING_SECRET_KEYS = {
  telegramBotToken: "supafleet:telegramBotToken",
  ntfyToken: "supafleet:ntfyToken",
  healthchecksPingKey: "supafleet:healthchecksPingKey",
} as const;

/**
 * The secure keys a project may have of its own, by the key's prefix: the
 * project's name follows it. Each names the project setting that needs it.
 */
const SMS_AUTH_TOKEN_PREFIX = "supafleet:smsAuthToken-";

export const PROJECT_SECRET_FAMILIES: readonly { readonly prefix: string; readonly setting: string }[] = [
  { prefix: "supafleet:smtpPassword-", setting: "smtp" },
  // One family per OAuth provider (supafleet:authGoogleSecret-<project>): the provider is in the key's
  // name, so a project's name, which may hold dashes, stays the whole rest of it.
  ...AUTH_PROVIDERS.map((p) => ({ prefix: `supafleet:${authSecretStem(p)}-`, setting: `auth.providers.${p}` })),
  { prefix: SMS_AUTH_TOKEN_PREFIX, setting: "auth.phone" },
];

/** linkedin_oidc → authLinkedinOidcSecret. */
function authSecretStem(provider: AuthProvider): string {
  return `auth${provider.split("_").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("")}Secret`;
}

/** The secure key holding a project's OAuth client secret for one provider. */
export function authProviderSecretKey(project: string, provider: AuthProvider): string {
  return `supafleet:${authSecretStem(provider)}-${project}`;
}

/** The secure key holding a project's Twilio auth token (auth.phone). */
export function smsAuthTokenKey(project: string): string {
  return `${SMS_AUTH_TOKEN_PREFIX}${project}`;
}

/** The project a per-project secure key names, and the setting that needs it; undefined for any other key. */
export function projectSecretOwner(key: string): { project: string; setting: string } | undefined {
  const family = PROJECT_SECRET_FAMILIES.find((f) => key.startsWith(f.prefix));
  const project = family !== undefined ? key.slice(family.prefix.length) : "";
  return /^[a-z0-9-]+$/.test(project) ? { project, setting: family!.setting } : undefined;
}

/** Whether a `supafleet:` key is one of the secure keys the program may declare. */
export function isDeclarableSecureKey(key: string): boolean {
  return key === smtpPasswordKey() || projectSecretOwner(key) !== undefined || isIdentityProviderSecretKey(key) || ([...Object.values(ALERTING_SECRET_KEYS), ...Object.values(BACKUP_COPY_SECRET_KEYS)] as string[]).includes(key);
}

export function smtpPasswordKey(projectName?: string): string {
  return projectName === undefined ? "supafleet:smtpPassword" : `${PROJECT_SECRET_FAMILIES[0]!.prefix}${projectName}`;
}

/**
 * The secure keys a stack needs, derived from its config. The offline plan
 * fills each with a marked placeholder; a real run that lacks one stops
 * with the exact command that sets it.
 */
export function secureKeys(cfg: Partial<FleetConfig>): SecureKey[] {
  const keys: SecureKey[] = [
    { key: "hcloud:token", why: "Hetzner Cloud API token (read & write) for the project", required: true },
    { key: "cloudflare:apiToken", why: "Cloudflare API token: Tunnel, DNS and Access edit on the account and zone", required: true },
    { key: smtpPasswordKey(), why: "password of the fleet's SMTP user", required: true },
  ];
  for (const tenant of cfg.tenants ?? []) {
    for (const project of tenant.projects) {
      if (project.smtp !== undefined) {
        keys.push({ key: smtpPasswordKey(project.name), why: `SMTP password for project ${project.name}`, required: true });
      }
      keys.push(...authSecureKeys(project.name, project.auth));
    }
  }
  keys.push(...identityProviderSecureKeys(cfg.access));
  if (cfg.alerting?.telegram !== undefined) {
    keys.push({ key: ALERTING_SECRET_KEYS.telegramBotToken, why: "Telegram bot token for alerts", required: true });
  }
  if (cfg.alerting?.ntfy !== undefined) {
    keys.push({ key: ALERTING_SECRET_KEYS.ntfyToken, why: "ntfy access token, if the topic is protected", required: false });
  }
  if (cfg.backups?.copy !== undefined) {
    keys.push({ key: BACKUP_COPY_SECRET_KEYS.accessKeyId, why: "access key of the S3 bucket that holds the second copy of the backups", required: true });
    keys.push({ key: BACKUP_COPY_SECRET_KEYS.secretAccessKey, why: "secret key of the S3 bucket that holds the second copy of the backups", required: true });
  }
  if (cfg.alerting?.healthchecks !== undefined) {
    keys.push({ key: ALERTING_SECRET_KEYS.healthchecksPingKey, why: "healthchecks.io project ping key", required: true });
  }
  return keys;
}

/** A project's Auth secrets: each declared provider's client secret, and the SMS sender's token. */
function authSecureKeys(project: string, auth: Partial<AuthConfig> | undefined): SecureKey[] {
  const providers = Object.keys(auth?.providers ?? {}).filter((p): p is AuthProvider => (AUTH_PROVIDERS as readonly string[]).includes(p));
  return [
    ...providers.map((p) => ({ key: authProviderSecretKey(project, p), why: `${p} OAuth client secret for project ${project}`, required: true })),
    ...(auth?.phone !== undefined ? [{ key: smsAuthTokenKey(project), why: `Twilio auth token for project ${project}'s phone sign-in`, required: true }] : []),
  ];
}

/** The Pulumi ESC environment a stack file imports for its secrets, as shipped (`environment:` in Pulumi.<stack>.yaml). */
export function escEnvironment(stack: string): string {
  return `supafleet/${stack}`;
}

/**
 * How to set a secure key: in the stack's ESC environment (the recommended
 * model: nothing secret enters git), or as `secure:` ciphertext in the stack
 * file for a backend without ESC.
 */
export function setSecretCommand(key: string, stack: string, organization = "<org>"): string {
  return `pulumi env set ${organization}/${escEnvironment(stack)} pulumiConfig.${key} <value> --secret (without ESC: pulumi config set --secret ${pathFlag(key)}${key} --stack ${stack})`;
}

/** How to take a key out of the stack's config, wherever it was set. */
export function removeCommand(key: string, stack: string, organization = "<org>"): string {
  return `pulumi env rm ${organization}/${escEnvironment(stack)} pulumiConfig.${key} (without ESC: pulumi config rm ${pathFlag(key)}${key} --stack ${stack})`;
}

/** A field inside a structured value (tls:proxy.password) is set with --path. */
export const pathFlag = (key: string): string => (/[.[]/.test(key) ? "--path " : "");

/**
 * Field names that say they hold a secret: password, token, secret anywhere,
 * or a name ending in key. Public keys (WireGuard's, SSH's) are the exception.
 */
const SECRET_FIELD = /(passw|secret|token)|key$/i;
// An OIDC provider's tokenUrl (access.identityProviders) is its public token endpoint.
const PUBLIC_KEY_FIELD = /publickey$|^tokenurl$/i;

export function looksLikeSecretField(name: string): boolean {
  return SECRET_FIELD.test(name) && !PUBLIC_KEY_FIELD.test(name);
}

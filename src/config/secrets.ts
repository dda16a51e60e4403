import type { FleetConfig } from "./schema";

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

/** Whether a `supafleet:` key is one of the secure keys the program may declare. */
export function isDeclarableSecureKey(key: string): boolean {
  return /^supafleet:smtpPassword(-[a-z0-9-]+)?$/.test(key) || ([...Object.values(ALERTING_SECRET_KEYS), ...Object.values(BACKUP_COPY_SECRET_KEYS)] as string[]).includes(key);
}

export function smtpPasswordKey(projectName?: string): string {
  return projectName === undefined ? "supafleet:smtpPassword" : `supafleet:smtpPassword-${projectName}`;
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
    }
  }
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
  return `pulumi env set ${organization}/${escEnvironment(stack)} pulumiConfig.${key} <value> --secret (without ESC: pulumi config set --secret ${key} --stack ${stack})`;
}

/**
 * Field names that say they hold a secret: password, token, secret anywhere,
 * or a name ending in key. Public keys (WireGuard's, SSH's) are the exception.
 */
const SECRET_FIELD = /(passw|secret|token)|key$/i;
const PUBLIC_KEY_FIELD = /publickey$/i;

export function looksLikeSecretField(name: string): boolean {
  return SECRET_FIELD.test(name) && !PUBLIC_KEY_FIELD.test(name);
}

import type { FleetConfig } from "./schema";

/** A value that must live in the stack file only as `secure:` ciphertext. */
export interface SecureKey {
  readonly key: string;
  readonly why: string;
  readonly required: boolean;
}

export const PROJECT_NAMESPACE = "supafleet";

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
    keys.push({ key: "supafleet:telegramBotToken", why: "Telegram bot token for alerts", required: true });
  }
  if (cfg.alerting?.ntfy !== undefined) {
    keys.push({ key: "supafleet:ntfyToken", why: "ntfy access token, if the topic is protected", required: false });
  }
  if (cfg.alerting?.healthchecks !== undefined) {
    keys.push({ key: "supafleet:healthchecksPingKey", why: "healthchecks.io project ping key", required: true });
  }
  return keys;
}

export function setSecretCommand(key: string, stack: string): string {
  return `pulumi config set --secret ${key} --stack ${stack}`;
}

/** Field names that only ever hold secrets; such a field in plain config is an error. */
const SECRET_FIELD = /(password|passwd|secret|token|apikey|api_key|privatekey|private_key|pingkey)$/i;

export function looksLikeSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

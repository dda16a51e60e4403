import * as pulumi from "@pulumi/pulumi";
import { ALERTING_SECRET_KEYS, BACKUP_COPY_SECRET_KEYS, authProviderSecretKey, smsAuthTokenKey } from "../config/secrets";
import { AUTH_PROVIDERS } from "../config/auth";
import { identityProviderName, identityProviderSecretKey } from "../config/identityProviders";
import type { AuthSecretInputs, FleetSecrets } from "../build/secrets";
import type { FleetPlan, ProjectPlan } from "../plan/types";

/** A declared secure value; validation has already proved it is present when required. */
function secretValue(key: string): pulumi.Output<string> | undefined {
  const [namespace, name] = key.split(":") as [string, string];
  return new pulumi.Config(namespace).getSecret(name);
}

function required(key: string, what: string): pulumi.Output<string> {
  const v = secretValue(key);
  if (v === undefined) throw new pulumi.RunError(`${key} (${what}) was validated as set but cannot be read`);
  return v;
}

/** A project's Auth secrets: one per declared provider, and the SMS token with auth.phone. */
function authSecrets(p: ProjectPlan): AuthSecretInputs {
  const providers = AUTH_PROVIDERS.filter((x) => p.auth.providers[x] !== undefined).map((x) => [x, required(authProviderSecretKey(p.name, x), `project ${p.name}'s ${x} client secret`)]);
  return {
    providers: Object.fromEntries(providers),
    ...(p.auth.phone !== undefined ? { smsAuthToken: required(smsAuthTokenKey(p.name), `project ${p.name}'s SMS auth token`) } : {}),
  };
}

/** Every secret the plan needs, read once, here and nowhere else. */
export function readSecrets(plan: FleetPlan): FleetSecrets {
  const smtpPasswords = new Map(plan.projects.map((p) => [p.name, required(p.smtpPasswordKey, `project ${p.name}'s SMTP password`)]));
  const a = plan.backups.alerting;
  const optional = <K extends string>(key: K, value: pulumi.Output<string> | undefined): Partial<Record<K, pulumi.Output<string>>> =>
    value !== undefined ? ({ [key]: value } as Record<K, pulumi.Output<string>>) : {};
  return {
    smtpPasswords,
    authSecrets: new Map(plan.projects.map((p) => [p.name, authSecrets(p)])),
    identityProviderSecrets: new Map((plan.edge.access.identityProviders ?? []).map((p) => [identityProviderName(p), required(identityProviderSecretKey(p), `the ${identityProviderName(p)} identity provider's client secret`)])),
    ...(a.healthchecksBase !== undefined ? optional("healthchecksPingKey", secretValue(ALERTING_SECRET_KEYS.healthchecksPingKey)) : {}),
    ...(a.ntfy !== undefined ? optional("ntfyToken", secretValue(ALERTING_SECRET_KEYS.ntfyToken)) : {}),
    ...(a.telegramChat !== undefined ? optional("telegramBotToken", secretValue(ALERTING_SECRET_KEYS.telegramBotToken)) : {}),
    ...(plan.backups.copy !== undefined
      ? { copy: { accessKeyId: required(BACKUP_COPY_SECRET_KEYS.accessKeyId, "backups.copy's access key"), secretAccessKey: required(BACKUP_COPY_SECRET_KEYS.secretAccessKey, "backups.copy's secret key") } }
      : {}),
  };
}

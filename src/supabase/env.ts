import type { SmtpConfig } from "../config/schema";
import type { ServiceName } from "../model/services";

/** The values only the program knows; each becomes a line of the project's .env. */
export interface ProjectSecretValues {
  readonly postgresPassword: string;
  readonly jwtSecret: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** Only with a Studio on the worker. */
  readonly dashboardPassword?: string;
  readonly secretKeyBase: string;
  readonly vaultEncKey: string;
  readonly pgMetaCryptoKey: string;
  readonly realtimeEncKey: string;
  readonly s3AccessKeyId: string;
  readonly s3AccessKeySecret: string;
  readonly smtpPassword: string;
  readonly publishableKey?: string;
  readonly secretKey?: string;
}

export interface ProjectEnvArgs {
  readonly project: string;
  readonly tenantName: string;
  readonly apiUrl: string;
  /** Access tokens' lifetime (auth.jwtExpiry): the database's and PostgREST's JWT_EXP; GoTrue takes it from its auth.d file. */
  readonly jwtExpiry: number;
  readonly smtp: SmtpConfig;
  readonly secrets: ProjectSecretValues;
  /** The services on the worker: a left-out one's settings stay out of the .env (a Studio there brings its own). */
  readonly services: readonly ServiceName[];
}

/** A secret a service on the worker needs: its absence is the program's mistake, never a silent empty value. */
export function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`${what} is missing, and a service on the worker needs it`);
  return value;
}
export const DASHBOARD_USERNAME = "supafleet";

/**
 * The project's .env: every secret and setting the compose file reads as
 * `${VAR}`. Names follow upstream's .env.example so operators recognise them.
 */
export function projectEnv(a: ProjectEnvArgs): Record<string, string> {
  const s = a.secrets;
  // A thunk: a left-out service's values are never computed, so a secret it alone needs may be absent.
  const only = (service: ServiceName, vars: () => Record<string, string>): Record<string, string> => (a.services.includes(service) ? vars() : {});
  return {
    POSTGRES_PASSWORD: s.postgresPassword,
    JWT_SECRET: s.jwtSecret,
    JWT_EXPIRY: String(a.jwtExpiry),
    ANON_KEY: s.anonKey,
    SERVICE_ROLE_KEY: s.serviceRoleKey,
    ...only("studio", () => ({ DASHBOARD_USERNAME, DASHBOARD_PASSWORD: required(s.dashboardPassword, "the dashboard password") })),
    ...only("realtime", () => ({ SECRET_KEY_BASE: s.secretKeyBase })),
    VAULT_ENC_KEY: s.vaultEncKey,
    PG_META_CRYPTO_KEY: s.pgMetaCryptoKey,
    ...only("realtime", () => ({ REALTIME_DB_ENC_KEY: s.realtimeEncKey })),
    ...only("storage", () => ({ S3_PROTOCOL_ACCESS_KEY_ID: s.s3AccessKeyId, S3_PROTOCOL_ACCESS_KEY_SECRET: s.s3AccessKeySecret })),
    ...(s.publishableKey !== undefined && s.secretKey !== undefined ? { SUPABASE_PUBLISHABLE_KEY: s.publishableKey, SUPABASE_SECRET_KEY: s.secretKey } : {}),
    ...only("studio", () => ({ SUPABASE_PUBLIC_URL: a.apiUrl })),
    // The project's own Auth settings (site URL, sign-up, providers, MFA, SMS) live in its auth.d file (authEnv.ts).
    API_EXTERNAL_URL: a.apiUrl,
    SMTP_ADMIN_EMAIL: a.smtp.adminEmail,
    SMTP_HOST: a.smtp.host,
    SMTP_PORT: String(a.smtp.port),
    SMTP_USER: a.smtp.user,
    SMTP_PASS: s.smtpPassword,
    SMTP_SENDER_NAME: a.smtp.senderName,
    PGRST_DB_SCHEMAS: "public,storage,graphql_public",
    ...only("functions", () => ({ FUNCTIONS_VERIFY_JWT: "false" })),
    ...only("studio", () => ({ STUDIO_DEFAULT_ORGANIZATION: a.tenantName, STUDIO_DEFAULT_PROJECT: a.project })),
  };
}

/**
 * Writes a .env that Docker Compose reads back verbatim: every value double
 * quoted, with `\`, `"` and newlines escaped and `$` doubled so nothing in a
 * password is ever interpolated.
 */
export function renderEnvFile(env: Readonly<Record<string, string>>): string {
  const quote = (value: string): string =>
    `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n").replaceAll("$", "$$$$")}"`;
  return ["# supafleet: generated; holds secrets. Mode 0600, root only.", ...Object.entries(env).map(([k, val]) => `${k}=${quote(val)}`)].join("\n") + "\n";
}

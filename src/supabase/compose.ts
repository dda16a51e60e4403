import { toYaml } from "../render/yaml";
import { STORAGE_UPLOAD_LIMIT } from "../config/buckets";
import type { ProjectPorts } from "../model/ports";
import { SERVICE_MEMORY_MIB, SERVICE_RESERVATION_MIB } from "../model/sizing";
import { containerName, networkName, volumeName } from "./naming";
import type { ComposeService } from "./composeService";
import { studioService } from "./studio";
import type { SupabaseRelease } from "../model/releases";
import { SERVICES, type ServiceName } from "../model/services";
import { AUTH_CONFIG_DIR } from "./authEnv";
import { RATE_LIMIT_DICT, RATE_LIMIT_DICT_SIZE, RATE_LIMIT_REQUIRES } from "./rateLimit";

export type { ComposeService } from "./composeService";

export interface ComposeFile {
  readonly name: string;
  /** Ignored by Compose; records the release and a digest of the secret files, so either change redeploys. */
  readonly "x-supafleet"?: { readonly release: string; readonly "config-sha256": string };
  /** Only the services the project runs on its worker (src/model/projectServices.ts). */
  readonly services: Readonly<Partial<Record<ServiceName, ComposeService>>>;
  readonly volumes: Readonly<Record<string, { readonly name: string }>>;
  readonly networks: { readonly default: { readonly name: string } };
}

export interface ComposeArgs {
  readonly project: string;
  readonly release: SupabaseRelease;
  /** The worker's WireGuard address: the only address anything is published on. */
  readonly bindAddress: string;
  readonly ports: ProjectPorts;
  /** Whether the tenant hook is installed (projects with schema packs). */
  readonly accessTokenHook: boolean;
  /** The services it runs on the worker, from workerServices(). */
  readonly services: readonly ServiceName[];
  /** Continuous WAL archiving into the worker's spool (docs/backups.md), when the project has it. */
  readonly walArchive?: { readonly archiveTimeoutSeconds: number };
}

/** The worker's WAL spools, one folder per project; tests point it elsewhere. */
export const WAL_SPOOL_ROOT = "/var/lib/supafleet/wal";
/** Where the database container sees its spool, and its archive command (templates/supabase/db/wal-archive.sh). */
export const CONTAINER_WAL_SPOOL = "/var/lib/supafleet/wal-spool";
export const WAL_ARCHIVE_COMMAND = "/usr/local/lib/supafleet/wal-archive.sh";

/** The db's command-line settings for archiving: archive_mode needs a restart, so they ride on the command. */
export function walArchiveSettings(w: { readonly archiveTimeoutSeconds: number }): string[] {
  return ["-c", "archive_mode=on", "-c", `archive_timeout=${w.archiveTimeoutSeconds}`, "-c", `archive_command=bash ${WAL_ARCHIVE_COMMAND} %p %f`];
}

/** Realtime finds its tenant in the first label of the Host it is called by. */
export const REALTIME_HOST = "realtime-dev.realtime";

/** `${NAME}`: filled by Compose from the project's .env, which holds every secret. */
const v = (name: string): string => `\${${name}}`;
// While a service starts, Docker checks every second (start_interval, Docker 25+), so a deploy and a
// rollback move on as soon as each service is healthy, not at the next 10 s check.
const health = (test: readonly string[], startPeriod = "10s") => ({ test, interval: "10s", timeout: "5s", retries: 5, start_period: startPeriod, start_interval: "1s" });
const healthy = { condition: "service_healthy" as const };
const started = { condition: "service_started" as const };

/**
 * One project's services, pinned to its release. On the worker the file sits
 * in projects/<name>/releases/current/, beside ../../assets and ../../secrets.
 * Every secret is a `${VAR}` reference, so this file holds none and can be shown in a diff; every port
 * is published on the WireGuard address only; every name carries the project.
 */
export function projectCompose(a: ComposeArgs): ComposeFile {
  const vol = (purpose: Parameters<typeof volumeName>[1]): string => volumeName(a.project, purpose);
  const db = `postgres://%s:${v("POSTGRES_PASSWORD")}@db:5432/postgres`;
  const dbAs = (role: string): string => db.replace("%s", role);
  const runs = (s: ServiceName): boolean => a.services.includes(s);
  const only = <T>(s: ServiceName, value: T): Partial<Record<ServiceName, T>> => (runs(s) ? { [s]: value } : {});

  const services: Record<ServiceName, Omit<ComposeService, "image" | "container_name" | "restart" | "mem_limit" | "mem_reservation">> = {
    db: {
      command: ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf", "-c", "log_min_messages=fatal", ...(a.walArchive !== undefined ? walArchiveSettings(a.walArchive) : [])],
      environment: {
        POSTGRES_HOST: "/var/run/postgresql",
        PGPORT: "5432",
        POSTGRES_PORT: "5432",
        PGPASSWORD: v("POSTGRES_PASSWORD"),
        POSTGRES_PASSWORD: v("POSTGRES_PASSWORD"),
        PGDATABASE: "postgres",
        POSTGRES_DB: "postgres",
        JWT_SECRET: v("JWT_SECRET"),
        JWT_EXP: v("JWT_EXPIRY"),
      },
      ports: [`${a.bindAddress}:${a.ports.db}:5432`],
      volumes: [
        "../../assets/db/realtime.sql:/docker-entrypoint-initdb.d/migrations/99-realtime.sql:ro,Z",
        "../../assets/db/roles.sql:/docker-entrypoint-initdb.d/init-scripts/99-roles.sql:ro,Z",
        "../../assets/db/jwt.sql:/docker-entrypoint-initdb.d/init-scripts/99-jwt.sql:ro,Z",
        `${vol("db-data")}:/var/lib/postgresql/data`,
        `${vol("db-config")}:/etc/postgresql-custom`,
        ...(a.walArchive !== undefined
          ? [`../../assets/db/wal-archive.sh:${WAL_ARCHIVE_COMMAND}:ro,Z`, `\${SUPAFLEET_WAL_ROOT:-${WAL_SPOOL_ROOT}}/${a.project}:${CONTAINER_WAL_SPOOL}:Z`]
          : []),
      ],
      healthcheck: health(["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"]),
    },
    meta: {
      environment: {
        PG_META_PORT: "8080",
        PG_META_DB_HOST: "db",
        PG_META_DB_PORT: "5432",
        PG_META_DB_NAME: "postgres",
        PG_META_DB_USER: "supabase_admin",
        PG_META_DB_PASSWORD: v("POSTGRES_PASSWORD"),
        CRYPTO_KEY: v("PG_META_CRYPTO_KEY"),
      },
      depends_on: { db: healthy },
      healthcheck: health(["CMD", "node", "-e", "fetch('http://localhost:8080/health').then((r) => process.exit(r.ok ? 0 : 1)).catch(() => process.exit(1))"]),
    },
    auth: {
      // Its own settings come from auth.d (src/supabase/authEnv.ts), which GoTrue reloads on change without a restart.
      command: ["auth", "--config-dir", AUTH_CONFIG_DIR],
      environment: {
        GOTRUE_API_HOST: "0.0.0.0",
        GOTRUE_API_PORT: "9999",
        API_EXTERNAL_URL: v("API_EXTERNAL_URL"),
        GOTRUE_DB_DRIVER: "postgres",
        GOTRUE_DB_DATABASE_URL: dbAs("supabase_auth_admin"),
        GOTRUE_JWT_ADMIN_ROLES: "service_role",
        GOTRUE_JWT_AUD: "authenticated",
        GOTRUE_JWT_DEFAULT_GROUP_NAME: "authenticated",
        GOTRUE_JWT_SECRET: v("JWT_SECRET"),
        GOTRUE_SMTP_ADMIN_EMAIL: v("SMTP_ADMIN_EMAIL"),
        GOTRUE_SMTP_HOST: v("SMTP_HOST"),
        GOTRUE_SMTP_PORT: v("SMTP_PORT"),
        GOTRUE_SMTP_USER: v("SMTP_USER"),
        GOTRUE_SMTP_PASS: v("SMTP_PASS"),
        GOTRUE_SMTP_SENDER_NAME: v("SMTP_SENDER_NAME"),
        GOTRUE_MAILER_URLPATHS_INVITE: "/auth/v1/verify",
        GOTRUE_MAILER_URLPATHS_CONFIRMATION: "/auth/v1/verify",
        GOTRUE_MAILER_URLPATHS_RECOVERY: "/auth/v1/verify",
        GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE: "/auth/v1/verify",
        ...(a.accessTokenHook
          ? { GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_ENABLED: "true", GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_URI: "pg-functions://postgres/public/custom_access_token_hook" }
          : {}),
      },
      // The folder, not the file: GoTrue watches the folder for the file's replacement.
      volumes: [`../../auth.d:${AUTH_CONFIG_DIR}:ro,Z`],
      depends_on: { db: healthy },
      healthcheck: health(["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:9999/health"]),
    },
    rest: {
      command: ["postgrest"],
      environment: {
        PGRST_DB_URI: dbAs("authenticator"),
        PGRST_DB_SCHEMAS: v("PGRST_DB_SCHEMAS"),
        PGRST_DB_ANON_ROLE: "anon",
        PGRST_JWT_SECRET: v("JWT_SECRET"),
        PGRST_DB_USE_LEGACY_GUCS: "false",
        PGRST_APP_SETTINGS_JWT_SECRET: v("JWT_SECRET"),
        PGRST_APP_SETTINGS_JWT_EXP: v("JWT_EXPIRY"),
        PGRST_ADMIN_SERVER_PORT: "3001",
      },
      depends_on: { db: healthy },
      healthcheck: health(["CMD", "postgrest", "--ready"]),
    },
    realtime: {
      environment: {
        PORT: "4000",
        DB_HOST: "db",
        DB_PORT: "5432",
        DB_USER: "supabase_admin",
        DB_PASSWORD: v("POSTGRES_PASSWORD"),
        DB_NAME: "postgres",
        DB_AFTER_CONNECT_QUERY: "SET search_path TO _realtime",
        DB_ENC_KEY: v("REALTIME_DB_ENC_KEY"),
        API_JWT_SECRET: v("JWT_SECRET"),
        SECRET_KEY_BASE: v("SECRET_KEY_BASE"),
        ERL_AFLAGS: "-proto_dist inet_tcp",
        DNS_NODES: "''",
        RLIMIT_NOFILE: "10000",
        APP_NAME: "realtime",
        SEED_SELF_HOST: "true",
        RUN_JANITOR: "true",
      },
      networks: { default: { aliases: [REALTIME_HOST] } },
      depends_on: { db: healthy },
      healthcheck: health(["CMD-SHELL", `curl -sSfL --head -o /dev/null -H "Authorization: Bearer ${v("ANON_KEY")}" http://localhost:4000/api/tenants/realtime-dev/health`], "20s"),
    },
    storage: {
      environment: {
        ANON_KEY: v("ANON_KEY"),
        SERVICE_KEY: v("SERVICE_ROLE_KEY"),
        POSTGREST_URL: "http://rest:3000",
        PGRST_JWT_SECRET: v("JWT_SECRET"),
        DATABASE_URL: dbAs("supabase_storage_admin"),
        REQUEST_ALLOW_X_FORWARDED_PATH: "true",
        // Every bucket's own limit is at most this (src/config/buckets.ts checks it).
        FILE_SIZE_LIMIT: String(STORAGE_UPLOAD_LIMIT),
        STORAGE_BACKEND: "file",
        FILE_STORAGE_BACKEND_PATH: "/var/lib/storage",
        TENANT_ID: "stub",
        REGION: "stub",
        GLOBAL_S3_BUCKET: "stub",
        // Without imgproxy, /render/image answers that transformations are off rather than timing out.
        ...(runs("imgproxy") ? { ENABLE_IMAGE_TRANSFORMATION: "true", IMGPROXY_URL: "http://imgproxy:5001" } : { ENABLE_IMAGE_TRANSFORMATION: "false" }),
        S3_PROTOCOL_ACCESS_KEY_ID: v("S3_PROTOCOL_ACCESS_KEY_ID"),
        S3_PROTOCOL_ACCESS_KEY_SECRET: v("S3_PROTOCOL_ACCESS_KEY_SECRET"),
      },
      volumes: [`${vol("storage")}:/var/lib/storage`],
      depends_on: { db: healthy, rest: started, ...only("imgproxy", started) },
      healthcheck: health(["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://127.0.0.1:5000/status"]),
    },
    imgproxy: {
      environment: { IMGPROXY_BIND: ":5001", IMGPROXY_LOCAL_FILESYSTEM_ROOT: "/", IMGPROXY_USE_ETAG: "true", IMGPROXY_ENABLE_WEBP_DETECTION: "true" },
      volumes: [`${vol("storage")}:/var/lib/storage:ro`],
      healthcheck: health(["CMD", "imgproxy", "health"]),
    },
    functions: {
      command: ["start", "--main-service", "/home/deno/functions/main"],
      environment: {
        JWT_SECRET: v("JWT_SECRET"),
        SUPABASE_URL: "http://gateway:8000",
        SUPABASE_ANON_KEY: v("ANON_KEY"),
        SUPABASE_SERVICE_ROLE_KEY: v("SERVICE_ROLE_KEY"),
        SUPABASE_DB_URL: dbAs("postgres"),
        // Upstream's one switch for every function, kept as upstream sets it; supafleet's router ignores it and
        // checks each function's own choice (templates/supabase/functions/main/route.ts).
        VERIFY_JWT: v("FUNCTIONS_VERIFY_JWT"),
      },
      // The router and the project's functions, which functions-deploy.sh writes and then restarts this
      // container on (a link it moves in one rename, to the folder of the latest deploy).
      volumes: ["../../functions:/home/deno/functions:ro,Z", `${vol("deno-cache")}:/root/.cache/deno`],
      depends_on: { db: healthy },
    },
    gateway: {
      environment: {
        KONG_DATABASE: "off",
        KONG_DECLARATIVE_CONFIG: "/home/kong/kong.yml",
        KONG_DNS_ORDER: "LAST,A,CNAME",
        KONG_PLUGINS: "request-transformer,cors,key-auth,acl,basic-auth,request-termination,ip-restriction,pre-function",
        // The tenants' rate limit (templates/supabase/kong/rate-limit.lua) counts in its own shared dict, and
        // Kong's sandbox for untrusted Lua stays on: it may require only what the rule needs (HMAC, JSON, base64url).
        KONG_NGINX_HTTP_LUA_SHARED_DICT: `${RATE_LIMIT_DICT} ${RATE_LIMIT_DICT_SIZE}`,
        KONG_UNTRUSTED_LUA: "sandbox",
        KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES: RATE_LIMIT_REQUIRES.join(","),
        KONG_NGINX_PROXY_PROXY_BUFFER_SIZE: "160k",
        KONG_NGINX_PROXY_PROXY_BUFFERS: "64 160k",
        KONG_NGINX_WORKER_PROCESSES: "1",
      },
      ports: [`${a.bindAddress}:${a.ports.gateway}:8000`],
      // Holds the API keys, so it sits with the .env in secrets/, outside the release.
      volumes: ["../../secrets/kong.yml:/home/kong/kong.yml:ro,Z"],
      labels: { "supafleet.kong-config-sha256": v("KONG_CONFIG_SHA256") },
      depends_on: { auth: healthy, rest: started, meta: started, ...only("realtime", started), ...only("storage", started), ...only("functions", started) },
      healthcheck: health(["CMD", "kong", "health"]),
    },
    studio: {
      ...studioService({ pgMetaUrl: "http://meta:8080", supabaseUrl: "http://gateway:8000" }),
      // Not published: Studio is reached through the gateway, on its own hostname, behind Access and basic auth.
      depends_on: { meta: healthy },
    },
  };

  return {
    name: a.project,
    services: Object.fromEntries(
      SERVICES.filter(runs).map((s) => [
        s,
        {
          image: a.release.images[s],
          container_name: containerName(a.project, s),
          restart: "unless-stopped" as const,
          mem_limit: `${SERVICE_MEMORY_MIB[s]}m`,
          mem_reservation: `${SERVICE_RESERVATION_MIB[s]}m`,
          ...services[s],
        },
      ]),
    ),
    volumes: Object.fromEntries(
      (["db-data", "db-config", ...(runs("storage") ? (["storage"] as const) : []), ...(runs("functions") ? (["deno-cache"] as const) : [])] as const).map((p) => [vol(p), { name: vol(p) }]),
    ),
    networks: { default: { name: networkName(a.project) } },
  };
}

export function renderCompose(c: ComposeFile): string {
  return `# supafleet: project ${c.name}. Generated; secrets come from ../../secrets/.env.\n${toYaml(c)}`;
}

/** Variables the deploy script computes on the worker, not kept in the .env. */
export const DEPLOY_VARIABLES = ["KONG_CONFIG_SHA256"] as const;

/** Every `${VAR}` a compose file reads from the .env. */
export function composeVariables(c: ComposeFile): string[] {
  const text = JSON.stringify(c);
  const all = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!))];
  return all.filter((x) => !(DEPLOY_VARIABLES as readonly string[]).includes(x)).sort();
}

/** The images of a project, by service: what a preview shows changing on an upgrade. */
export function composeImages(c: ComposeFile): Partial<Record<ServiceName, { image: string }>> {
  return Object.fromEntries(SERVICES.flatMap((s) => (c.services[s] !== undefined ? [[s, { image: c.services[s].image }]] : [])));
}

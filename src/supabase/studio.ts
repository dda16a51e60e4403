import type { ComposeService } from "./composeService";

/** Where a Studio finds its project: pg-meta (through the gateway's /pg/ on the master) and the API. */
export interface StudioUpstreams {
  readonly pgMetaUrl: string;
  readonly supabaseUrl: string;
}

const v = (name: string): string => `\${${name}}`;

/**
 * Studio's settings wherever it runs: upstream's self-hosted set, every secret a `${VAR}` from
 * the .env beside it. Studio never reaches Postgres itself: it sends pg-meta an encrypted
 * connection string (PG_META_CRYPTO_KEY) naming host `db`, which pg-meta resolves on the worker.
 */
export function studioService(u: StudioUpstreams): Pick<ComposeService, "environment" | "healthcheck"> {
  return {
    environment: {
      STUDIO_PG_META_URL: u.pgMetaUrl,
      POSTGRES_PASSWORD: v("POSTGRES_PASSWORD"),
      DEFAULT_ORGANIZATION_NAME: v("STUDIO_DEFAULT_ORGANIZATION"),
      DEFAULT_PROJECT_NAME: v("STUDIO_DEFAULT_PROJECT"),
      SUPABASE_URL: u.supabaseUrl,
      SUPABASE_PUBLIC_URL: v("SUPABASE_PUBLIC_URL"),
      SUPABASE_ANON_KEY: v("ANON_KEY"),
      SUPABASE_SERVICE_KEY: v("SERVICE_ROLE_KEY"),
      AUTH_JWT_SECRET: v("JWT_SECRET"),
      PG_META_CRYPTO_KEY: v("PG_META_CRYPTO_KEY"),
      POSTGRES_USER_READ_WRITE: "postgres",
      NEXT_PUBLIC_ENABLE_LOGS: "false",
      ENABLED_FEATURES_LOGS_ALL: "false",
      SNIPPETS_MANAGEMENT_FOLDER: "/app/snippets",
      EDGE_FUNCTIONS_MANAGEMENT_FOLDER: "/app/edge-functions",
    },
    healthcheck: {
      test: ["CMD", "node", "-e", "fetch('http://localhost:3000/api/platform/profile').then((r) => { if (r.status !== 200) throw new Error(r.status) })"],
      interval: "10s",
      timeout: "5s",
      retries: 5,
      start_period: "30s",
      start_interval: "1s",
    },
  };
}

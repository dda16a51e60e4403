import type { ServiceName } from "./services";

/**
 * Upstream self-hosted Supabase releases that supafleet knows how to run. Each
 * pins every image by tag, as upstream's docker-compose.yml at that release did.
 * A project picks one by name; the fleet sets a default. Never `latest`.
 */
export interface SupabaseRelease {
  readonly postgresMajor: 15 | 17;
  /** Whether this release understands the opaque sb_publishable_/sb_secret_ keys. */
  readonly opaqueKeys: boolean;
  readonly images: Readonly<Record<ServiceName, string>>;
}

export const RELEASES: Readonly<Record<string, SupabaseRelease>> = {
  // docker/docker-compose.yml at upstream commit 00069a4c (Studio 2026.02.16).
  "2026.02": {
    postgresMajor: 15,
    opaqueKeys: false,
    images: {
      db: "supabase/postgres:15.8.1.085",
      meta: "supabase/postgres-meta:v0.95.2",
      auth: "supabase/gotrue:v2.186.0",
      rest: "postgrest/postgrest:v14.5",
      realtime: "supabase/realtime:v2.78.15",
      storage: "supabase/storage-api:v1.44.2",
      imgproxy: "darthsim/imgproxy:v3.30.1",
      functions: "supabase/edge-runtime:v1.70.3",
      gateway: "kong:2.8.1",
      studio: "supabase/studio:2026.02.16-sha-26c615c",
    },
  },
  // The set upstream shipped in 2026-08 (Kong 3, opaque API keys), still on Postgres 15.
  "2026.08": {
    postgresMajor: 15,
    opaqueKeys: true,
    images: {
      db: "supabase/postgres:15.8.1.085",
      meta: "supabase/postgres-meta:v0.96.6",
      auth: "supabase/gotrue:v2.189.0",
      rest: "postgrest/postgrest:v14.12",
      realtime: "supabase/realtime:v2.102.3",
      storage: "supabase/storage-api:v1.60.4",
      imgproxy: "darthsim/imgproxy:v3.30.1",
      functions: "supabase/edge-runtime:v1.74.0",
      gateway: "kong/kong:3.9.1",
      studio: "supabase/studio:2026.07.07-sha-a6a04f2",
    },
  },
};

export const RELEASE_NAMES = Object.keys(RELEASES) as [string, ...string[]];

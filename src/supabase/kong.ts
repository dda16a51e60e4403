import { toYaml } from "../render/yaml";
import { REALTIME_HOST } from "./compose";
import { DASHBOARD_USERNAME, required } from "./env";
import { rateLimitChunk, type ProjectRateLimits } from "./rateLimit";
import type { ServiceName } from "../model/services";

/**
 * Kong's declarative config for one project, built as data: upstream's
 * routes and key model (docker/volumes/api/kong.yml), with the keys filled in
 * so no entrypoint substitution is needed, and Studio on its own hostname.
 */
type Plugin =
  | { readonly name: "cors" }
  | { readonly name: "key-auth"; readonly config: { readonly hide_credentials: boolean } }
  | { readonly name: "acl"; readonly config: { readonly hide_groups_header: true; readonly allow: readonly string[] } }
  | { readonly name: "basic-auth"; readonly config: { readonly hide_credentials: true } }
  | { readonly name: "request-termination"; readonly config: { readonly status_code: number; readonly message: string } }
  | { readonly name: "pre-function"; readonly config: { readonly access: readonly string[] } }
  | {
      readonly name: "request-transformer";
      readonly config: { readonly add?: { readonly headers: readonly string[] }; readonly replace?: { readonly headers: readonly string[] } };
    };

export interface KongRoute {
  readonly name: string;
  readonly strip_path: boolean;
  readonly paths: readonly string[];
  readonly hosts?: readonly string[];
}

export interface KongService {
  readonly name: string;
  readonly url: string;
  readonly read_timeout?: number;
  readonly routes: readonly KongRoute[];
  readonly plugins?: readonly Plugin[];
}

export interface KongConsumer {
  readonly username: string;
  readonly keyauth_credentials?: readonly { readonly key: string }[];
  readonly basicauth_credentials?: readonly { readonly username: string; readonly password: string }[];
}

export interface KongConfig {
  readonly _format_version: "2.1";
  readonly _transform: true;
  readonly consumers: readonly KongConsumer[];
  readonly acls: readonly { readonly consumer: string; readonly group: string }[];
  readonly services: readonly KongService[];
}

export interface KongKeys {
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** Only with a Studio on the worker. */
  readonly dashboardPassword?: string;
  /** Present on releases that accept opaque keys. */
  readonly publishableKey?: string;
  readonly secretKey?: string;
}

const lua = (s: string): string => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

/**
 * The Authorization header upstream's gateway derives: a user's own JWT
 * passes through; an opaque key becomes the matching role's JWT; a legacy
 * key is used as the bearer token itself. A Kong template (LuaJIT).
 */
export function authorizationExpression(keys: KongKeys): string {
  const opaque =
    keys.publishableKey !== undefined && keys.secretKey !== undefined
      ? `(headers.apikey == ${lua(keys.secretKey)} and ${lua(`Bearer ${keys.serviceRoleKey}`)}) or (headers.apikey == ${lua(keys.publishableKey)} and ${lua(`Bearer ${keys.anonKey}`)}) or `
      : "";
  return `$((headers.authorization ~= nil and string.sub(headers.authorization, 1, 10) ~= "Bearer sb_" and headers.authorization) or ${opaque}("Bearer " .. (headers.apikey or "")))`;
}

/** Sets the derived Authorization header whether or not the request brought one. */
function authorizationTransformer(keys: KongKeys): Plugin {
  const header = `Authorization:${authorizationExpression(keys)}`;
  return { name: "request-transformer", config: { add: { headers: [header] }, replace: { headers: [header] } } };
}

/** What the gateway routes to: the project's services on its worker, and Studio's hostname when Studio is one of them. */
export interface KongRouting {
  readonly services: readonly ServiceName[];
  readonly studioHostname: string;
  /**
   * cloudflared checks Access's JWT for Studio's hostname (cloudflare.teamName is set): that is the one
   * sign-in, and Studio's route asks for no password (docs/operations.md, "One sign-in for Studio").
   */
  readonly studioAccessChecked?: boolean;
}

/** The tenants' rate limits (./rateLimit.ts), with the JWT secret their claims are verified with. */
export interface KongRateLimit {
  readonly limits: ProjectRateLimits;
  readonly jwtSecret: string;
}

export function kongConfig(keys: KongKeys, routing: KongRouting, rateLimit?: KongRateLimit): KongConfig {
  const runs = (s: ServiceName): boolean => routing.services.includes(s);
  const when = <T>(s: ServiceName, ...items: T[]): T[] => (runs(s) ? items : []);
  const opaque = keys.publishableKey !== undefined && keys.secretKey !== undefined;
  const cors: Plugin = { name: "cors" };
  // On every route a tenant's traffic takes; not on Studio's (operators, behind Access), pg-meta's, nor denied ones.
  const limit: Plugin[] = rateLimit !== undefined ? [{ name: "pre-function", config: { access: [rateLimitChunk(rateLimit.limits, rateLimit.jwtSecret)] } }] : [];
  const keyAuth = (hide: boolean): Plugin => ({ name: "key-auth", config: { hide_credentials: hide } });
  const acl = (...allow: string[]): Plugin => ({ name: "acl", config: { hide_groups_header: true, allow } });
  // Only where opaque keys exist: map them to JWTs before the request reaches a service.
  const authHeader: Plugin[] = opaque ? [authorizationTransformer(keys)] : [];
  const deny = (message: string): Plugin => ({ name: "request-termination", config: { status_code: 403, message } });
  const route = (name: string, paths: string[], extra: Partial<KongRoute> = {}): KongRoute => ({ name, strip_path: true, paths, ...extra });
  const open = (name: string, path: string): KongService => ({ name, url: `http://auth:9999${path.replace("/auth/v1", "")}`, routes: [route(`${name}-route`, [path])], plugins: [...limit, cors] });

  return {
    _format_version: "2.1",
    _transform: true,
    consumers: [
      // Built only with a Studio on the worker whose JWT no one checks before Kong: the one case that has a password.
      ...(runs("studio") && routing.studioAccessChecked !== true ? [{ username: "DASHBOARD", basicauth_credentials: [{ username: DASHBOARD_USERNAME, password: required(keys.dashboardPassword, "the dashboard password") }] }] : []),
      { username: "anon", keyauth_credentials: [{ key: keys.anonKey }, ...(opaque ? [{ key: keys.publishableKey! }] : [])] },
      { username: "service_role", keyauth_credentials: [{ key: keys.serviceRoleKey }, ...(opaque ? [{ key: keys.secretKey! }] : [])] },
    ],
    acls: [
      { consumer: "anon", group: "anon" },
      { consumer: "service_role", group: "admin" },
    ],
    services: [
      // Open auth endpoints: links in emails and OAuth redirects carry no key.
      open("auth-v1-open", "/auth/v1/verify"),
      open("auth-v1-open-callback", "/auth/v1/callback"),
      open("auth-v1-open-authorize", "/auth/v1/authorize"),
      open("auth-v1-open-jwks", "/auth/v1/.well-known/jwks.json"),
      { name: "auth-v1", url: "http://auth:9999/", routes: [route("auth-v1-all", ["/auth/v1/"])], plugins: [...limit, cors, keyAuth(false), acl("admin", "anon"), ...authHeader] },
      { name: "rest-v1", url: "http://rest:3000/", routes: [route("rest-v1-all", ["/rest/v1/"])], plugins: [...limit, cors, keyAuth(true), acl("admin", "anon"), ...authHeader] },
      {
        name: "graphql-v1",
        url: "http://rest:3000/rpc/graphql",
        routes: [route("graphql-v1-all", ["/graphql/v1"])],
        plugins: [...limit, cors, keyAuth(true), { name: "request-transformer", config: { add: { headers: ["Content-Profile:graphql_public"] } } }, acl("admin", "anon"), ...authHeader],
      },
      ...when<KongService>(
        "realtime",
        { name: "realtime-v1-ws", url: `http://${REALTIME_HOST}:4000/socket`, routes: [route("realtime-v1-ws", ["/realtime/v1/"])], plugins: [...limit, cors, keyAuth(false), acl("admin", "anon"), ...authHeader] },
        { name: "realtime-v1-rest", url: `http://${REALTIME_HOST}:4000/api`, routes: [route("realtime-v1-rest", ["/realtime/v1/api"])], plugins: [...limit, cors, keyAuth(false), acl("admin", "anon"), ...authHeader] },
        // Tenant administration of Realtime is never public.
        { name: "realtime-v1-admin", url: `http://${REALTIME_HOST}:4000/api`, routes: [route("realtime-v1-admin", ["/realtime/v1/api/tenants", "/realtime/v1/api/openapi"])], plugins: [deny("Forbidden")] },
      ),
      // Storage checks keys itself (S3 signatures and signed URLs carry none).
      ...when<KongService>("storage", { name: "storage-v1", url: "http://storage:5000/", routes: [route("storage-v1-all", ["/storage/v1/"])], plugins: [...limit, cors, ...authHeader] }),
      ...when<KongService>("functions", { name: "functions-v1", url: "http://functions:9000/", read_timeout: 150000, routes: [route("functions-v1-all", ["/functions/v1/"])], plugins: [...limit, cors, ...authHeader] }),
      // Studio's way to the database, wherever Studio runs: the service key (admin) only.
      { name: "meta", url: "http://meta:8080/", routes: [route("meta-all", ["/pg/"])], plugins: [keyAuth(false), acl("admin")] },
      ...when<KongService>(
        "studio",
        { name: "mcp-blocked", url: "http://studio:3000/api/mcp", routes: [route("mcp-blocked", ["/mcp", "/api/mcp"])], plugins: [deny("Forbidden")] },
        // Studio on the worker: its own hostname only (behind Cloudflare Access), and the dashboard password unless cloudflared checked Access's JWT.
        {
          name: "dashboard",
          url: "http://studio:3000/",
          routes: [route("dashboard-all", ["/"], { hosts: [routing.studioHostname] })],
          plugins: [cors, ...(routing.studioAccessChecked === true ? [] : [{ name: "basic-auth", config: { hide_credentials: true } } as const])],
        },
      ),
    ],
  };
}

export function renderKongConfig(c: KongConfig): string {
  return `# supafleet: generated; holds API keys. Mode 0600, root only.\n${toYaml(c)}`;
}

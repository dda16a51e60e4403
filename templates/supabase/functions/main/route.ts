// supafleet: the router's decisions, apart from Deno so that Node's tests run them too
// (tests/unit/functions-router.test.ts). Which function a request is for, and whether its
// JWT must hold: per function, from the manifest the deploy writes beside the router
// (verify-jwt.json), on unless set false, as the Supabase CLI's verify_jwt. HS256 only: a
// project's keys are signed with its JWT_SECRET. Error codes are upstream's router's.

/** The names routed; a stack file's function names are checked against the same pattern. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** The router itself, never a function. */
export const ROUTER = "main";

/** Each deployed function's choice: true when its callers must bring a valid JWT. */
export interface Manifest {
  readonly verifyJwt: Readonly<Record<string, boolean>>;
}

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export type Decision = { readonly route: string } | { readonly refuse: Refusal };

export interface RouterRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
}

const refuse = (status: number, code: string, message: string): Decision => ({ refuse: { status, code, message } });
const invalid = (message = "Invalid JWT"): Decision => refuse(401, "UNAUTHORIZED_INVALID_JWT", message);

/** The manifest's text, or undefined when missing or unreadable: then every function checks JWTs. */
export function parseManifest(text: string | undefined): Manifest | undefined {
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as { verifyJwt?: unknown };
    const v = m.verifyJwt;
    if (v === null || typeof v !== "object" || Object.values(v).some((b) => typeof b !== "boolean")) return undefined;
    return { verifyJwt: v as Record<string, boolean> };
  } catch {
    return undefined;
  }
}

function base64url(part: string): Uint8Array<ArrayBuffer> {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

const json = (part: string): Record<string, unknown> => {
  const v: unknown = JSON.parse(new TextDecoder().decode(base64url(part)));
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
  return v as Record<string, unknown>;
};

/** Why an HS256 token does not hold (signature, expiry, not-before), or undefined when it does. */
export async function jwtProblem(token: string, secret: string | undefined, nowSeconds: number): Promise<Decision | undefined> {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return refuse(401, "UNAUTHORIZED_INVALID_JWT_FORMAT", "Invalid JWT format");
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = json(parts[0]!);
    claims = json(parts[1]!);
  } catch {
    return refuse(401, "UNAUTHORIZED_INVALID_JWT_FORMAT", "Invalid JWT format");
  }
  if (header.alg !== "HS256") return refuse(401, "UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM", `Unsupported JWT algorithm ${String(header.alg)}`);
  if (!secret) return invalid();
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signed = await crypto.subtle.verify("HMAC", key, base64url(parts[2]!), new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
  if (!signed) return invalid();
  if (claims.exp !== undefined && (typeof claims.exp !== "number" || claims.exp <= nowSeconds)) return invalid("JWT expired");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || claims.nbf > nowSeconds)) return invalid("JWT not yet valid");
  return undefined;
}

/**
 * Which function a request goes to, or why it is refused: a bad name (400), a function the
 * manifest does not list (404), a missing or failing JWT where the function checks it (401).
 * A CORS preflight (OPTIONS) carries no Authorization and is never checked, as upstream.
 */
export async function decide(req: RouterRequest, manifest: Manifest | undefined, secret: string | undefined, nowSeconds: number): Promise<Decision> {
  const name = req.path.split("/").filter(Boolean)[0];
  if (!name || !FUNCTION_NAME.test(name) || name === ROUTER) return refuse(400, "INVALID_FUNCTION_NAME", "missing or invalid function name");
  if (manifest !== undefined && !Object.hasOwn(manifest.verifyJwt, name)) return refuse(404, "NOT_FOUND", `no function ${name}`);
  const verify = manifest?.verifyJwt[name] ?? true;
  if (!verify || req.method === "OPTIONS") return { route: name };
  if (!req.authorization) return refuse(401, "UNAUTHORIZED_NO_AUTH_HEADER", "Missing authorization header");
  const [scheme, token, ...rest] = req.authorization.split(" ");
  if (scheme !== "Bearer" || !token || rest.length > 0) return refuse(401, "UNAUTHORIZED_INVALID_JWT_FORMAT", "Invalid JWT format");
  return (await jwtProblem(token, secret, nowSeconds)) ?? { route: name };
}

import { createHash } from "node:crypto";
import { SignJWT } from "jose";

export type ApiRole = "anon" | "service_role";

/**
 * Fixed issue time, so a key changes only when its project's JWT secret does:
 * a key minted from "now" would change on every run. Upstream's keys carry the
 * same claims (role, iss, iat, exp) with a five-year life; ours last ten.
 */
export const API_KEY_ISSUED_AT = Date.UTC(2026, 0, 1) / 1000;
export const API_KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;
export const API_KEY_ISSUER = "supabase";

/** An HS256 API key as upstream's generate-keys.sh makes it. */
export async function signApiKey(jwtSecret: string, role: ApiRole): Promise<string> {
  if (jwtSecret.length < 32) throw new Error("a Supabase JWT secret must be at least 32 characters");
  return new SignJWT({ role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(API_KEY_ISSUER)
    .setIssuedAt(API_KEY_ISSUED_AT)
    .setExpirationTime(API_KEY_ISSUED_AT + API_KEY_LIFETIME_SECONDS)
    .sign(new TextEncoder().encode(jwtSecret));
}

export type OpaqueKind = "publishable" | "secret";

/**
 * The opaque keys newer releases accept (sb_publishable_… / sb_secret_…):
 * prefix, 22 random base64url characters, then an 8-character checksum, the
 * layout upstream's add-new-auth-keys.sh produces.
 */
export function opaqueApiKey(kind: OpaqueKind, random16: Buffer): string {
  if (random16.length !== 16) throw new Error("an opaque API key takes 16 random bytes");
  const body = `sb_${kind}_${random16.toString("base64url")}`;
  const check = createHash("sha256").update(`supabase-self-hosted|${body}`).digest("base64url").slice(0, 8);
  return `${body}_${check}`;
}

import type { IncomingMessage } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";

/** Where Cloudflare Access's signing keys are and what its tokens must say. */
export interface AccessSettings {
  readonly certsUrl: string;
  readonly issuer: string;
  readonly audience: string;
}

export const accessSettings = (teamName: string, aud: string): AccessSettings => ({
  certsUrl: `https://${teamName}.cloudflareaccess.com/cdn-cgi/access/certs`,
  issuer: `https://${teamName}.cloudflareaccess.com`,
  audience: aud,
});

/** Access's JWT: the header cloudflared passes on, or the cookie a browser holds. */
export function accessToken(req: IncomingMessage): string | undefined {
  const header = req.headers["cf-access-jwt-assertion"];
  if (typeof header === "string" && header !== "") return header;
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "CF_Authorization" && value.length > 0) return value.join("=");
  }
  return undefined;
}

export type AccessResult = { readonly identity: string } | { readonly refused: string };

/**
 * Verifies a request's Access JWT (RS256, against the team's published keys,
 * its issuer and the console app's audience) and names who sent it: a
 * person's email, or a service token's common name.
 */
export function accessCheck(settings: AccessSettings): (req: IncomingMessage) => Promise<AccessResult> {
  const keys = createRemoteJWKSet(new URL(settings.certsUrl));
  return async (req) => {
    const token = accessToken(req);
    if (token === undefined) return { refused: "this console needs Cloudflare Access's token (the CF_Authorization cookie or the Cf-Access-Jwt-Assertion header)" };
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: settings.issuer, audience: settings.audience, algorithms: ["RS256"] });
      const identity = typeof payload.email === "string" ? payload.email : typeof payload.common_name === "string" ? payload.common_name : undefined;
      if (identity === undefined) return { refused: "the Access token names no email and no service token" };
      return { identity };
    } catch {
      // jose's reason may quote claims; the refusal stays plain.
      return { refused: "the Access token is not valid for this console" };
    }
  };
}

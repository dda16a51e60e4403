import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import type { AccessSettings } from "../../templates/console/access";

/**
 * A Cloudflare Access team of the test's own: an RS256 key pair, its public
 * half served as a JWKS on loopback as Access serves its certs, and tokens
 * signed as Access signs them (issuer, audience, email).
 */
export class TestAccess {
  private server: Server | undefined;
  private privateKey: CryptoKey | undefined;
  readonly audience = "console-aud-0123456789abcdef";
  settings!: AccessSettings;

  async start(host = "127.0.0.1"): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    this.privateKey = privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" }] });
    this.server = createServer((req, res) => {
      if (req.url !== "/cdn-cgi/access/certs") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    });
    await new Promise<void>((r) => this.server!.listen(0, host, r));
    const { port } = this.server.address() as AddressInfo;
    this.settings = { certsUrl: `http://${host}:${port}/cdn-cgi/access/certs`, issuer: "https://supafleet-test.cloudflareaccess.com", audience: this.audience };
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A token as Access issues it; `claims` and `key` change what a test needs changed. */
  async token(claims: JWTPayload = { email: "ops@example.com" }, opts: { key?: CryptoKey; audience?: string; expires?: string | number } = {}): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "test-key" })
      .setIssuer(this.settings.issuer)
      .setAudience(opts.audience ?? this.audience)
      .setIssuedAt()
      .setExpirationTime(opts.expires ?? "10m")
      .sign(opts.key ?? this.privateKey!);
  }

  /** A key pair of another team: its tokens look right and must be refused. */
  static async strangerKey(): Promise<CryptoKey> {
    return (await generateKeyPair("RS256")).privateKey;
  }
}

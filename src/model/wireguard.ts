import { createPrivateKey, createPublicKey } from "node:crypto";

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410).
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/**
 * WireGuard keys are X25519. The private key is 32 random bytes made by
 * @pulumi/random; the public key is derived here so it never needs a round
 * trip to a server.
 */
export function wireguardPublicKey(privateKeyBase64: string): string {
  const raw = Buffer.from(privateKeyBase64, "base64");
  if (raw.length !== 32) throw new Error(`a WireGuard private key is 32 bytes, got ${raw.length}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

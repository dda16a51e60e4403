import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { wireguardPublicKey } from "../../src/model/wireguard";

/** The reference: wireguard-tools' own derivation. */
const wgPubkey = (privateKey: string): string => execFileSync("wg", ["pubkey"], { input: `${privateKey}\n`, encoding: "utf8" }).trim();

describe("WireGuard public keys derived in the program", () => {
  it("equal what `wg pubkey` derives, for any 32 random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const privateKey = Buffer.from(bytes).toString("base64");
        expect(wireguardPublicKey(privateKey)).toBe(wgPubkey(privateKey));
      }),
      { numRuns: 50 },
    );
  });

  it("refuses a key of the wrong length", () => {
    expect(() => wireguardPublicKey(Buffer.alloc(31).toString("base64"))).toThrow("a WireGuard private key is 32 bytes, got 31");
  });
});

import { createHash } from "node:crypto";

// How the SDK marks a secret value inside serialized inputs.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** What the render shows in place of a secret. */
export const REDACTED = "[secret]";

export function isSecretEnvelope(v: unknown): v is { value: unknown } {
  return v !== null && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/**
 * Replaces secret values in resource inputs. `hash` keeps a short fingerprint
 * so a diff can still tell a changed secret from an unchanged one; files
 * written to out/ use the plain marker.
 */
export function redactInputs(value: unknown, mode: "marker" | "hash"): unknown {
  if (isSecretEnvelope(value)) {
    if (mode === "marker") return REDACTED;
    return `[secret ${createHash("sha256").update(JSON.stringify(value.value)).digest("hex").slice(0, 10)}]`;
  }
  if (Array.isArray(value)) return value.map((v) => redactInputs(v, mode));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactInputs(v, mode)]));
  }
  return value;
}

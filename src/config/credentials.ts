import { formatPath, type ConfigIssue } from "./issues";
import type { FleetConfig } from "./schema";
import { PROJECT_NAMESPACE, isDeclarableSecureKey, looksLikeSecretField, pathFlag, projectSecretOwner, removeCommand, setSecretCommand, type SecureKey } from "./secrets";

/** The part of a stack's config these checks read (load.ts's StackConfigInput). */
interface Source {
  readonly stack: string;
  readonly values: Readonly<Record<string, unknown>>;
  readonly secretKeys: ReadonlySet<string>;
  readonly organization?: string;
}

/** Cloudflare's provider takes one credential; a second one breaks every call. */
const CLOUDFLARE_ALTERNATIVES = new Set(["cloudflare:apiKey", "cloudflare:apiUserServiceKey"]);

const held = (v: unknown): boolean => v !== undefined && v !== null && v !== "";
const isCiphertext = (v: unknown): boolean => v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in v;

/** The plain-text refusal shared by every credential: where it is, and how to keep it as a secret. */
export function plainCredential(path: string, src: Source): ConfigIssue {
  const note = CLOUDFLARE_ALTERNATIVES.has(path) ? "; supafleet signs in with cloudflare:apiToken, and Cloudflare's provider takes only one of apiKey, apiToken and apiUserServiceKey" : "";
  return {
    path,
    message: `is set in plain text; remove it (from the ESC environment, or pulumi config rm ${pathFlag(path)}${path} --stack ${src.stack}) and set it again as a secret: ${setSecretCommand(path, src.stack, src.organization)}${note}`,
  };
}

interface Found {
  readonly path: PropertyKey[];
  readonly url: boolean;
  readonly value: unknown;
}

/** Secret-named fields and user:password@ URLs inside a structured value. */
function secretsInside(value: unknown, path: PropertyKey[] = []): Found[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretsInside(v, [...path, i]));
  if (typeof value === "string") return /^[a-z][a-z0-9+.-]*:\/\/[^/\s@]*:[^/\s@]*@/i.test(value) ? [{ path, url: true, value }] : [];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (looksLikeSecretField(k) ? [{ path: [...path, k], url: false, value: v }] : secretsInside(v, [...path, k])));
}

/** A password or token typed straight into the program's structured config is refused, wherever it sits. */
export function plainSecrets(src: Source, keys: readonly string[]): ConfigIssue[] {
  return keys.flatMap((key) =>
    secretsInside(src.values[`${PROJECT_NAMESPACE}:${key}`]).map((s) => ({
      path: formatPath(key, s.path),
      message: s.url
        ? "holds a password in its URL (user:password@); remove it and keep the password as a secret"
        : "looks like a secret in plain text; remove it and keep it as a secret in the stack's ESC environment (or with `pulumi config set --secret`)",
    })),
  );
}

/**
 * Provider credentials (cloudflare:apiKey, hcloud:token, tls:proxy.password, and
 * any other provider's) in plain text: by the key's name, or inside its value.
 * The secure keys the program declares are checked with their reasons instead.
 */
export function plainProviderCredentials(src: Source, declared: readonly SecureKey[]): ConfigIssue[] {
  const skip = new Set(declared.map((s) => s.key));
  return Object.keys(src.values)
    .filter((k) => k.includes(":") && !k.startsWith(`${PROJECT_NAMESPACE}:`) && !skip.has(k) && !src.secretKeys.has(k))
    .flatMap((k) => {
      const v = src.values[k];
      if (looksLikeSecretField(k.slice(k.indexOf(":") + 1))) return held(v) ? [plainCredential(k, src)] : [];
      // Offline, a `secure:` leaf inside a structure is still its ciphertext.
      return secretsInside(v)
        .filter((s) => held(s.value) && !isCiphertext(s.value))
        .map((s) => plainCredential(formatPath(k, s.path), src));
    });
}

/**
 * Secure keys the config does not need. One that names a project that is not
 * declared, or that has no setting to use it, is refused even as a secret:
 * nothing reads it. Any other is refused only in plain text, like a credential.
 */
export function strayProgramSecrets(src: Source, cfg: Partial<FleetConfig>, declared: readonly SecureKey[]): ConfigIssue[] {
  const needed = new Set(declared.map((s) => s.key));
  const projects = (cfg.tenants ?? []).flatMap((t, i) => t.projects.map((p, j) => ({ p, at: `tenants[${i}].projects[${j}]` })));
  return Object.keys(src.values)
    .filter((k) => isDeclarableSecureKey(k) && !needed.has(k))
    .flatMap((k) => {
      const plain = !src.secretKeys.has(k) && held(src.values[k]);
      const owner = projectSecretOwner(k);
      // Without accepted tenants, which projects exist is unknown: their own issues come first.
      if (owner === undefined || cfg.tenants === undefined) return plain ? [plainCredential(k, src)] : [];
      const found = projects.find((x) => x.p.name === owner.project);
      const names = projects.map((x) => x.p.name).join(", ") || "none";
      const why =
        found === undefined
          ? `names project "${owner.project}", but no project of that name is declared (projects: ${names})`
          : `is for project ${owner.project}, which has no ${owner.setting} of its own (${found.at}.${owner.setting}), so nothing reads it`;
      return [{ path: k, message: `${plain ? "is set in plain text, and " : ""}${why}; remove it: ${removeCommand(k, src.stack, src.organization)}` }];
    });
}

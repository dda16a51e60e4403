import { Secret, type ResourceValidationPolicy } from "@pulumi/policy";

/** Input names that only ever hold secrets. `publicKey` and `sshKeys` are not among them. */
const SECRET_NAME = /(password|passwd|secret|token|privatekey|private_key|apikey|api_key|accesskey|secretkey|encryptionkey)$/i;
/** `KEY=value` entries of an environment list, as docker's `envs` takes them. */
const ENV_ENTRY = /^([A-Za-z_][A-Za-z0-9_]*)=/;

// Remediation receives props behind proxies: reading through them unwraps
// secrets, while the innermost target still holds them as Secret instances.
const PROXY_TARGET = "__getSpecialProxyTarget";

function raw(value: unknown): unknown {
  let v = value;
  while (v !== null && typeof v === "object") {
    const target = (v as Record<string, unknown>)[PROXY_TARGET];
    if (target === undefined || target === v) break;
    v = target;
  }
  return v;
}

/** `a.b[2]`: the path of a child, in the form the messages show. */
function childPath(path: string, k: string | number): string {
  return typeof k === "number" ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`;
}

/**
 * Paths of inputs that are named like a secret but hold plain text. Works on
 * props whose secrets are `Secret` instances (what remediation sees).
 */
export function plainSecretPaths(props: unknown, path = ""): string[] {
  const v = raw(props);
  if (v instanceof Secret || v === null || typeof v !== "object") return [];
  const at = (k: string | number): string => childPath(path, k);
  if (Array.isArray(v)) {
    return v.flatMap((item, i) => {
      const entry = raw(item);
      if (typeof entry === "string") {
        const key = ENV_ENTRY.exec(entry)?.[1];
        return key !== undefined && SECRET_NAME.test(key) ? [`${at(i)} (${key})`] : [];
      }
      return plainSecretPaths(item, at(i));
    });
  }
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => {
    const inner = raw(x);
    if (SECRET_NAME.test(k) && (typeof inner === "string" || typeof inner === "number") && inner !== "") return [at(k)];
    return plainSecretPaths(x, at(k));
  });
}

export function plainSecretMessage(name: string, paths: readonly string[]): string {
  return `${name}: ${paths.join(", ")} ${paths.length === 1 ? "is a secret given" : "are secrets given"} in plain text; pass ${paths.length === 1 ? "it" : "them"} as a Pulumi secret.`;
}

function wrap(props: unknown, paths: ReadonlySet<string>, path = ""): unknown {
  const v = raw(props);
  if (v instanceof Secret || v === null || typeof v !== "object") return v;
  const at = (k: string | number): string => childPath(path, k);
  if (Array.isArray(v)) {
    return v.map((item, i) => {
      const entry = raw(item);
      const key = typeof entry === "string" ? ENV_ENTRY.exec(entry)?.[1] : undefined;
      return key !== undefined && paths.has(`${at(i)} (${key})`) ? new Secret(entry) : wrap(item, paths, at(i));
    });
  }
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, paths.has(at(k)) ? new Secret(raw(x)) : wrap(x, paths, at(k))]));
}

/**
 * Validation never sees whether a value is secret (the analyzer unwraps
 * secrets before validation), so this rule acts where it can: remediation
 * receives secrets still marked, and turns any plain-text secret into a
 * Pulumi secret before the resource is registered, so it is encrypted in state
 * and masked in output. The engine reports each remediation.
 */
export const secretInputsAreSecret: ResourceValidationPolicy = {
  name: "secret-inputs-are-secret",
  description: "Any input named like a password, secret, key or token is a Pulumi secret, never plain text.",
  enforcementLevel: "remediate",
  remediateResource: (args) => {
    const paths = plainSecretPaths(args.props);
    if (paths.length === 0) return undefined;
    return wrap(args.props, new Set(paths)) as Record<string, unknown>;
  },
};

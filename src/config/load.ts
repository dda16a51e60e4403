import type { z } from "zod";
import { ConfigError, formatPath, type ConfigIssue } from "./issues";
import { FLEET_KEYS, FleetSchema, type FleetConfig } from "./schema";
import { plainCredential, plainProviderCredentials, plainSecrets, strayProgramSecrets } from "./credentials";
import { PROJECT_NAMESPACE, isDeclarableSecureKey, secureKeys, setSecretCommand, type SecureKey } from "./secrets";
import { validateFleet } from "./validate";

/** A stack's config as Pulumi hands it over: fully qualified keys, values already parsed. */
export interface StackConfigInput {
  readonly stack: string;
  readonly stackFile: string;
  readonly values: Readonly<Record<string, unknown>>;
  readonly secretKeys: ReadonlySet<string>;
  /** The Pulumi organization, for the commands a message suggests; unknown offline. */
  readonly organization?: string;
}

export interface LoadedConfig {
  readonly config: FleetConfig;
  readonly secure: readonly SecureKey[];
}

const qualified = (key: string): string => `${PROJECT_NAMESPACE}:${key}`;

/**
 * A check the program adds beyond the stack file itself (functions folders on disk, the schema packs' tables), run on
 * whatever sections parsed, like validateFleet: its problems are listed with all the others.
 */
export type FleetCheck = (cfg: Partial<FleetConfig>) => ConfigIssue[];

/** Validates everything and throws one ConfigError that lists every problem. */
export function loadFleetConfig(input: StackConfigInput, checks: readonly FleetCheck[] = []): LoadedConfig {
  const { config, secure, issues } = checkFleetConfig(input, checks);
  if (issues.length > 0 || config === undefined) throw new ConfigError(input.stackFile, issues);
  return { config, secure };
}

export function checkFleetConfig(input: StackConfigInput, checks: readonly FleetCheck[] = []): {
  config?: FleetConfig;
  secure: SecureKey[];
  issues: ConfigIssue[];
} {
  const issues: ConfigIssue[] = [];
  issues.push(...unknownKeys(input), ...misspelledNamespaces(input), ...plainSecrets(input, FLEET_KEYS), ...needlessSecrets(input));

  // Each top-level key is parsed on its own, so one broken section does not hide
  // the problems of the others. Only an accepted section is set in `sections`
  // (as undefined when left out and optional): later checks see nothing else.
  const sections: Partial<Record<keyof FleetConfig, unknown>> = {};
  for (const key of FLEET_KEYS) {
    const schema = FleetSchema.shape[key] as z.ZodType;
    const result = schema.safeParse(input.values[qualified(key)], { reportInput: true });
    if (result.success) sections[key] = result.data;
    else issues.push(...afterRefusal(result.error.issues).flatMap((i) => fromZod(key, i)));
  }
  const partial = sections as Partial<FleetConfig>;
  const secure = secureKeys(partial);
  issues.push(...secureKeyIssues(secure, input), ...plainProviderCredentials(input, secure), ...strayProgramSecrets(input, partial, secure));
  issues.push(...validateFleet(partial, input.stack), ...checks.flatMap((check) => check(partial)));

  const complete = FLEET_KEYS.every((k) => k in sections);
  return complete && issues.length === 0 ? { config: partial as FleetConfig, secure, issues } : { secure, issues };
}

/** Zod still measures a value of the wrong type ("expected array to have >=1 items" for a string); once refused, it is not judged again. */
function afterRefusal(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const refused = new Set(issues.filter((i) => i.code === "invalid_type").map((i) => JSON.stringify(i.path)));
  return issues.filter((i) => i.code === "invalid_type" || !refused.has(JSON.stringify(i.path)));
}

function fromZod(root: string, issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => ({
      path: formatPath(root, [...issue.path, k]),
      message: "is not a known setting (check its spelling and indentation)",
    }));
  }
  const path = formatPath(root, issue.path);
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return [{ path, message: "is required" }];
  }
  if (typeof issue.input === "number" && !Number.isFinite(issue.input)) {
    return [{ path, message: `must be a finite number, not ${String(issue.input)} (YAML reads .inf and .nan as numbers)` }];
  }
  // YAML reads 2026.02 as the number 2026.02 (and 2026.10 as 2026.1): a release or tag must be quoted.
  if (typeof issue.input === "number" && (issue.code === "invalid_value" || (issue.code === "invalid_type" && issue.expected === "string"))) {
    return [{ path, message: `must be text, but YAML read it as the number ${issue.input}; quote it: "${String(issue.input)}"` }];
  }
  if (issue.code === "invalid_type") {
    return [{ path, message: `must be ${article(issue.expected)}, not ${describe(issue.input)}` }];
  }
  return [{ path, message: issue.message }];
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : `${typeof value} ${JSON.stringify(value)}`;
}

/** How many single-character edits turn a into b. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** `supafleat:domain` is not another provider's setting: it is this program's, misspelled, and silently ignored. */
function misspelledNamespaces(input: StackConfigInput): ConfigIssue[] {
  return Object.keys(input.values).flatMap((k) => {
    const [ns, ...rest] = k.split(":");
    if (ns === undefined || rest.length === 0 || ns === PROJECT_NAMESPACE) return [];
    const close = editDistance(ns.toLowerCase(), PROJECT_NAMESPACE) <= 2;
    return close ? [{ path: k, message: `"${ns}" looks like a typo of "${PROJECT_NAMESPACE}"; did you mean ${PROJECT_NAMESPACE}:${rest.join(":")}?` }] : [];
  });
}

/** A setting kept as `secure:` that holds nothing secret hides the fleet's shape from previews and reviewers. */
function needlessSecrets(input: StackConfigInput): ConfigIssue[] {
  return FLEET_KEYS.map(qualified)
    .filter((k) => input.secretKeys.has(k))
    .map((k) => ({ path: k, message: "is stored as a secret, but it is a setting, not a secret; set it in plain text so previews and reviews can read it (secrets go in the secure keys listed in docs/configuration.md)" }));
}

function unknownKeys(input: StackConfigInput): ConfigIssue[] {
  const known = new Set(FLEET_KEYS.map(qualified));
  return Object.keys(input.values)
    .filter((k) => k.startsWith(`${PROJECT_NAMESPACE}:`) && !known.has(k) && !isDeclarableSecureKey(k))
    .map((k) => ({ path: k, message: `is not a known setting; known settings are ${FLEET_KEYS.join(", ")}` }));
}

function secureKeyIssues(secure: readonly SecureKey[], input: StackConfigInput): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const s of secure) {
    const present = input.values[s.key] !== undefined && input.values[s.key] !== "";
    if (present && !input.secretKeys.has(s.key)) {
      issues.push(plainCredential(s.key, input));
    } else if (!present && s.required) {
      issues.push({ path: s.key, message: `is missing (${s.why}); set it with: ${setSecretCommand(s.key, input.stack, input.organization)}` });
    }
  }
  return issues;
}

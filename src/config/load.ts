import type { z } from "zod";
import { ConfigError, formatPath, type ConfigIssue } from "./issues";
import { FLEET_KEYS, FleetSchema, type FleetConfig } from "./schema";
import { PROJECT_NAMESPACE, isDeclarableSecureKey, looksLikeSecretField, secureKeys, setSecretCommand, type SecureKey } from "./secrets";
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

/** Validates everything and throws one ConfigError that lists every problem. */
export function loadFleetConfig(input: StackConfigInput): LoadedConfig {
  const { config, secure, issues } = checkFleetConfig(input);
  if (issues.length > 0 || config === undefined) throw new ConfigError(input.stackFile, issues);
  return { config, secure };
}

export function checkFleetConfig(input: StackConfigInput): {
  config?: FleetConfig;
  secure: SecureKey[];
  issues: ConfigIssue[];
} {
  const issues: ConfigIssue[] = [];
  issues.push(...unknownKeys(input), ...plainSecrets(input));

  // Each top-level key is parsed on its own, so one broken section does not hide
  // the problems of the others.
  const sections: Partial<Record<keyof FleetConfig, unknown>> = {};
  for (const key of FLEET_KEYS) {
    const schema = FleetSchema.shape[key] as z.ZodType;
    const result = schema.safeParse(input.values[qualified(key)], { reportInput: true });
    if (result.success) sections[key] = result.data;
    else issues.push(...result.error.issues.flatMap((i) => fromZod(key, i)));
  }
  const partial = sections as Partial<FleetConfig>;
  const secure = secureKeys(partial);
  issues.push(...secureKeyIssues(secure, input));
  issues.push(...validateFleet(partial, input.stack));

  const complete = FLEET_KEYS.every((k) => k in sections);
  return complete && issues.length === 0 ? { config: partial as FleetConfig, secure, issues } : { secure, issues };
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

function unknownKeys(input: StackConfigInput): ConfigIssue[] {
  const known = new Set(FLEET_KEYS.map(qualified));
  return Object.keys(input.values)
    .filter((k) => k.startsWith(`${PROJECT_NAMESPACE}:`) && !known.has(k) && !isDeclarableSecureKey(k))
    .map((k) => ({ path: k, message: `is not a known setting; known settings are ${FLEET_KEYS.join(", ")}` }));
}

/** A password or token typed straight into structured config is refused, wherever it sits. */
function plainSecrets(input: StackConfigInput): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (value: unknown, root: string, path: PropertyKey[]): void => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, root, [...path, i]));
    else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (looksLikeSecretField(k)) {
          issues.push({
            path: formatPath(root, [...path, k]),
            message: "looks like a secret in plain text; remove it and keep it as a secret in the stack's ESC environment (or with `pulumi config set --secret`)",
          });
        } else walk(v, root, [...path, k]);
      }
    }
  };
  for (const key of FLEET_KEYS) walk(input.values[qualified(key)], key, []);
  return issues;
}

function secureKeyIssues(secure: readonly SecureKey[], input: StackConfigInput): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const s of secure) {
    const present = input.values[s.key] !== undefined && input.values[s.key] !== "";
    if (present && !input.secretKeys.has(s.key)) {
      issues.push({
        path: s.key,
        message: `is set in plain text; remove it (from the ESC environment, or pulumi config rm ${s.key} --stack ${input.stack}) and set it again as a secret: ${setSecretCommand(s.key, input.stack, input.organization)}`,
      });
    } else if (!present && s.required) {
      issues.push({ path: s.key, message: `is missing (${s.why}); set it with: ${setSecretCommand(s.key, input.stack, input.organization)}` });
    }
  }
  return issues;
}

/** One problem in a stack file, named by its path, e.g. `tenants[2].projects[0].subdomain`. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export function formatPath(root: string, segments: readonly PropertyKey[] = []): string {
  let out = root;
  for (const s of segments) {
    out += typeof s === "number" ? `[${s}]` : `.${String(s)}`;
  }
  return out;
}

/** Raised when a stack file is invalid; carries every problem found, never just the first. */
export class ConfigError extends Error {
  constructor(
    readonly stackFile: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(stackFile, issues));
    this.name = "ConfigError";
  }
}

export function formatIssues(stackFile: string, issues: readonly ConfigIssue[]): string {
  const noun = issues.length === 1 ? "problem" : "problems";
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`);
  return [`${stackFile} has ${issues.length} ${noun}; nothing was deployed.`, ...lines].join("\n");
}

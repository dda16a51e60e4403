/** One stack's part of a pull request's plan comment. */
export interface StackPlan {
  readonly stack: string;
  /** The blast radius, as renderDiff writes it: counts, warnings, then the changes. */
  readonly diff: string;
  readonly resources: number;
  readonly tree: string;
}

/** The first line of every plan comment: the workflow finds its own comment by it and updates it. */
export const COMMENT_MARKER = "<!-- supafleet-plan -->";

// GitHub refuses comments over 65,536 characters; stay clear of it.
const LIMIT = 60_000;

/**
 * The pull request comment: what changes comes first, for every stack, with
 * the replace/delete warnings; the full resource trees follow collapsed, and
 * are dropped (pointing at the run's artifact) when they would not fit.
 */
export function renderPlanComment(plans: readonly StackPlan[], artifactHint = "the `offline-render` artifact of this run"): string {
  const head = [COMMENT_MARKER, "## supafleet offline plan", "", ...plans.map((p) => p.diff.trimEnd() + "\n")].join("\n");
  const summary = plans.map((p) => `${p.stack}: ${p.resources} resources`).join(", ");
  const trees = [
    "",
    `<details><summary>Resource trees (${summary})</summary>`,
    "",
    ...plans.flatMap((p) => [`#### ${p.stack}`, "", "```text", p.tree.trimEnd(), "```", ""]),
    "</details>",
    "",
  ].join("\n");
  const footer = `\nEvery file a server would receive, secrets redacted, is in ${artifactHint}.\n`;
  if (head.length + trees.length + footer.length <= LIMIT) return head + trees + footer;
  const note = `\n_The resource trees are too long for a comment (${summary}); they are in ${artifactHint}._\n`;
  if (head.length + note.length <= LIMIT) return head + note;
  return head.slice(0, LIMIT - 200) + "\n```\n\n_The diff is cut here: it is too long for a comment. The whole of it is in the run's log._\n";
}

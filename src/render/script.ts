import { posix } from "node:path";
import { template } from "./templates";

/** What scripts share (die, say, need, project_compose): one file in templates/, of which each script carries what it calls. */
export const PRELUDE = "lib/prelude.sh";

/**
 * One bash word that reads back as exactly `value`: single quotes, in which
 * nothing expands ($, backticks, \, ! and newlines included), and each `'`
 * closed, escaped and reopened. A shell variable cannot hold a NUL byte, so
 * one is refused rather than cut short.
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell value cannot hold a NUL byte");
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A script's settings: shell variable names, each assigned once before the prelude and the body. */
export type ScriptValues = Readonly<Record<string, string | number>>;

const NAME = /^[A-Z][A-Z0-9_]*$/;
// SCRIPT is the renderer's own; the others mean something to bash or to the commands a script runs.
const RESERVED = new Set(["SCRIPT", "PATH", "IFS", "HOME", "PWD", "OLDPWD", "SHELL", "SHELLOPTS", "BASHOPTS", "BASH_ENV", "ENV", "CDPATH", "PS4", "TMPDIR", "LANG", "LC_ALL"]);
// A {{slot}} left over from fillTemplate. Docker's --format Go templates ({{.Id}}, {{end}}, {{else}}) are not slots.
const SLOT = /\{\{\s*(?!(?:end|else)\s*\}\})[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;

/** The comment block a body opens with (what the script does), and the rest of it. */
function splitLeadingComment(text: string): { comment: string; rest: string } {
  const lines = text.split("\n");
  let n = 0;
  while (n < lines.length && lines[n]!.startsWith("#")) n++;
  return { comment: lines.slice(0, n).join("\n"), rest: lines.slice(n).join("\n") };
}

const usedIn = (name: string, text: string): boolean => new RegExp(`\\$\\{?${name}(?![A-Za-z0-9_])`).test(text);

/** The prelude's parts: one function each, with its comment. */
function preludeParts(): { name: string; text: string }[] {
  return splitLeadingComment(template(PRELUDE))
    .rest.trim()
    .split(/\n{2,}/)
    .map((text) => {
      const name = /^([a-z_][a-z0-9_]*)\(\) \{/m.exec(text)?.[1];
      if (name === undefined) throw new Error(`templates/${PRELUDE}: each part must be one function, apart from the next by a blank line`);
      return { name, text };
    });
}

// Whether the text, comment lines left out, names that command. A word in a string counts too: a
// function carried and not called costs nothing, one called and not carried fails the script.
const calls = (name: string, text: string): boolean => new RegExp(`(^|[\\s;&|({])${name}(?=[\\s;&|)]|$)`, "m").test(text.replace(/^\s*#.*$/gm, ""));

/** The prelude's functions the body calls, and those they call in turn, in the prelude's order. */
function preludeFor(body: string): string {
  const parts = preludeParts();
  const used = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of parts) {
      if (!used.has(p.name) && [body, ...parts.filter((q) => used.has(q.name)).map((q) => q.text)].some((t) => calls(p.name, t))) {
        used.add(p.name);
        grew = true;
      }
    }
  }
  return parts
    .filter((p) => used.has(p.name))
    .map((p) => p.text)
    .join("\n\n");
}

/**
 * A whole script from a body and its values: the shebang and the body's own
 * opening comment, `set -euo pipefail`, `SCRIPT` (the name its messages carry)
 * and one quoted assignment per value, the prelude's functions the body calls
 * (die, say, need, project_compose), then the rest of the body. Every value
 * must be used, by the body or those functions ($PROJECT names the project in
 * messages), and nothing is substituted into the body itself.
 */
export function composeScript(source: string, body: string, values: ScriptValues = {}): string {
  if (body.startsWith("#!")) throw new Error(`templates/${source} is a whole script, not a body: render it as it is`);
  const slot = SLOT.exec(body);
  if (slot !== null) throw new Error(`templates/${source} has a template slot ${slot[0]}: a shell body uses its variables`);
  const prelude = preludeFor(body);
  const assignments = Object.entries(values).map(([name, value]) => {
    if (!NAME.test(name) || RESERVED.has(name)) throw new Error(`templates/${source}: ${name} is not a name a script's value may have`);
    if (!usedIn(name, body) && !usedIn(name, prelude)) throw new Error(`templates/${source} never uses $${name}`);
    return `${name}=${shellQuote(String(value))}`;
  });
  const { comment, rest } = splitLeadingComment(body);
  const script = posix.basename(source).replace(/\.sh$/, "");
  return [
    "#!/usr/bin/env bash",
    ...(comment !== "" ? [comment] : []),
    "set -euo pipefail",
    // The name the prelude's messages carry, when the script has any.
    ...(prelude !== "" || usedIn("SCRIPT", body) ? [`SCRIPT=${shellQuote(script)}`] : []),
    ...assignments,
    "",
    ...(prelude !== "" ? [`# --- templates/${PRELUDE}`, prelude, ""] : []),
    `# --- templates/${source}`,
    rest.replace(/^\n+/, ""),
  ].join("\n");
}

/** Renders templates/<relPath>, a script body, with its values (see composeScript). */
export function renderScript(relPath: string, values: ScriptValues = {}): string {
  return composeScript(relPath, template(relPath), values);
}

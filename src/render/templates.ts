import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const TEMPLATES_DIR = resolve(__dirname, "..", "..", "templates");

const cache = new Map<string, string>();

/** Reads a file that servers receive, from templates/; each is read once, however many projects use it. */
export function template(relPath: string): string {
  let text = cache.get(relPath);
  if (text === undefined) {
    text = readFileSync(join(TEMPLATES_DIR, relPath), "utf8");
    cache.set(relPath, text);
  }
  return text;
}

/**
 * Fills `{{name}}` slots of a file that is not a shell script (a systemd unit,
 * sshd's config). Every slot must be given and every value used, so a renamed
 * slot fails loudly instead of shipping a literal `{{…}}` to a server. A shell
 * script takes its values quoted, as variables: renderScript (./script.ts).
 */
export function fillTemplate(relPath: string, values: Readonly<Record<string, string | number>>): string {
  if (relPath.endsWith(".sh")) throw new Error(`template ${relPath} is a shell script: render it with renderScript, which quotes its values`);
  const text = template(relPath);
  const used = new Set<string>();
  const out = text.replace(/\{\{([a-zA-Z0-9_]+)\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`template ${relPath} needs a value for {{${name}}}`);
    used.add(name);
    return String(v);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`template ${relPath} has no slot for ${unused.join(", ")}`);
  return out;
}

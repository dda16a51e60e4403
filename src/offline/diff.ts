import { forcesReplace } from "./replaceOn";
import type { ResourceNode, Snapshot } from "./run";
import { redactInputs } from "./secretEnvelope";
import { displayType } from "./tree";

export type ChangeKind = "create" | "delete" | "update" | "replace";

export interface Change {
  readonly kind: ChangeKind;
  readonly key: string;
  readonly type: string;
  readonly name: string;
  /** Input paths that differ, e.g. `config.ingresses[ops.example.com].service`. */
  readonly paths: string[];
  /** A protected resource this change would delete or replace: `pulumi up` refuses it. */
  readonly protected?: boolean;
}

// Fields that name an element of a list, so a diff matches list items by identity, not position.
const IDENTITY = ["hostname", "name", "path", "description", "slug"] as const;

function identityOf(v: unknown): string | undefined {
  if (v === null || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  // An element with an id of its own (a monitor, a policy reference) is known by it alone.
  if (typeof o.id === "string") return o.id;
  const parts = IDENTITY.filter((k) => typeof o[k] === "string").map((k) => String(o[k]));
  if (parts.length > 0) return parts.join("|");
  // A rule with no name of its own, such as the tunnel's catch-all, is known by where it goes.
  return typeof o.service === "string" ? o.service : undefined;
}

function jsonDocument(text: string): object | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as object;
  } catch {
    return undefined;
  }
}

/** Paths at which two input values differ. */
export function diffValues(a: unknown, b: unknown, path = ""): string[] {
  // Compared leaf by leaf: serialising every subtree at every level would redo the same work once per depth.
  if (a === b) return [];
  // A JSON document passed as a string (a command's stdin) is compared as the structure it is.
  if (typeof a === "string" && typeof b === "string") {
    const ja = jsonDocument(a);
    const jb = jsonDocument(b);
    if (ja !== undefined && jb !== undefined) return diffValues(ja, jb, path);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const ids = (xs: unknown[]): (string | undefined)[] => xs.map(identityOf);
    const ia = ids(a);
    const ib = ids(b);
    const keyed = ia.every((x) => x !== undefined) && ib.every((x) => x !== undefined) && new Set(ia).size === a.length && new Set(ib).size === b.length;
    if (keyed) {
      const all = [...new Set([...ia, ...ib])] as string[];
      return all.flatMap((id) => diffValues(a[ia.indexOf(id)], b[ib.indexOf(id)], `${path}[${id}]`));
    }
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => diffValues(a[i], b[i], `${path}[${i}]`)).flat();
  }
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffValues(a[k], b[k], path === "" ? k : `${path}.${k}`));
  }
  return [path === "" ? "(value)" : path];
}

const comparable = (r: ResourceNode): unknown => redactInputs(r.inputs, "hash");

export function diffSnapshots(base: Snapshot, head: Snapshot): Change[] {
  const before = new Map(base.resources.map((r) => [r.key, r]));
  const after = new Map(head.resources.map((r) => [r.key, r]));
  // A renamed resource with an alias to its old name is the same resource to Pulumi, not a delete and a create.
  const renamed = new Map<string, string>();
  for (const r of head.resources) {
    const from = r.aliases?.find((a) => before.has(a) && !after.has(a));
    if (!before.has(r.key) && from !== undefined) renamed.set(r.key, from);
  }
  const matched = new Set(renamed.values());
  const changes: Change[] = [];
  for (const [key, r] of after) {
    const old = before.get(renamed.get(key) ?? key);
    if (old === undefined) {
      changes.push({ kind: "create", key, type: r.type, name: r.name, paths: [] });
      continue;
    }
    const ignore = new Set(r.ignoreChanges ?? []);
    const paths = diffValues(comparable(old), comparable(r)).filter((p) => !ignore.has(p.split(/[.[]/)[0]!));
    if (paths.length > 0) {
      const kind = forcesReplace(r.type, paths) ? "replace" : "update";
      changes.push({ kind, key, type: r.type, name: r.name, paths, ...(kind === "replace" && old.protect ? { protected: true } : {}) });
    }
  }
  for (const [key, r] of before) {
    if (!after.has(key) && !matched.has(key)) changes.push({ kind: "delete", key, type: r.type, name: r.name, paths: [], ...(r.protect ? { protected: true } : {}) });
  }
  const order: Record<ChangeKind, number> = { replace: 0, delete: 1, update: 2, create: 3 };
  return changes.sort((x, y) => order[x.kind] - order[y.kind] || x.key.localeCompare(y.key));
}

const SIGN: Record<ChangeKind, string> = { create: "+", delete: "-", update: "~", replace: "±" };

/** A summary a reviewer can read in a pull request comment. */
export function renderDiff(changes: readonly Change[], title: string): string {
  const count = (k: ChangeKind): number => changes.filter((c) => c.kind === k).length;
  const lines = [
    `### ${title}`,
    "",
    `**${count("create")} to create · ${count("update")} to update · ${count("replace")} to replace · ${count("delete")} to delete**`,
    "",
  ];
  if (changes.length === 0) return [...lines, "No resource changes."].join("\n") + "\n";
  const refused = changes.filter((c) => c.protected);
  if (refused.length > 0) {
    lines.push(
      `> ⛔ This change would delete or replace ${refused.length} protected resource(s): \`pulumi up\` will refuse it (${refused.map((c) => c.name).join(", ")}).`,
      "> A project's backup credentials are protected: to drop a project and keep its backups, add it to `backups.retired`; to purge them, follow docs/backups.md.",
      "",
    );
  }
  if (count("replace") + count("delete") > 0) {
    lines.push("> ⚠️ This change replaces or deletes existing resources. Check that this is intended before merging.", "");
  }
  lines.push("```diff");
  for (const c of changes) {
    lines.push(`${SIGN[c.kind]} ${c.kind.padEnd(7)} ${displayType(c.type)}  ${c.name}${c.protected ? "  (protected: refused)" : ""}`);
    for (const p of c.paths.slice(0, 12)) lines.push(`${SIGN[c.kind]}           ${p}`);
    if (c.paths.length > 12) lines.push(`${SIGN[c.kind]}           … and ${c.paths.length - 12} more`);
  }
  lines.push("```");
  return lines.join("\n") + "\n";
}

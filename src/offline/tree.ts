import type { ResourceNode } from "./run";

/** The resource tree as text: each component with its children, indented. */
export function renderTree(resources: readonly ResourceNode[]): string {
  const children = new Map<string | undefined, ResourceNode[]>();
  for (const r of resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const lines: string[] = [];
  const walk = (parent: string | undefined, prefix: string): void => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      lines.push(`${prefix}${last ? "└─ " : "├─ "}${r.name}  (${displayType(r.type)})`);
      walk(r.key, prefix + (last ? "   " : "│  "));
    });
  };
  walk(undefined, "");
  return lines.join("\n") + "\n";
}

/**
 * A type as `pulumi preview` prints it: the module's file part dropped
 * (`hcloud:index/server:Server` → `hcloud:index:Server`); `command:remote:Command`
 * and component tokens are already in that form. The tree, the counts and the
 * diff all use it, so one type reads the same everywhere.
 */
export function displayType(type: string): string {
  const [pkg, mod, cls] = type.split(":");
  if (cls === undefined) return type;
  return `${pkg}:${mod!.split("/")[0]}:${cls}`;
}

export function countByType(resources: readonly ResourceNode[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(displayType(r.type), (counts.get(displayType(r.type)) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0].localeCompare(b[0]));
}

export function renderCounts(resources: readonly ResourceNode[]): string {
  const rows = countByType(resources);
  const width = Math.max(...rows.map(([t]) => t.length));
  const total = resources.length;
  return [...rows.map(([t, n]) => `${t.padEnd(width)}  ${String(n).padStart(4)}`), `${"total".padEnd(width)}  ${String(total).padStart(4)}`].join("\n") + "\n";
}

import { stringify } from "yaml";

/**
 * YAML for files people read and diff: no line folding, and no anchors or
 * aliases even where one object is reused, so every value is spelled out.
 */
export function toYaml(value: unknown): string {
  // YAML 1.1 style quoting: cloud-init (PyYAML) reads 1.1, where an unquoted
  // off, yes or no is a boolean.
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" });
}

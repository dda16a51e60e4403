/** Pulumi hands structured config over as JSON text; plain strings stay strings. */
export function parseConfigValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Checks tunnel ingress rules the way cloudflared does when it loads them
 * (cloudflared's ingress.validate), so a bad rule set fails the preview
 * instead of the connector: every problem, each with its rule number.
 */
export interface IngressRuleInput {
  readonly hostname?: string;
  readonly path?: string;
  readonly service: string;
}

const URL_SCHEMES = new Set(["http", "https", "tcp", "ssh", "rdp", "smb", "ws", "wss"]);
const NAMED_SERVICES = new Set(["hello_world", "hello-world", "helloworld", "bastion"]);
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

// Go's regexp (RE2) has no lookaround and no backreferences; JavaScript has both.
const RE2_UNSUPPORTED: readonly [RegExp, string][] = [
  [/\(\?<?[=!]/, "lookaround assertions are not supported by Go's regexp"],
  [/\\[1-9]/, "backreferences are not supported by Go's regexp"],
];

export function validateIngress(rules: readonly IngressRuleInput[]): string[] {
  if (rules.length === 0) return ["there are no ingress rules; cloudflared needs at least the catch-all"];
  const errors: string[] = [];
  rules.forEach((r, i) => {
    const at = `rule #${i + 1}${r.hostname ? ` (${r.hostname})` : ""}`;
    errors.push(...serviceErrors(r.service).map((e) => `${at}: ${e}`));
    errors.push(...hostnameErrors(r.hostname).map((e) => `${at}: ${e}`));
    if (r.path !== undefined && r.path !== "") {
      const e = pathError(r.path);
      if (e !== undefined) errors.push(`${at}: has an invalid path regex: ${e}`);
    }
    const catchAll = (r.hostname === undefined || r.hostname === "" || r.hostname === "*") && (r.path === undefined || r.path === "");
    const last = i === rules.length - 1;
    if (last && !catchAll) errors.push(`${at}: the last ingress rule must match all URLs (no hostname and no path)`);
    if (!last && catchAll) errors.push(`${at}: matches every hostname, so the rules after it would never be used`);
  });
  return errors;
}

function serviceErrors(service: string): string[] {
  if (service.startsWith("unix:") || service.startsWith("unix+tls:") || NAMED_SERVICES.has(service)) return [];
  if (service.startsWith("http_status:")) {
    const code = service.slice("http_status:".length);
    return /^[1-5]\d\d$/.test(code) ? [] : [`"${service}" is not an HTTP status (http_status:100 to http_status:599)`];
  }
  let url: URL;
  try {
    url = new URL(service);
  } catch {
    return [`"${service}" is not a valid URL or http_status:NNN`];
  }
  const scheme = url.protocol.replace(/:$/, "");
  const errors: string[] = [];
  if (!URL_SCHEMES.has(scheme)) errors.push(`"${service}" has scheme "${scheme}", which cloudflared does not proxy`);
  if (url.hostname === "") errors.push(`"${service}" has no hostname`);
  // cloudflared keeps the request's own path; a path on the origin URL is an error.
  if (/^[a-z+]+:\/\/[^/]+\/./i.test(service) || service.endsWith("/")) {
    errors.push(`"${service}" has a path; ingress rules cannot proxy to a different path on the origin`);
  }
  return errors;
}

function hostnameErrors(hostname: string | undefined): string[] {
  if (hostname === undefined || hostname === "" || hostname === "*") return [];
  if (/:\d+$/.test(hostname)) return [`hostname "${hostname}" cannot contain a port`];
  if (hostname.lastIndexOf("*") > 0 || (hostname.startsWith("*") && !hostname.startsWith("*."))) {
    return [`hostname "${hostname}" may only use a wildcard as its whole first label, as in *.example.com`];
  }
  const name = hostname.startsWith("*.") ? hostname.slice(2) : hostname;
  const labels = name.split(".");
  if (name.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    return [`hostname "${hostname}" is not a valid DNS name`];
  }
  return [];
}

function pathError(path: string): string | undefined {
  for (const [pattern, why] of RE2_UNSUPPORTED) if (pattern.test(path)) return why;
  try {
    new RegExp(path);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

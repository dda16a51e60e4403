import { template } from "../render/templates";

/** What the n8n workflows are rendered with. Secrets are not settings: they live in credentials. */
export interface AutomationSettings {
  /** The ops Supabase project's API URL (PostgREST RPC and GoTrue); without it only the backup report runs. */
  opsUrl?: string;
  /** Where billing entries are POSTed; without it there is no billing workflow. */
  gatewayUrl?: string;
  /** Uptime Kuma on the master, e.g. http://127.0.0.1:3001. */
  kumaUrl: string;
  /** The slug of the status page that lists the nightly backup monitors. */
  backupStatusPage: string;
  /** When the backup report is sent, as a cron expression (n8n's, in its timezone). */
  reportCron: string;
  /** How often the outbox is polled. */
  pollSeconds: number;
  ntfyUrl?: string;
  /** Whether the ntfy topic is protected (a token in secret ntfyToken); an open topic gets no Authorization header. */
  ntfyAuth?: boolean;
  telegramChatId?: string;
  teamName: string;
  /** Tactical RMM's mesh address: the only caller the TRMM webhook accepts (through the gate); without it, no TRMM workflow. */
  trmmAddress?: string;
  /** The registry project (automations.registryProject): its API URL and what the welcome is sent with. */
  registry?: RegistrySettings;
}

/** Sign-ups and expired trials come from this project's outbox; the welcome goes out through its SMTP server. */
export interface RegistrySettings {
  url: string;
  /** Where the welcome's sign-in link points: the project's Auth site URL. */
  siteUrl: string;
  /** The welcome's sender name and address, as the project's own Auth mails use them. */
  senderName: string;
  senderEmail: string;
  smtp: { host: string; port: number; user: string };
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/**
 * The credentials the workflows use, by stable id. Their fields hold only
 * `${secret:NAME}` references (and settings); the reconcile on the master
 * fills the secrets in from its root-only file, and n8n encrypts them.
 */
export const N8N_CREDENTIALS = {
  opsService: { id: "sfCredOpsServic1", name: "supafleet ops service key", type: "supabaseApi", data: { host: "${setting:opsUrl}", serviceRole: "${secret:opsServiceKey}" } },
  registryService: { id: "sfCredRegistry01", name: "supafleet registry service key", type: "supabaseApi", data: { host: "${setting:registryUrl}", serviceRole: "${secret:registryServiceKey}" } },
  // Port 465 speaks TLS from the start; any other port upgrades with STARTTLS.
  registrySmtp: { id: "sfCredRegSmtp001", name: "supafleet registry SMTP", type: "smtp", data: { host: "${setting:smtpHost}", port: "${setting:smtpPort}", user: "${setting:smtpUser}", password: "${secret:registrySmtpPassword}", secure: "${setting:smtpSecure}" } },
  // A credential type of our own (templates/n8n/SupafleetHmacApi.credentials.js): no stock node can sign a body with a credential.
  billingHmac: { id: "sfCredBillHmac01", name: "supafleet billing signature", type: "supafleetHmacApi", data: { header: "X-Supafleet-Signature", secret: "${secret:billingHmacSecret}" } },
  ntfy: { id: "sfCredNtfyToken1", name: "supafleet ntfy token", type: "httpBearerAuth", data: { token: "${secret:ntfyToken}" } },
  telegram: { id: "sfCredTelegram01", name: "supafleet Telegram bot", type: "telegramApi", data: { accessToken: "${secret:telegramBotToken}" } },
} as const;

/** Files n8n loads from its custom extensions folder (~/.n8n/custom). */
const EXTENSIONS = ["SupafleetHmacApi.credentials.js"];

const WORKFLOWS = ["trmm-ingest", "client-onboarding", "billing", "backup-report", "tenant-signup", "trial-expiry"] as const;
type WorkflowName = (typeof WORKFLOWS)[number];
/** What each workflow needs besides what every one has; without it the workflow is left out. */
const NEEDS: Record<WorkflowName, readonly string[]> = {
  "trmm-ingest": ["opsUrl", "trmmAddress"],
  "client-onboarding": ["opsUrl"],
  billing: ["opsUrl", "gatewayUrl"],
  "backup-report": [],
  "tenant-signup": ["registryUrl"],
  "trial-expiry": ["registryUrl"],
};
const OPTIONAL: ReadonlySet<string> = new Set(["gatewayUrl", "ntfyUrl", "telegramChatId"]);
const PLACEHOLDER = /\$\{setting:([A-Za-z]+)\}/g;

export interface N8nDesired {
  workflows: object[];
  credentials: object[];
  /** Extension files for n8n's custom folder, by file name. */
  extensions: { name: string; text: string }[];
}

/** The workflows and credentials n8n should have, with every setting rendered in and no secret. */
export function n8nDesired(settings: AutomationSettings): N8nDesired {
  const values = checkSettings(settings);
  const workflows = WORKFLOWS.filter((w) => NEEDS[w].every((k) => values[k] !== undefined)).map((w) => renderWorkflow(w, values, settings.ntfyAuth !== false));
  const used = new Set(workflows.flatMap((w) => w.nodes.flatMap((n) => Object.values(n.credentials ?? {}).map((c) => c.id))));
  const known = Object.values(N8N_CREDENTIALS);
  for (const id of used) if (!known.some((c) => c.id === id)) throw new Error(`an n8n workflow uses credential ${id}, which N8N_CREDENTIALS does not define`);
  const credentials = known.filter((c) => used.has(c.id)).map((c) => fill(c as unknown as Json, values, `credential ${c.id}`) as object);
  const extensions = EXTENSIONS.map((name) => ({ name, text: template(`n8n/${name}`) }));
  return { workflows, credentials, extensions };
}

type Values = Record<string, string | number | boolean | undefined>;

function checkSettings(s: AutomationSettings): Values {
  const url = (key: string, v: string | undefined): string | undefined => {
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new Error(`automation setting ${key} is not a URL: ${JSON.stringify(v)}`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`automation setting ${key} must be an http(s) URL, not ${u.protocol}`);
    return v.replace(/\/+$/, "");
  };
  if (!/^[a-z0-9][a-z0-9-]*$/.test(s.backupStatusPage)) throw new Error(`automation setting backupStatusPage must be a status page slug, not ${JSON.stringify(s.backupStatusPage)}`);
  if (!Number.isInteger(s.pollSeconds) || s.pollSeconds < 1 || s.pollSeconds > 3600) throw new Error(`automation setting pollSeconds must be a whole number of seconds from 1 to 3600, not ${s.pollSeconds}`);
  if (s.reportCron.trim().split(/\s+/).length < 5) throw new Error(`automation setting reportCron must be a cron expression, not ${JSON.stringify(s.reportCron)}`);
  const r = s.registry;
  if (s.trmmAddress !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(s.trmmAddress)) throw new Error(`automation setting trmmAddress must be an IPv4 address, not ${JSON.stringify(s.trmmAddress)}`);
  if (r !== undefined && !/^[^\s<>"@]+@[^\s<>"@]+$/.test(r.senderEmail)) throw new Error(`automation setting registry.senderEmail must be an e-mail address, not ${JSON.stringify(r.senderEmail)}`);
  if (r !== undefined && (!Number.isInteger(r.smtp.port) || r.smtp.port < 1 || r.smtp.port > 65535)) throw new Error(`automation setting registry.smtp.port must be a port number, not ${r.smtp.port}`);
  const inExpressions = { teamName: s.teamName, telegramChatId: s.telegramChatId, reportCron: s.reportCron, "registry.senderName": r?.senderName, "registry.siteUrl": r?.siteUrl };
  for (const [k, v] of Object.entries(inExpressions)) {
    // Settings land in n8n expressions too, where `{{` would start code.
    if (v !== undefined && /\{\{|\}\}|[\r\n]/.test(v)) throw new Error(`automation setting ${k} must not contain {{, }} or line breaks`);
  }
  return {
    opsUrl: url("opsUrl", s.opsUrl),
    gatewayUrl: url("gatewayUrl", s.gatewayUrl),
    kumaUrl: url("kumaUrl", s.kumaUrl),
    ntfyUrl: url("ntfyUrl", s.ntfyUrl),
    backupStatusPage: s.backupStatusPage,
    reportCron: s.reportCron.trim(),
    pollSeconds: s.pollSeconds,
    telegramChatId: s.telegramChatId,
    teamName: s.teamName,
    trmmAddress: s.trmmAddress,
    registryUrl: url("registry.url", r?.url),
    siteUrl: url("registry.siteUrl", r?.siteUrl),
    // A display name in quotes: a comma or angle bracket in it must not split the address.
    welcomeFrom: r !== undefined ? `"${r.senderName.replace(/["\\]/g, "")}" <${r.senderEmail}>` : undefined,
    welcomeSender: r?.senderName,
    smtpHost: r?.smtp.host,
    smtpPort: r?.smtp.port,
    smtpUser: r?.smtp.user,
    smtpSecure: r !== undefined ? r.smtp.port === 465 : undefined,
  };
}

interface WorkflowNode {
  name: string;
  parameters: Json;
  credentials?: Record<string, { id: string; name: string }>;
  [k: string]: unknown;
}
interface Workflow {
  id: string;
  name: string;
  nodes: WorkflowNode[];
  connections: Record<string, { main: { node: string; type: string; index: number }[][] }>;
  [k: string]: unknown;
}

function renderWorkflow(name: WorkflowName, values: Values, ntfyAuth: boolean): Workflow {
  const wf = JSON.parse(template(`n8n/${name}.json`)) as Workflow;
  if (!ntfyAuth) for (const node of wf.nodes) withoutCredential(node, N8N_CREDENTIALS.ntfy.id);
  // A notify node whose target is not configured goes, and what fed it feeds what it fed.
  for (const node of [...wf.nodes]) {
    const unset = placeholders(node).filter((k) => OPTIONAL.has(k) && values[k] === undefined);
    if (unset.length > 0) dropNode(wf, node.name);
  }
  return fill(wf as unknown as Json, values, `workflow ${name}`) as unknown as Workflow;
}

/** An open ntfy topic: the node sends no Authorization header, and needs no credential. */
function withoutCredential(node: WorkflowNode, id: string): void {
  const entry = Object.entries(node.credentials ?? {}).find(([, c]) => c.id === id);
  if (entry === undefined) return;
  delete node.credentials![entry[0]];
  const p = node.parameters as Record<string, Json>;
  p.authentication = "none";
  delete p.genericAuthType;
}

function placeholders(v: unknown): string[] {
  if (typeof v === "string") return [...v.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  if (Array.isArray(v)) return v.flatMap(placeholders);
  if (v !== null && typeof v === "object") return Object.values(v).flatMap(placeholders);
  return [];
}

function dropNode(wf: Workflow, name: string): void {
  const next = wf.connections[name]?.main[0] ?? [];
  delete wf.connections[name];
  wf.nodes = wf.nodes.filter((n) => n.name !== name);
  for (const c of Object.values(wf.connections)) {
    c.main = c.main.map((out) => out.flatMap((t) => (t.node === name ? next : [t])));
  }
}

/**
 * Substitutes `${setting:x}` in every string of parsed JSON. A placeholder
 * that is the whole string takes the setting's own type (a number stays a
 * number); one inside a longer string is interpolated. Code nodes get none:
 * a setting pasted into JavaScript would need quoting for it.
 */
function fill(v: Json, values: Values, where: string, key = ""): Json {
  if (typeof v === "string") {
    if (!v.includes("${setting:")) return v;
    if (key === "jsCode") throw new Error(`${where}: a Code node must not contain \${setting:…}; pass settings through node parameters`);
    const get = (k: string): string | number | boolean => {
      if (!(k in values)) throw new Error(`${where}: unknown placeholder \${setting:${k}}`);
      const x = values[k];
      if (x === undefined) throw new Error(`${where}: \${setting:${k}} is used but not configured`);
      return x;
    };
    const whole = /^\$\{setting:([A-Za-z]+)\}$/.exec(v);
    if (whole) return get(whole[1]!);
    const out = v.replace(PLACEHOLDER, (_, k: string) => String(get(k)));
    if (out.includes("${setting:")) throw new Error(`${where}: malformed placeholder in ${JSON.stringify(v)}`);
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => fill(x, values, where));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, values, where, k)]));
  return v;
}

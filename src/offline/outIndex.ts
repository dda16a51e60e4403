/**
 * What each file in out/<env>/ is. Every path the render writes must match
 * exactly one entry (tests/unit/plan-cli.test.ts checks the whole render), so
 * a new kind of file cannot appear in out/ without saying what it is.
 */
const KINDS: readonly { readonly pattern: RegExp; readonly about: (m: RegExpMatchArray) => string }[] = [
  { pattern: /^INDEX\.md$/, about: () => "this index" },
  { pattern: /^tree\.txt$/, about: () => "the resource tree: every component and its children, as `pulumi preview` would register them" },
  { pattern: /^counts\.txt$/, about: () => "how many resources of each type" },
  { pattern: /^resources\.json$/, about: () => "every resource with its parent and the inputs its provider would receive (secrets redacted)" },
  { pattern: /^outputs\.json$/, about: () => "the stack outputs (secrets redacted)" },
  { pattern: /^nodes\/([^/]+)\/cloud-init\.yaml$/, about: (m) => `${m[1]}: boot data (cloud-init user_data), fixed for the server's life` },
  { pattern: /^nodes\/([^/]+)\/nftables\.nft$/, about: (m) => `${m[1]}: host firewall (nftables), drop by default` },
  { pattern: /^nodes\/([^/]+)\/wireguard\/wg0\.conf$/, about: (m) => `${m[1]}: WireGuard interface (wg0)` },
  { pattern: /^nodes\/([^/]+)\/wireguard\/peers\.conf$/, about: (m) => `${m[1]}: the hub's peer set, applied in place by hub-sync` },
  { pattern: /^operators\/([^/]+)\.conf$/, about: (m) => `operator ${m[1]}: wg-quick client config for the mesh` },
  { pattern: /^edge\/ingress\.yaml$/, about: () => "Cloudflare Tunnel ingress rules, in cloudflared's order" },
  { pattern: /^projects\/([^/]+)\/compose\.yaml$/, about: (m) => `project ${m[1]}: Docker Compose file (no secrets: every one is a \${VAR} from .env)` },
  { pattern: /^projects\/([^/]+)\/secrets\/\.env$/, about: (m) => `project ${m[1]}: the Compose environment (secrets redacted)` },
  { pattern: /^projects\/([^/]+)\/secrets\/kong\.yml$/, about: (m) => `project ${m[1]}: API gateway (Kong) declarative config (keys redacted)` },
  { pattern: /^projects\/([^/]+)\/auth\.d\/([^/]+\.env)$/, about: (m) => `project ${m[1]}: its Auth (GoTrue) settings, reloaded without a restart (OAuth and SMS secrets redacted)` },
  { pattern: /^projects\/([^/]+)\/functions\.json$/, about: (m) => `project ${m[1]}: its edge functions: each one's verify_jwt, and the hash of every file deployed` },
  { pattern: /^projects\/([^/]+)\/buckets\.sql$/, about: (m) => `project ${m[1]}: its Storage buckets as declared, applied with what supafleet already manages` },
  { pattern: /^projects\/([^/]+)\/registry-seed\.sql$/, about: (m) => `project ${m[1]}: its registry's plans and base tenants, seeded by slug` },
  { pattern: /^projects\/([^/]+)\/migrations\.sql$/, about: (m) => `project ${m[1]}: schema, grants and row-level security migrations` },
  { pattern: /^master\/studio\/([^/]+)\/compose\.yaml$/, about: (m) => `project ${m[1]}: its Studio on the master (loopback only, started on request; no secrets)` },
  { pattern: /^master\/studio\/([^/]+)\/\.env$/, about: (m) => `project ${m[1]}: its Studio's environment on the master (secrets redacted)` },
  { pattern: /^monitoring\/monitors\.txt$/, about: () => "Uptime Kuma: every monitor, by group, with what it checks; notifications and status pages" },
  { pattern: /^monitoring\/kuma-desired\.json$/, about: () => "Uptime Kuma: the state the reconcile makes Kuma match (secrets only as ${secret:…} references)" },
  { pattern: /^monitoring\/kuma-compose\.yaml$/, about: () => "Uptime Kuma: its Compose file on the master (pinned image, hub address only)" },
  { pattern: /^automation\/n8n-compose\.yaml$/, about: () => "n8n: its Compose file on the master (pinned images, loopback only; the webhook gate when TRMM is declared)" },
  { pattern: /^automation\/webhook-gate\.json$/, about: () => "n8n's webhook gate (Caddy JSON): which mesh address may POST to which webhook path, with which secret header (redacted here); root-only on the master" },
  { pattern: /^automation\/n8n-desired\.json$/, about: () => "n8n: the workflows and credentials the reconcile imports (secrets only as ${secret:…} references)" },
  { pattern: /^nodes\/([^/]+)\/prepare\.sh$/, about: (m) => `${m[1]}: prepares Tactical RMM's host for its installer (the pinned release)` },
  { pattern: /^backups\/([^/]+)\.env$/, about: (m) => `backup job ${m[1]}: restic repository, retention and alert settings (secrets redacted)` },
];

/** The description of one rendered path; throws for a path nothing describes. */
export function describeOutFile(path: string): string {
  const hits = KINDS.flatMap((k) => {
    const m = k.pattern.exec(path);
    return m ? [k.about(m)] : [];
  });
  if (hits.length !== 1) throw new Error(`out/ index: ${hits.length === 0 ? "no description" : "more than one description"} for ${path}`);
  return hits[0]!;
}

/** INDEX.md for one environment's render: a line per file, in path order. */
export function renderOutIndex(stack: string, paths: readonly string[]): string {
  const rows = [...paths].sort().map((p) => `| \`${p}\` | ${describeOutFile(p)} |`);
  return [
    `# out/${stack}/: the offline render of Pulumi.${stack}.yaml`,
    "",
    `${paths.length} files. Made by \`npm run plan\` under the Pulumi mock runtime; every secret is a marker such as \`<redacted:…>\`.`,
    "",
    "| file | what it is |",
    "|---|---|",
    ...rows,
    "",
  ].join("\n");
}

import type { AuditEntry } from "./audit";
import type { BackupView, Outcome } from "./backupStatus";
import { formatAge, formatSize } from "./format";
import { html, trusted, type Html } from "./html";
import { PAGE_SCRIPT } from "./pageScript";
import type { FleetView, Health, ProjectView, WorkerView } from "./view";

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .meta { color: #d0d7de; }
main, #output, #stale { padding: 8px 20px; }
h2 { font-size: 16px; margin: 20px 0 6px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d0d7de; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #d8dee4; vertical-align: top; }
th { background: #eaeef2; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.healthy { background: #dafbe1; color: #116329; } .unhealthy { background: #ffebe9; color: #a40e26; }
.silent { background: #fff8c5; color: #7d4e00; } .waiting { background: #eaeef2; color: #57606a; }
.problems { margin: 4px 0 0; padding-left: 18px; color: #a40e26; }
.muted { color: #57606a; } .warn { color: #a40e26; }
.actions { white-space: nowrap; } .actions button, .actions select { margin: 2px 2px 2px 0; }
button { cursor: pointer; border: 1px solid #d0d7de; background: #f6f8fa; border-radius: 6px; padding: 2px 8px; }
button:hover { background: #eaeef2; }
#output pre { background: #0d1117; color: #e6edf3; padding: 10px; max-height: 420px; overflow: auto; }
#output[data-state="succeeded"] h2 { color: #116329; } #output[data-state="failed"] h2 { color: #a40e26; }
a { color: #0969da; }
`;

function badge(h: Health): Html {
  return html`<span class="badge ${h.state}">${h.state}</span>${h.problems.length > 0 ? html`<ul class="problems">${h.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ""}`;
}

/** Only http(s) links are made links: a value from anywhere else is shown as text. */
function link(label: string, url: string | undefined): Html {
  if (url === undefined || !/^https?:\/\//.test(url)) return html``;
  return html`<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a> `;
}

function workerRow(w: WorkerView): Html {
  return html`<tr data-worker="${w.name}">
  <td>${w.name}${w.dedicated ? html` <span class="muted">(dedicated)</span>` : ""}</td><td>${w.address}</td>
  <td class="health">${badge(w.health)}</td>
  <td>${w.lastReportAt !== undefined ? w.lastReportAt.replace("T", " ").slice(0, 19) + " UTC" : html`<span class="muted">none</span>`}</td>
  <td>${w.diskUsedPct !== undefined ? `${w.diskUsedPct} % used` : ""}</td><td>${w.memoryAvailablePct !== undefined ? `${w.memoryAvailablePct} % free` : ""}</td>
  <td>${w.agent.reachable ? "answers" : html`<span class="warn">${w.agent.error ?? "unreachable"}</span>`}</td></tr>`;
}

const day = (at: string): string => at.replace("T", " ").slice(0, 16);

function outcomeLine(what: string, o: Outcome | undefined, extra = ""): Html {
  if (o === undefined) return html`<br><span class="muted">no ${what} yet</span>`;
  return html`<br>${what} ${day(o.at)} ${o.ok ? "ok" : html`<span class="warn">failed: ${o.message}</span>`}${extra}`;
}

function backupCell(b: BackupView): Html {
  if (!b.enabled) return html`<span class="muted">not backed up</span>`;
  if (b.unknown !== undefined) return html`<span class="muted">${b.unknown}</span>`;
  const s = b.lastSnapshot;
  const snap = s !== undefined ? html`last snapshot <span class="age">${formatAge(s.ageSeconds)}</span> ago${s.sizeBytes !== undefined ? `, ${formatSize(s.sizeBytes)}` : ""}${s.labels.length > 0 ? ` (${s.labels.join(", ")})` : ""}` : html`<span class="warn">no snapshot yet</span>`;
  const d = b.lastDrill;
  const figures = d === undefined ? "" : `${d.rpoSeconds !== undefined ? `, RPO ${formatAge(d.rpoSeconds)}` : ""}${d.rtoSeconds !== undefined ? `, RTO ${formatAge(d.rtoSeconds)}` : ""}`;
  const wal = b.pitr
    ? html`<br>WAL archive ${b.walArchiveAgeSeconds !== undefined ? `${formatAge(b.walArchiveAgeSeconds)} old` : html`<span class="warn">unknown</span>`}${(b.walProblems ?? []).map((p) => html`<br><span class="warn">${p}</span>`)}`
    : "";
  return html`${snap}${outcomeLine("nightly run", b.lastRun)}${outcomeLine("drill", d, figures)}${b.copy !== undefined ? outcomeLine("second copy", b.copy) : ""}${wal}`;
}

/** The project's monitors, each linked to its page in Kuma, with its last state. */
function monitorLinks(p: ProjectView, dashboardUrl: string): Html {
  if (p.monitors.length === 0) return html``;
  const item = (m: ProjectView["monitors"][number]) =>
    html`<li>${/^\d+$/.test(m.id) ? link(m.name, `${dashboardUrl}/dashboard/${m.id}`) : html`${m.name} `}<span class="muted">${m.status}</span></li>`;
  return html`<details><summary>Kuma monitors</summary><ul class="monitors">${p.monitors.map(item)}</ul></details>`;
}

function projectRow(p: ProjectView, tenantStatusPage: string | undefined, dashboardUrl: string): Html {
  const jobs = p.backups.enabled ? html`<button data-action="backup-now" data-project="${p.name}">Backup now</button><button data-action="drill-now" data-project="${p.name}">Drill now</button>` : "";
  return html`<tr data-project="${p.name}">
  <td><strong>${p.name}</strong></td><td>${p.isolation}</td><td>${p.worker}</td><td>${p.release}</td>
  <td class="health">${badge(p.health)}</td>
  <td class="backups">${backupCell(p.backups)}</td>
  <td>${link("Studio", p.links.studio)}${link("API", p.links.api)}${link("Status page", p.links.statusPage ?? tenantStatusPage)}${monitorLinks(p, dashboardUrl)}</td>
  <td class="actions"><select data-service-for="${p.name}" aria-label="service of ${p.name}"><option value="">whole project</option>${p.services.map((s) => html`<option value="${s}">${s}</option>`)}</select><br>
  <button data-action="restart" data-project="${p.name}">Restart</button><button data-action="logs" data-project="${p.name}">Logs</button>${jobs}</td></tr>`;
}

function auditRow(a: AuditEntry): Html {
  const what = a.phase === "requested" ? "asked" : (a.outcome ?? "");
  return html`<tr><td>${a.at.replace("T", " ").slice(0, 19)}</td><td>${a.identity}</td><td>${a.action}</td><td>${a.project}${a.service !== undefined ? ` / ${a.service}` : ""}</td><td>${what}${a.detail !== undefined ? html` <span class="muted">${a.detail}</span>` : ""}</td></tr>`;
}

/** The whole console page: the fleet, what can be done to it, and what was done. */
export function renderPage(view: FleetView, audit: readonly AuditEntry[], identity: string, scriptNonce: string): string {
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>supafleet console · ${view.env}</title><style>${trusted(STYLE)}</style></head>
<body data-refresh-seconds="${view.reportIntervalSeconds}">
<header><h1>supafleet · ${view.env}</h1><span class="meta">${view.domain} · infra release ${view.infraRelease}</span><span class="meta">signed in as ${identity}</span></header>
<p id="stale" class="warn" hidden></p>
<main id="fleet">
<p class="muted">As of ${view.generatedAt.replace("T", " ").slice(0, 19)} UTC. ${view.kuma.reachable ? "Uptime Kuma answers." : html`<span class="warn">${view.kuma.error ?? "Uptime Kuma is unreachable"}</span>`}</p>
<h2>Workers</h2>
<table><thead><tr><th>Worker</th><th>Address</th><th>Health</th><th>Last report</th><th>Disk</th><th>Memory</th><th>Agent</th></tr></thead>
<tbody>${view.workers.map(workerRow)}</tbody></table>
${view.tenants.map(
  (t) => html`<h2 data-tenant="${t.slug}">Tenant ${t.name} <span class="muted">(${t.slug})</span> ${link("status page", t.statusPage)}</h2>
${t.pooledIn !== undefined ? html`<p class="muted">Pooled: its rows live in project ${t.pooledIn}, kept apart by row-level security.</p>` : ""}
${t.projects.length === 0 ? "" : html`<table><thead><tr><th>Project</th><th>Isolation</th><th>Worker</th><th>Release</th><th>Health</th><th>Backups</th><th>Links</th><th>Actions</th></tr></thead>
<tbody>${t.projects.map((p) => projectRow(p, t.statusPage, view.kuma.dashboardUrl))}</tbody></table>`}`,
)}
<h2>Audit log</h2>
${audit.length === 0 ? html`<p class="muted">No action yet.</p>` : html`<table><thead><tr><th>Time (UTC)</th><th>Who</th><th>Action</th><th>Project</th><th>Outcome</th></tr></thead><tbody>${audit.map(auditRow)}</tbody></table>`}
</main>
<section id="output" hidden><h2 id="output-title"></h2><pre id="output-body"></pre></section>
<script nonce="${scriptNonce}">${trusted(PAGE_SCRIPT)}</script>
</body></html>
`;
  return page.text;
}

/**
 * The page's only script: each action button asks for confirmation, posts to
 * /api/actions with the header that cross-site forms cannot send, and shows
 * what came back (a log, or a job followed until it ends). The fleet part of
 * the page is fetched again every report interval. Text is set with
 * textContent, never as markup.
 */
export const PAGE_SCRIPT = `
"use strict";
const out = document.getElementById("output");
const outTitle = document.getElementById("output-title");
const outBody = document.getElementById("output-body");
function show(title, lines) {
  out.hidden = false;
  outTitle.textContent = title;
  outBody.textContent = lines.join("\\n");
}
async function post(body) {
  const res = await fetch("/api/actions", { method: "POST", headers: { "content-type": "application/json", "x-supafleet-action": "1" }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => ({ error: "the console answered " + res.status })) };
}
async function follow(job) {
  for (;;) {
    show(job.action + " of " + job.project + ": " + job.state, job.output || []);
    out.dataset.state = job.state;
    if (job.state !== "running") return;
    await new Promise((r) => setTimeout(r, 1000));
    const res = await fetch("/api/jobs/" + encodeURIComponent(job.id));
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.job) { show(job.action + " of " + job.project + ": lost (" + (body.error || res.status) + ")", []); return; }
    job = body.job;
  }
}
document.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-action]");
  if (!button) return;
  const action = button.dataset.action;
  const project = button.dataset.project;
  const picker = document.querySelector('select[data-service-for="' + CSS.escape(project) + '"]');
  const service = picker && picker.value ? picker.value : undefined;
  if (action === "logs" && !service) { show("logs of " + project, ["Choose a service first."]); return; }
  const what = action + " " + project + (service ? " (" + service + ")" : "");
  if (!confirm("Run " + what + "?")) return;
  button.disabled = true;
  out.dataset.state = "running";
  show(what + ": sent", []);
  try {
    const r = await post({ action, project, ...(service && action !== "backup-now" && action !== "drill-now" ? { service } : {}) });
    if (r.status === 202) await follow(r.body.job);
    else if (r.status === 200 && action === "logs") { show("last " + r.body.lines.length + " lines of " + project + " " + service, r.body.lines); out.dataset.state = "succeeded"; }
    else if (r.status === 200) { show(what + ": done", []); out.dataset.state = "succeeded"; }
    else { show(what + ": refused (" + r.status + ")", [r.body.error || ""]); out.dataset.state = "failed"; }
  } finally {
    button.disabled = false;
  }
});
const every = Number(document.body.dataset.refreshSeconds) * 1000;
setInterval(async () => {
  const res = await fetch(location.pathname, { headers: { accept: "text/html" } }).catch(() => undefined);
  const stale = document.getElementById("stale");
  stale.hidden = res !== undefined && res.ok;
  if (!stale.hidden) { stale.textContent = "This page could not refresh (" + (res ? "the console answered " + res.status : "no answer") + "); reload it to sign in again."; return; }
  const fresh = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("fleet");
  const current = document.getElementById("fleet");
  if (!fresh || !current) return;
  // The services an operator picked stay picked.
  for (const picker of current.querySelectorAll("select[data-service-for]")) {
    const twin = fresh.querySelector('select[data-service-for="' + CSS.escape(picker.dataset.serviceFor) + '"]');
    if (twin) twin.value = picker.value;
  }
  current.replaceWith(document.adoptNode(fresh));
}, every);
`;

#!/usr/bin/env node
// supafleet: make Uptime Kuma match the model. Runs inside the Kuma container
// (NODE_PATH=/app/node_modules, for Kuma's own socket.io-client) and speaks
// Kuma's Socket.IO API, the one its web UI uses.
//
// stdin, one JSON object:
//   { url, username, password,          where Kuma listens, and its admin account
//     setup: true|false,                 create the admin account if Kuma has none
//     desired: {...} | null,             src/monitoring/kuma.ts's KumaDesired; null: setup only
//     secrets: { name: value } }         what "${secret:name}" in desired stands for
//
// Only what carries the supafleet tag (monitors), the "supafleet/" name
// (notifications) or a "managed by supafleet" description (status pages) is
// ever changed or deleted. Prints one JSON summary line on stdout.
"use strict";

const { io } = require("socket.io-client");

const TIMEOUT_MS = 30000;
const PAGE_MARK = "managed by supafleet";

function fail(message) {
  process.stderr.write(`kuma-reconcile: ${message}\n`);
  process.exit(1);
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    return fail(`stdin is not JSON: ${e.message}`);
  }
}

/** Replaces every "${secret:name}" in strings; a reference without a value is an error, naming only the reference. */
function fillSecrets(value, secrets) {
  if (typeof value === "string") {
    return value.replace(/\$\{secret:([^}]+)\}/g, (_, name) => {
      if (typeof secrets[name] !== "string" || secrets[name] === "") fail(`no secret "${name}" in the secrets file`);
      return secrets[name];
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillSecrets(v, secrets));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillSecrets(v, secrets)]));
  return value;
}

class Kuma {
  constructor(url) {
    this.url = url;
    this.socket = io(url, { transports: ["websocket"], reconnection: false, timeout: TIMEOUT_MS });
    this.latest = {};
    this.waiters = {};
    for (const event of ["monitorList", "notificationList", "statusPageList", "info"]) {
      this.socket.on(event, (data) => {
        this.latest[event] = data;
        for (const w of this.waiters[event] ?? []) w(data);
        this.waiters[event] = [];
      });
    }
  }

  connected() {
    return new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("connect_error", (e) => reject(new Error(`cannot reach Uptime Kuma at ${this.url}: ${e.message}`)));
    });
  }

  /** The next push of an event the server sends on its own (lists after a change). */
  next(event) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`Kuma sent no ${event} in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
      (this.waiters[event] ??= []).push((d) => {
        clearTimeout(t);
        resolve(d);
      });
    });
  }

  /** An acknowledged call; a refusal ({ ok: false }) is an error with Kuma's message. */
  call(event, ...args) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${event}: Kuma did not answer in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
      this.socket.emit(event, ...args, (res) => {
        clearTimeout(t);
        if (res !== null && typeof res === "object" && res.ok === false) reject(new Error(`${event}: ${res.msg}`));
        else resolve(res);
      });
    });
  }

  async monitors() {
    const next = this.next("monitorList");
    await this.call("getMonitorList");
    return Object.values(await next);
  }

  close() {
    this.socket.close();
  }
}

/** Kuma 2.0 stable stores monitor conditions; the 2.0.0 development builds have no such column. */
const hasConditions = (version) => /^2\./.test(version) && !/-dev|-beta/.test(version);

function monitorPayload(d, ids, notificationIds, version) {
  const m = {
    type: d.type,
    name: d.name,
    description: d.description,
    parent: d.parent !== undefined ? ids.get(d.parent) ?? null : null,
    url: d.url ?? "https://",
    method: "GET",
    hostname: d.hostname ?? null,
    interval: d.interval,
    retryInterval: d.retryInterval,
    resendInterval: 0,
    maxretries: d.maxretries,
    timeout: Math.min(48, Math.floor(d.interval * 0.8)),
    headers: d.headers ?? null,
    body: null,
    authMethod: d.basicAuth ? "basic" : null,
    basic_auth_user: d.basicAuth ? d.basicAuth.user : null,
    basic_auth_pass: d.basicAuth ? d.basicAuth.pass : null,
    accepted_statuscodes: d.acceptedStatusCodes ? [...d.acceptedStatusCodes] : ["200-299"],
    pushToken: d.pushToken ?? null,
    notificationIDList: Object.fromEntries(notificationIds.map((id) => [id, true])),
    ignoreTls: false,
    upsideDown: false,
    packetSize: 56,
    expiryNotification: false,
    maxredirects: 10,
    dns_resolve_type: "A",
    dns_resolve_server: "1.1.1.1",
    docker_container: "",
    docker_host: null,
    proxyId: null,
    mqttUsername: "",
    mqttPassword: "",
    mqttTopic: "",
    mqttSuccessMessage: "",
    oauth_auth_method: "client_secret_basic",
    httpBodyEncoding: "json",
    kafkaProducerBrokers: [],
    kafkaProducerSaslOptions: { mechanism: "None" },
    gamedigGivenPortOnly: true,
  };
  if (hasConditions(version)) m.conditions = [];
  return m;
}

/** The fields supafleet sets, as Kuma reports them back: equal means nothing to do. */
function differs(want, have) {
  const same = (a, b) => (a ?? null) === (b ?? null);
  const fields = ["type", "name", "description", "parent", "url", "hostname", "interval", "retryInterval", "maxretries", "headers", "authMethod", "basic_auth_user", "basic_auth_pass", "pushToken"];
  const changed = fields.filter((f) => !(f === "url" && want.type !== "http") && !same(want[f], have[f]));
  if (JSON.stringify(want.accepted_statuscodes) !== JSON.stringify(have.accepted_statuscodes)) changed.push("accepted_statuscodes");
  const wantN = Object.keys(want.notificationIDList).map(Number).sort();
  const haveN = Object.keys(have.notificationIDList ?? {}).map(Number).sort();
  if (JSON.stringify(wantN) !== JSON.stringify(haveN)) changed.push("notifications");
  if (have.active === false) changed.push("active");
  return changed;
}

const depth = (d, byId) => (d.parent === undefined ? 0 : 1 + depth(byId.get(d.parent), byId));

async function reconcileNotifications(kuma, desired, summary) {
  const existing = kuma.latest.notificationList ?? (await kuma.next("notificationList"));
  const ours = existing.filter((n) => typeof n.name === "string" && n.name.startsWith("supafleet/"));
  const ids = [];
  for (const want of desired) {
    const have = ours.find((n) => n.name === want.name);
    const body = { name: want.name, ...want.config, isDefault: true, applyExisting: false, active: true };
    if (have !== undefined) {
      const config = JSON.parse(have.config ?? "{}");
      const same = Object.entries(body).every(([k, v]) => k === "applyExisting" || JSON.stringify(config[k]) === JSON.stringify(v));
      if (!same) {
        await kuma.call("addNotification", body, have.id);
        summary.updated.push(want.name);
      }
      ids.push(have.id);
    } else {
      const res = await kuma.call("addNotification", body, null);
      summary.created.push(want.name);
      ids.push(res.id);
    }
  }
  for (const n of ours.filter((n) => !desired.some((d) => d.name === n.name))) {
    await kuma.call("deleteNotification", n.id);
    summary.deleted.push(n.name);
  }
  return ids;
}

async function reconcileMonitors(kuma, desired, notificationIds, version, summary) {
  const tagName = desired.tag;
  const tags = (await kuma.call("getTags")).tags;
  let tag = tags.find((t) => t.name === tagName);
  if (tag === undefined) tag = (await kuma.call("addTag", { name: tagName, color: "#2563eb", new: true })).tag;

  const all = await kuma.monitors();
  const idOf = (m) => (m.tags ?? []).find((t) => t.tag_id === tag.id || t.name === tagName)?.value;
  const managed = new Map(all.filter((m) => idOf(m) !== undefined).map((m) => [idOf(m), m]));
  const byId = new Map(desired.monitors.map((d) => [d.id, d]));
  const ids = new Map([...managed].map(([id, m]) => [id, m.id]));

  // Parents before their children, so every parent has its Kuma id when a child needs it.
  const ordered = [...desired.monitors].sort((a, b) => depth(a, byId) - depth(b, byId));
  for (const d of ordered) {
    const want = monitorPayload(d, ids, notificationIds, version);
    const have = managed.get(d.id);
    if (have === undefined) {
      const res = await kuma.call("add", want);
      await kuma.call("addMonitorTag", tag.id, res.monitorID, d.id);
      ids.set(d.id, res.monitorID);
      summary.created.push(d.id);
      continue;
    }
    const changed = differs(want, have);
    if (changed.length === 0) {
      summary.unchanged += 1;
      continue;
    }
    await kuma.call("editMonitor", { ...have, ...want, id: have.id, tags: undefined });
    if (have.active === false) await kuma.call("resumeMonitor", have.id);
    summary.updated.push(`${d.id} (${changed.join(", ")})`);
  }
  // Children before their groups: deleting a group in Kuma would orphan or take its children.
  const gone = [...managed].filter(([id]) => !byId.has(id)).sort(([, a], [, b]) => (b.parent ? 1 : 0) - (a.parent ? 1 : 0));
  for (const [id, m] of gone) {
    await kuma.call("deleteMonitor", m.id);
    summary.deleted.push(id);
  }
  return ids;
}

async function reconcileStatusPages(kuma, url, desired, ids, summary) {
  // Kuma sends the list half a second after login.
  const listed = Object.values(kuma.latest.statusPageList ?? (await kuma.next("statusPageList")));
  const ours = listed.filter((p) => typeof p.description === "string" && p.description.startsWith(PAGE_MARK));
  for (const page of desired) {
    const description = page.hostname ? `${PAGE_MARK} (tenant ${page.slug})` : `${PAGE_MARK} (internal)`;
    const domains = page.hostname ? [page.hostname] : [];
    const groups = page.groups.map((g) => ({ name: g.name, monitorList: g.monitors.filter((id) => ids.has(id)).map((id) => ({ id: ids.get(id) })) }));
    const exists = listed.find((p) => p.slug === page.slug);
    if (exists !== undefined && !ours.includes(exists)) throw new Error(`status page "${page.slug}" exists and is not supafleet's; rename one of them`);
    if (exists !== undefined) {
      // The page's settings over the socket (they include its domains); its groups from the public endpoint.
      const config = (await kuma.call("getStatusPage", page.slug)).config ?? {};
      const res = await fetch(`${url}/api/status-page/${page.slug}`);
      const current = res.ok ? await res.json() : {};
      const now = {
        title: config.title,
        domains: config.domainNameList ?? [],
        groups: (current.publicGroupList ?? []).map((g) => ({ name: g.name, monitorList: g.monitorList.map((m) => ({ id: m.id })) })),
      };
      if (JSON.stringify(now) === JSON.stringify({ title: page.title, domains, groups })) continue;
      summary.updated.push(`status page ${page.slug}`);
    } else {
      await kuma.call("addStatusPage", page.title, page.slug);
      summary.created.push(`status page ${page.slug}`);
    }
    const config = {
      slug: page.slug,
      title: page.title,
      description,
      theme: "auto",
      showTags: false,
      footerText: null,
      customCSS: "",
      showPoweredBy: false,
      showCertificateExpiry: false,
      googleAnalyticsId: null,
      domainNameList: domains,
    };
    await kuma.call("saveStatusPage", page.slug, config, "/icon.svg", groups);
  }
  for (const p of ours.filter((p) => !desired.some((d) => d.slug === p.slug))) {
    await kuma.call("deleteStatusPage", p.slug);
    summary.deleted.push(`status page ${p.slug}`);
  }
}

async function main() {
  const input = await readStdin();
  for (const k of ["url", "username", "password"]) if (typeof input[k] !== "string" || input[k] === "") fail(`stdin has no "${k}"`);
  const kuma = new Kuma(input.url);
  await kuma.connected();
  const needSetup = await kuma.call("needSetup");
  if (needSetup === true) {
    if (input.setup !== true) fail("Kuma has no admin account yet and setup was not asked for; run kuma-install.sh first");
    await kuma.call("setup", input.username, input.password);
    process.stderr.write(`kuma-reconcile: created the admin account "${input.username}"\n`);
  }
  const info = kuma.next("info");
  await kuma.call("login", { username: input.username, password: input.password, token: "" });
  const version = (await info).version ?? "";
  const summary = { version, created: [], updated: [], deleted: [], unchanged: 0 };
  if (input.desired !== null && input.desired !== undefined) {
    const desired = fillSecrets(input.desired, input.secrets ?? {});
    const notificationIds = await reconcileNotifications(kuma, desired.notifications, summary);
    const ids = await reconcileMonitors(kuma, desired, notificationIds, version, summary);
    await reconcileStatusPages(kuma, input.url, desired.statusPages, ids, summary);
  }
  kuma.close();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.stderr.write(`kuma-reconcile: Kuma ${version}: ${summary.created.length} created, ${summary.updated.length} updated, ${summary.deleted.length} deleted, ${summary.unchanged} unchanged\n`);
}

main().catch((e) => fail(e.message));

// A stand-in for one Supabase service whose real image cannot be built here
// (no registry but npm's and Debian's). It answers its service's health
// endpoint on the service's own port, under the image name the compose file
// uses. Where the deploy gate depends on it, it behaves for real: the gateway
// enforces Kong's key-auth and ACLs from the mounted kong.yml and proxies, and
// PostgREST's stand-in answers only while it can log in to the database.
//   node standin.mjs serve <service>     run the service (bin/standin-check is its healthcheck)
// STANDIN_HEALTH=never keeps it unhealthy: the image tag for a broken release.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, request } from "node:http";

const [mode, service] = process.argv.slice(2);
const env = process.env;
const never = env.STANDIN_HEALTH === "never";

/** Each service's port and the path its healthcheck calls. */
const SERVICES = {
  auth: { port: Number(env.GOTRUE_API_PORT ?? 9999), health: "/health" },
  rest: { port: 3000, health: "/ready", admin: Number(env.PGRST_ADMIN_SERVER_PORT ?? 3001) },
  realtime: { port: Number(env.PORT ?? 4000), health: "/api/tenants/realtime-dev/health" },
  storage: { port: 5000, health: "/status" },
  imgproxy: { port: Number((env.IMGPROXY_BIND ?? ":5001").split(":").pop()), health: "/health" },
  functions: { port: 9000, health: "/_internal/health" },
  gateway: { port: 8000, health: "/__standin/health" },
  studio: { port: 3000, health: "/api/platform/profile" },
};
const spec = SERVICES[service];
if (!spec || mode !== "serve") {
  console.error(`standin: usage: standin.mjs serve <${Object.keys(SERVICES).join("|")}>`);
  process.exit(2);
}

const json = (res, status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

/** PostgREST's stand-in is ready only while the database takes its login. */
function databaseAnswers() {
  const uri = env.PGRST_DB_URI;
  if (!uri) return false;
  const r = spawnSync("psql", [uri, "-XAtqc", "select 1"], { encoding: "utf8", timeout: 5000 });
  return r.status === 0 && r.stdout.trim() === "1";
}

function healthy() {
  if (never) return false;
  if (service === "rest") return databaseAnswers();
  return true;
}

// ---- Kong: declarative config, key-auth, acl, proxy --------------------------------
async function kongConfig() {
  const { parse } = await import("/opt/standin/node_modules/yaml/dist/index.js");
  return parse(readFileSync(env.KONG_DECLARATIVE_CONFIG ?? "/home/kong/kong.yml", "utf8")) ?? {};
}

function route(cfg, req) {
  const host = (req.headers.host ?? "").split(":")[0];
  let best;
  for (const s of cfg.services ?? []) {
    for (const r of s.routes ?? []) {
      if (r.hosts && !r.hosts.includes(host)) continue;
      for (const p of r.paths ?? []) {
        if (req.url.startsWith(p) && (!best || p.length > best.path.length)) best = { service: s, route: r, path: p };
      }
    }
  }
  return best;
}

function consumerFor(cfg, key) {
  return (cfg.consumers ?? []).find((c) => (c.keyauth_credentials ?? []).some((k) => k.key === key));
}

async function gateway(req, res) {
  const cfg = await kongConfig();
  const hit = route(cfg, req);
  if (!hit) return json(res, 404, { message: "no Route matched with those values" });
  const plugins = hit.service.plugins ?? [];
  if (plugins.some((p) => p.name === "key-auth")) {
    const consumer = consumerFor(cfg, req.headers.apikey);
    if (!consumer) return json(res, 401, { message: "Invalid authentication credentials" });
    const acl = plugins.find((p) => p.name === "acl");
    const groups = (cfg.acls ?? []).filter((a) => a.consumer === consumer.username).map((a) => a.group);
    if (acl && !acl.config.allow.some((g) => groups.includes(g))) return json(res, 403, { message: "You cannot consume this service" });
  }
  const upstream = new URL(hit.service.url);
  const rest = hit.route.strip_path ? req.url.slice(hit.path.length) : req.url;
  const path = (upstream.pathname.replace(/\/$/, "") + "/" + rest.replace(/^\//, "")).replace(/^\/\//, "/");
  const out = request({ host: upstream.hostname, port: upstream.port || 80, path, method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on("error", (e) => json(res, 502, { message: `An invalid response was received from the upstream server: ${e.message}` }));
  req.pipe(out);
}

async function handle(req, res) {
  if (req.url.split("?")[0] === spec.health || (service === "gateway" && req.url === spec.health)) {
    return healthy() ? json(res, 200, { service, healthy: true }) : json(res, 503, { service, healthy: false });
  }
  if (service === "gateway") return gateway(req, res);
  if (service === "rest") {
    if (!databaseAnswers()) return json(res, 503, { message: "Database client error. Retrying the connection." });
    return json(res, 200, { swagger: "2.0", info: { title: "standin PostgREST" } });
  }
  return json(res, 200, { service });
}

const serve = (port) =>
  createServer((req, res) => handle(req, res).catch((e) => json(res, 500, { message: String(e) }))).listen(port, "0.0.0.0", () =>
    console.log(`standin ${service} listening on ${port}${never ? " (told to stay unhealthy)" : ""}`),
  );
serve(spec.port);
if (spec.admin) serve(spec.admin);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));

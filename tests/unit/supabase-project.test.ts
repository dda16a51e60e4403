import { jwtVerify, decodeJwt } from "jose";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { diffSnapshots } from "../../src/offline/diff";
import type { ResourceNode, Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { composeVariables, type ComposeFile } from "../../src/supabase/compose";
import { API_KEY_ISSUED_AT, API_KEY_LIFETIME_SECONDS } from "../../src/supabase/keys";
import { RELEASES } from "../../src/model/releases";
import { SERVICES, type ServiceName } from "../../src/model/services";
import { UPSTREAM_ENV } from "../fixtures/upstream-env";
import { runDoc } from "../helpers/offline";
import { clone, entryServices, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const doc = stackDoc("prod") as Doc;
const projects: Doc[] = doc["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
let s: Snapshot;

const byName = (name: string): ResourceNode => s.resources.find((r) => r.name === name)!;
const composeOf = (project: string): ComposeFile => parse(byName(`${project}-deploy`).inputs.stdin as string) as ComposeFile;
/** The .env and kong.yml the config command would write, read back from its (secret) payload. */
function secretsOf(project: string): { env: Record<string, string>; kong: Doc } {
  const stdin = byName(`${project}-config`).inputs.stdin;
  expect(isSecretEnvelope(stdin), `${project}-config stdin is secret`).toBe(true);
  const payload = JSON.parse((stdin as { value: string }).value) as { env: string; kong: string };
  const env = Object.fromEntries(
    payload.env
      .split("\n")
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), JSON.parse(l.slice(l.indexOf("=") + 1).replaceAll("$$", "$"))]),
  );
  return { env, kong: parse(payload.kong) as Doc };
}
/** The project's auth.d file (GOTRUE_* settings), from its auth config command: secret when it holds a provider's or SMS secret. */
function authFileOf(project: string): Record<string, string> {
  const stdin = byName(`${project}-auth-config`).inputs.stdin;
  const text = isSecretEnvelope(stdin) ? (stdin as { value: string }).value : (stdin as string);
  return Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
}
const workerOf = (p: Doc): string => ("worker" in p.placement ? p.placement.worker : `${p.name}-dedicated`);
const releaseOf = (p: Doc): string => p.release ?? doc["supafleet:supabase"].release;
/** The services a project runs on its worker, as its stack entry declares them. */
const servicesOf = (p: Doc): ServiceName[] => entryServices(p);

beforeAll(async () => {
  s = await runDoc("prod", doc);
});

describe("each prod project's services", () => {
  it("are the set its stack entry asks for, each pinned to its release's image by tag", () => {
    expect(new Set(projects.map((p) => servicesOf(p).join()))).toHaveLength(3);
    for (const p of projects) {
      const compose = composeOf(p.name);
      expect(Object.keys(compose.services), p.name).toEqual(servicesOf(p));
      expect("studio" in compose.services, p.name).toBe(p.studio === "worker");
      for (const svc of servicesOf(p)) {
        const image = compose.services[svc]!.image;
        expect(image, `${p.name}/${svc}`).toBe(RELEASES[releaseOf(p)]!.images[svc]);
        expect(image, `${p.name}/${svc}`).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
        expect(image.endsWith(":latest"), image).toBe(false);
      }
      expect(compose["x-supafleet"]!.release).toBe(releaseOf(p));
    }
  });

  it("set every environment variable upstream's compose sets for the pinned release", () => {
    for (const p of projects) {
      const compose = composeOf(p.name);
      const upstream = UPSTREAM_ENV[releaseOf(p)]!;
      for (const svc of servicesOf(p)) {
        // Auth's own settings are in its auth.d file, which GoTrue loads over its environment.
        const ours = [...Object.keys(compose.services[svc]!.environment ?? {}), ...(svc === "auth" ? Object.keys(authFileOf(p.name)) : [])];
        const missing = upstream[svc].filter((v) => !ours.includes(v));
        expect(missing, `${p.name}/${svc} lacks`).toEqual([]);
      }
    }
  });

  it("find every variable they reference in the project's .env, and nothing unused there", () => {
    for (const p of projects) {
      const { env } = secretsOf(p.name);
      const referenced = composeVariables(composeOf(p.name));
      expect(referenced.filter((v) => !(v in env)), p.name).toEqual([]);
      // The .env also feeds kong.yml (dashboard, opaque keys) and the pooler-era VAULT_ENC_KEY upstream keeps.
      const extra = Object.keys(env).filter((k) => !referenced.includes(k));
      const dashboard = p.studio === "worker" ? ["DASHBOARD_PASSWORD", "DASHBOARD_USERNAME"] : [];
      expect(extra.sort(), p.name).toEqual([...dashboard, "VAULT_ENC_KEY", ...(RELEASES[releaseOf(p)]!.opaqueKeys ? ["SUPABASE_PUBLISHABLE_KEY", "SUPABASE_SECRET_KEY"] : [])].sort());
      expect(authFileOf(p.name).GOTRUE_SITE_URL).toBe(p.auth?.siteUrl ?? `https://${p.subdomain}.${doc["supafleet:domain"]}`);
      expect(env.API_EXTERNAL_URL).toBe(`https://${p.subdomain}.${doc["supafleet:domain"]}`);
      expect(env.SMTP_HOST).toBe((p.smtp ?? doc["supafleet:smtp"]).host);
      expect(env.SMTP_PASS).toBe(`<offline-placeholder:supafleet:smtpPassword${p.smtp ? `-${p.name}` : ""}>`);
    }
  });

  it("publish ports only on the worker's WireGuard address, never 0.0.0.0, and hold no secret in the compose file", () => {
    const addresses = new Map([...doc["supafleet:workers"].map((w: Doc) => [w.name, w.address]), ...projects.filter((p) => "dedicated" in p.placement).map((p) => [`${p.name}-dedicated`, p.placement.dedicated.address])]);
    for (const p of projects) {
      const deploy = byName(`${p.name}-deploy`);
      expect(isSecretEnvelope(deploy.inputs.stdin), "the compose file is not a secret").toBe(false);
      const text = deploy.inputs.stdin as string;
      for (const secret of s.secretValues) expect(text.includes(secret), `${p.name} compose holds a secret`).toBe(false);
      const ports = Object.values(composeOf(p.name).services).flatMap((svc) => svc.ports ?? []);
      expect(ports.length).toBe(2);
      for (const port of ports) expect(port.startsWith(`${addresses.get(workerOf(p))}:`), port).toBe(true);
      expect(text).not.toMatch(/0\.0\.0\.0:\d+:/);
    }
  });

  it("on a shared worker collide on nothing: ports, container names, volumes, networks", () => {
    for (const worker of doc["supafleet:workers"].map((w: Doc) => w.name)) {
      const here = projects.filter((p) => workerOf(p) === worker).map((p) => composeOf(p.name));
      if (here.length < 2) continue;
      const all = (f: (c: ComposeFile) => string[]): string[] => here.flatMap(f);
      const unique = (xs: string[]): void => expect(new Set(xs).size, xs.join(" ")).toBe(xs.length);
      unique(all((c) => Object.values(c.services).flatMap((x) => (x.ports ?? []).map((port) => port.split(":").slice(0, 2).join(":")))));
      unique(all((c) => Object.values(c.services).map((x) => x.container_name)));
      unique(all((c) => Object.values(c.volumes).map((v) => v.name)));
      unique(all((c) => [c.networks.default.name]));
    }
  });

  it("apply in order: the password, the secrets and the files before the deploy", () => {
    const p = projects[0]!.name;
    // Removal removes volumes only after a final backup that reads back whole.
    const remove = byName(`${p}-deploy`).inputs.delete as string;
    const [backup, verify, down] = ["snapshot final --files", "verify \"$final\"", "down --volumes --remove-orphans"].map((s) => remove.indexOf(s)) as [number, number, number];
    expect(backup).toBeGreaterThan(0);
    expect(verify).toBeGreaterThan(backup);
    expect(down).toBeGreaterThan(verify);
    // And Pulumi deletes the backup's credential only after that: the deploy depends on it.
    expect(byName(`${p}-deploy`).dependsOn).toContain(byName(`${p}-backup-subaccount`).key);
    expect(isSecretEnvelope(byName(`${p}-db-password`).inputs.stdin)).toBe(true);
    expect(isSecretEnvelope(byName(`${p}-assets`).inputs.stdin)).toBe(false);
  });
});

describe("API keys", () => {
  it("are HS256 JWTs that verify with their project's secret and carry role, issuer and expiry", async () => {
    for (const p of projects) {
      const { env } = secretsOf(p.name);
      const secret = new TextEncoder().encode(env.JWT_SECRET);
      for (const [key, role] of [[env.ANON_KEY!, "anon"], [env.SERVICE_ROLE_KEY!, "service_role"]] as const) {
        const { payload, protectedHeader } = await jwtVerify(key, secret, { issuer: "supabase", currentDate: new Date(Date.UTC(2027, 0, 1)) });
        expect(protectedHeader.alg).toBe("HS256");
        expect(payload.role).toBe(role);
        expect(payload.iat).toBe(API_KEY_ISSUED_AT);
        expect(payload.exp).toBe(API_KEY_ISSUED_AT + API_KEY_LIFETIME_SECONDS);
      }
      expect(env.JWT_SECRET!.length).toBeGreaterThanOrEqual(32);
    }
  });

  it("do not verify with another project's secret", async () => {
    const [a, b] = projects.map((p) => secretsOf(p.name).env);
    await expect(jwtVerify(a!.ANON_KEY!, new TextEncoder().encode(b!.JWT_SECRET))).rejects.toThrow(/signature verification failed/);
    expect(decodeJwt(a!.ANON_KEY!).role).toBe("anon");
  });

  it("include opaque keys on releases that support them, wired into Kong's consumers", () => {
    for (const p of projects) {
      const { env, kong } = secretsOf(p.name);
      const keysOf = (consumer: string): string[] => kong.consumers.find((c: Doc) => c.username === consumer).keyauth_credentials.map((k: Doc) => k.key);
      if (RELEASES[releaseOf(p)]!.opaqueKeys) {
        expect(env.SUPABASE_PUBLISHABLE_KEY).toMatch(/^sb_publishable_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/);
        expect(env.SUPABASE_SECRET_KEY).toMatch(/^sb_secret_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/);
        expect(keysOf("anon")).toEqual([env.ANON_KEY, env.SUPABASE_PUBLISHABLE_KEY]);
        expect(keysOf("service_role")).toEqual([env.SERVICE_ROLE_KEY, env.SUPABASE_SECRET_KEY]);
      } else {
        expect(env.SUPABASE_PUBLISHABLE_KEY).toBeUndefined();
        expect(keysOf("anon")).toEqual([env.ANON_KEY]);
      }
    }
  });
});

describe("changing one project's release", () => {
  it("changes only that project's resources, and shows which services' images change", async () => {
    const c = clone(doc);
    c["supafleet:tenants"][0].projects[0].release = "2026.08"; // ops: 2026.02 → 2026.08
    const head = await runDoc("prod", c);
    const changes = diffSnapshots(s, head);
    for (const ch of changes) expect(ch.name.startsWith("ops-") || ch.name === "ops" || ch.name.startsWith("studios-ops"), `${ch.kind} ${ch.name}`).toBe(true);
    // Its Studio on the master follows the release: the new image, and an awake Studio restarted.
    expect(changes.filter((ch) => ch.kind === "delete")).toEqual([]);
    expect(changes.map((ch) => `${ch.kind} ${ch.name}`).sort()).toEqual(["create ops-publishable-key", "create ops-secret-key", "replace studios-ops-refresh", "update ops-config", "update ops-deploy", "update studios-ops"]);
    const before = composeOf("ops");
    const after = parse(head.resources.find((r) => r.name === "ops-deploy")!.inputs.stdin as string) as ComposeFile;
    const changed = SERVICES.filter((svc) => before.services[svc]?.image !== after.services[svc]?.image);
    expect(changed).toEqual(["meta", "auth", "rest", "realtime", "storage", "functions", "gateway"]);
  });
});

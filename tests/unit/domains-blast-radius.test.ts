import { beforeAll, describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const names = (changes: Change[], kind: Change["kind"]): string[] => changes.filter((c) => c.kind === kind).map((c) => c.name).sort();

/** prod with these projects' domains set. */
function prodWith(domains: Record<string, string[]>): Doc {
  const c = clone(stackDoc("prod")) as Doc;
  for (const p of c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? [])) if (domains[p.name] !== undefined) p.domains = domains[p.name];
  return c;
}

/**
 * What one project's domain may touch besides its own record or custom hostname: the tunnel's
 * ingress config, which is one resource for the whole tunnel (only the domain's own rule in it),
 * and that project's own resources (GoTrue's accepted hosts); never another project's.
 */
function expectOnly(changes: Change[], project: string, rules: string[]): void {
  expect(names(changes, "replace")).toEqual([]);
  const config = changes.find((c) => c.name === "edge-config")!;
  expect(config).toMatchObject({ kind: "update", paths: rules.map((h) => `config.ingresses[${h}]`) });
  for (const u of changes.filter((c) => c.kind === "update" && c.name !== "edge-config")) {
    expect(u.name === project || u.name.startsWith(`${project}-`), `${u.name} ${u.paths.join(", ")}`).toBe(true);
  }
}

describe("the blast radius of a project's custom domains in prod", () => {
  let base: Snapshot;
  let oneSaas: Snapshot;

  beforeAll(async () => {
    // One after the other: the mock runtime is global.
    base = await runDoc("prod", stackDoc("prod"));
    oneSaas = await runDoc("prod", prodWith({ smarteros: ["api.smarteros.cl"] }));
    expect(base.error).toBeUndefined();
    expect(oneSaas.error).toBeUndefined();
  });

  it("a domain in the fleet's zone adds its record and its ingress rule, nothing else", async () => {
    const changes = diffSnapshots(base, await runDoc("prod", prodWith({ praxis: ["praxis-app.techhilfepro.de"] })));
    expect(names(changes, "create")).toEqual(["edge-dns-praxis-app"]);
    expect(names(changes, "delete")).toEqual([]);
    expectOnly(changes, "praxis", ["praxis-app.techhilfepro.de"]);
  });

  it("the fleet's first domain in a client's zone also adds the fallback origin, once", () => {
    const changes = diffSnapshots(base, oneSaas);
    expect(names(changes, "create")).toEqual(["custom-domains", "custom-domains-api.smarteros.cl", "custom-domains-fallback-dns", "custom-domains-fallback-origin"]);
    expect(names(changes, "delete")).toEqual([]);
    expectOnly(changes, "smarteros", ["api.smarteros.cl"]);
  });

  it("another project's domain in a client's zone adds only its custom hostname and its rule", async () => {
    const changes = diffSnapshots(oneSaas, await runDoc("prod", prodWith({ smarteros: ["api.smarteros.cl"], praxis: ["api.praxis-mueller.de"] })));
    expect(names(changes, "create")).toEqual(["custom-domains-api.praxis-mueller.de"]);
    expect(names(changes, "delete")).toEqual([]);
    expectOnly(changes, "praxis", ["api.praxis-mueller.de"]);
  });

  it("removing a domain removes only its custom hostname and its rule; the last one takes the fallback origin with it", async () => {
    const both = await runDoc("prod", prodWith({ smarteros: ["api.smarteros.cl"], praxis: ["api.praxis-mueller.de"] }));
    const changes = diffSnapshots(both, oneSaas);
    expect(names(changes, "delete")).toEqual(["custom-domains-api.praxis-mueller.de"]);
    expect(names(changes, "create")).toEqual([]);
    expectOnly(changes, "praxis", ["api.praxis-mueller.de"]);
    const last = diffSnapshots(oneSaas, base);
    expect(names(last, "delete")).toEqual(["custom-domains", "custom-domains-api.smarteros.cl", "custom-domains-fallback-dns", "custom-domains-fallback-origin"]);
    expectOnly(last, "smarteros", ["api.smarteros.cl"]);
  });
});

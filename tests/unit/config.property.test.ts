import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planFleet } from "../../src/plan/planFleet";
import { ingressRules } from "../../src/render/ingress";
import type { FleetConfig } from "../../src/config/schema";
import { MUTATIONS, validFleet } from "../helpers/arbitraries";
import { check } from "../helpers/stacks";

describe("config, over generated fleets", () => {
  it("accepts every valid fleet", () => {
    fc.assert(
      fc.property(validFleet, (doc) => {
        expect(check(doc).issues).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects each kind of invalid mutation at its path", () => {
    for (const mutation of MUTATIONS) {
      fc.assert(
        fc.property(validFleet, (doc) => {
          const broken = structuredClone(doc);
          const path = mutation.apply(broken);
          const { issues, config } = check(broken);
          expect(config, mutation.name).toBeUndefined();
          expect(issues.map((i) => i.path), mutation.name).toContain(path);
        }),
        { numRuns: 60 },
      );
    }
  });

  it("derives collision-free hostnames and ports for every valid fleet", () => {
    fc.assert(
      fc.property(validFleet, (doc) => {
        const { config } = check(doc);
        const model = planFleet("test", config as FleetConfig);
        const hostnames = ingressRules(model).flatMap((r) => (r.hostname ? [r.hostname] : []));
        expect(new Set(hostnames).size).toBe(hostnames.length);
        const bound = model.projects.flatMap((p) => Object.values(p.ports).map((port) => `${p.worker.address}:${port}`));
        expect(new Set(bound).size).toBe(bound.length);
        const addresses = model.workers.map((w) => w.address);
        expect(new Set(addresses).size).toBe(addresses.length);
      }),
      { numRuns: 200 },
    );
  });
});

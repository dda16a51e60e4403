import { describe, expect, it } from "vitest";
import { ProbeTargetSchema } from "../../src/probe/target";
import { tenantUuid } from "../../src/rls/tenants";
import { runDoc } from "../helpers/offline";
import { stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

describe("the probeTarget stack output", () => {
  it("describes prod as the probe needs it: every project with its keys and tenants, every host, Kuma's fleet page; keys as secrets", async () => {
    const doc = stackDoc("prod") as Doc;
    const s = await runDoc("prod", doc);
    expect(s.error).toBeUndefined();
    const raw = s.outputs.probeTarget as Doc;
    // The keys are secrets of their own; everything else reads in the clear.
    for (const p of raw.projects) expect([p.anonKey, p.serviceKey]).toEqual(["[secret]", "[secret]"]);
    const target = ProbeTargetSchema.parse(raw);
    const projects = (doc["supafleet:tenants"] as Doc[]).flatMap((t) => (t.projects ?? []).map((p: Doc) => p.name));
    expect(target.projects.map((p) => p.name).sort()).toEqual([...projects].sort());
    // A pool lists its owner first, then every pooled tenant, with the ids the seed rows carry.
    const pooled = (doc["supafleet:tenants"] as Doc[]).filter((t) => t.isolation === "pooled");
    expect(pooled.length).toBeGreaterThan(0);
    for (const t of pooled) {
      const pool = target.projects.find((p) => p.name === t.pool)!;
      expect(pool.tenants).toContainEqual({ slug: t.slug, id: tenantUuid(t.slug) });
      expect(pool.tenants.length).toBeGreaterThan(1);
    }
    expect(target.hosts.workers.map((w) => w.name).sort()).toEqual(Object.keys(s.outputs.workers as object).sort());
    expect(target.kuma).toEqual({ url: "http://10.100.0.1:3001", statusPages: ["supafleet-fleet"] });
    expect(target.accessProtected).toEqual(["https://n8n.techhilfepro.de/", "https://status.techhilfepro.de/"]);
  });
});

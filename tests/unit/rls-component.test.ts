import { describe, expect, it } from "vitest";
import { diffSnapshots } from "../../src/offline/diff";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { checksum, renderMigrationBundle } from "../../src/rls/bundle";
import { projectMigrations } from "../../src/rls/migrations";
import { tenantUuid } from "../../src/rls/tenants";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

describe("RlsPolicySet in the prod program", () => {
  it("applies each project's bundle in its database container, after the project is deployed", async () => {
    const s = await runDoc("prod", stackDoc("prod"));
    const doc = stackDoc("prod") as Doc;
    const withPacks = doc["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).filter((p: Doc) => (p.schemaPacks ?? []).length > 0);
    for (const p of withPacks) {
      const cmd = s.resources.find((r) => r.name === `${p.name}-rls-migrations`)!;
      expect(cmd.inputs.create).toBe(`docker exec -i ${p.name}-db psql -X -q -U supabase_admin -d postgres -v ON_ERROR_STOP=1 -f -`);
      expect(isSecretEnvelope(cmd.inputs.stdin)).toBe(false);
      expect(cmd.parent).toBe(`supafleet:index:RlsPolicySet::${p.name}-rls`);
      const file = s.files.find((f) => f.path === `projects/${p.name}/migrations.sql`)!;
      expect(file.content).toBe(cmd.inputs.stdin);
    }
    // The pool records its owner and both pooled tenants.
    const ops = s.resources.find((r) => r.name === "ops-rls-migrations")!.inputs.stdin as string;
    for (const slug of ["techhilfe", "baeckerei-koch", "kanzlei-weber"]) expect(ops).toContain(tenantUuid(slug));
    const outputs = s.resources.find((r) => r.type === "supafleet:index:RlsPolicySet" && r.name === "ops-rls")!.outputs;
    expect(outputs.bundleChecksum).toBe(checksum(ops));
  });

  it("adding a pooled tenant re-applies only its pool's migrations", async () => {
    const base = await runDoc("prod", stackDoc("prod"));
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:tenants"].push({ slug: "zahnarzt-lang", name: "Zahnarztpraxis Lang", contact: { name: "L", email: "l@zahn.de" }, plan: "starter", isolation: "pooled", pool: "ops" });
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(changes.map((ch) => `${ch.kind} ${ch.name} ${ch.paths.join(",")}`)).toEqual(["update ops-rls-migrations stdin"]);
  });

  it("a bundle with the same migrations renders byte for byte the same", () => {
    const a = renderMigrationBundle(projectMigrations(["msp-ops"], []));
    const b = renderMigrationBundle(projectMigrations(["msp-ops"], []));
    expect(a).toBe(b);
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { RegistrySchema } from "../../src/config/registry";
import { diffSnapshots } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { renderRegistrySeedSql } from "../../src/rls/registrySeed";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prod = stackDoc("prod") as Doc;
const projectsOf = (c: Doc): Doc[] => c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
const find = (s: Snapshot, name: string): Snapshot["resources"][number] | undefined => s.resources.find((r) => r.name === name);
const declared = RegistrySchema.parse(projectsOf(prod).find((p) => p.name === "smarteros")!.registry);

let base: Snapshot;
beforeAll(async () => {
  base = await runDoc("prod", prod);
  expect(base.error).toBeUndefined();
});

describe("a registry's base tenants in the prod program", () => {
  it("seeds seed 002's root, demo and MCP tenants in smarteros's database, after its migrations, under its project", () => {
    const cmd = find(base, "smarteros-registry-seed")!;
    expect(cmd.parent).toBe("supafleet:index:ProjectRegistry::smarteros-registry");
    expect(find(base, "smarteros-registry")!.parent).toBe("supafleet:index:SupabaseProject::smarteros");
    expect(cmd.inputs.create).toBe("docker exec -i smarteros-db psql -X -q -U supabase_admin -d postgres -v ON_ERROR_STOP=1 -f -");
    expect(cmd.dependsOn).toContain(find(base, "smarteros-rls")!.key);
    expect(cmd.inputs.stdin).toBe(renderRegistrySeedSql(declared));
    expect(base.files.find((f) => f.path === "projects/smarteros/registry-seed.sql")!.content).toBe(cmd.inputs.stdin);
    expect(find(base, "smarteros-registry")!.outputs).toMatchObject({ plans: ["infinite", "infrastructure", "trial"], tenants: ["demo", "smarterbot", "smartermcp"] });
  });

  it("gives no other project a seed: only one that declares a registry has one", () => {
    const seeded = base.resources.filter((r) => r.type === "supafleet:index:ProjectRegistry").map((r) => r.name);
    expect(seeded).toEqual(["smarteros-registry"]);
  });

  it("changes only that project's seed command when a base tenant changes, and nothing when the list is reordered", async () => {
    const c = clone(prod) as Doc;
    const registry = projectsOf(c).find((p) => p.name === "smarteros")!.registry;
    registry.tenants.find((t: Doc) => t.slug === "demo").trialHours = 48;
    const changes = diffSnapshots(base, await runDoc("prod", c));
    expect(changes.map((ch) => `${ch.kind} ${ch.name} ${ch.paths.join(",")}`)).toEqual(["update smarteros-registry-seed stdin"]);
    const reordered = { ...declared, tenants: [...declared.tenants].reverse() };
    expect(renderRegistrySeedSql(reordered)).toBe(renderRegistrySeedSql(declared));
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { renderBucketsSql } from "../../src/storage/bucketsSql";
import { BucketSchema } from "../../src/config/buckets";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prod = stackDoc("prod") as Doc;
const projectsOf = (c: Doc): Doc[] => c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
const summary = (changes: Change[]): string[] => changes.map((c) => `${c.kind} ${c.name} ${c.paths.join(",")}`);
const find = (s: Snapshot, name: string): Snapshot["resources"][number] | undefined => s.resources.find((r) => r.name === name);

const avatars = { name: "avatars", public: true, fileSizeLimit: "5MB", allowedMimeTypes: ["image/png", "image/jpeg"] };
const invoices = { name: "invoices" };

/** prod with these buckets on its project named `name`. */
function withBuckets(name: string, buckets: Doc[], base: Doc = prod): Doc {
  const c = clone(base);
  projectsOf(c).find((p) => p.name === name)!.buckets = buckets;
  return c;
}

let base: Snapshot;
let first: string;
let second: string;
let declared: Doc;
let head: Snapshot;

beforeAll(async () => {
  base = await runDoc("prod", prod);
  [first, second] = projectsOf(prod).map((p) => p.name as string) as [string, string];
  declared = withBuckets(first, [avatars, invoices]);
  head = await runDoc("prod", declared);
  expect(base.error).toBeUndefined();
  expect(head.error).toBeUndefined();
});

describe("buckets in the prod program", () => {
  it("gives every project that runs Storage its bucket command under its project, after its deploy", () => {
    for (const p of projectsOf(prod)) {
      const name = p.name as string;
      const cmd = find(base, `${name}-buckets-apply`)!;
      expect(cmd, name).toBeDefined();
      expect(cmd.parent).toBe(`supafleet:index:ProjectBuckets::${name}-buckets`);
      expect(find(base, `${name}-buckets`)!.parent).toBe(`supafleet:index:SupabaseProject::${name}`);
      expect(cmd.inputs.create).toBe(`docker exec -i ${name}-db psql -X -q -U supabase_admin -d postgres -v ON_ERROR_STOP=1 -f -`);
      expect(cmd.dependsOn).toContain(find(base, `${name}-deploy`)!.key);
      // No buckets declared: the SQL still runs, to keep managing (and removing) what it made.
      expect(cmd.inputs.stdin).toBe(renderBucketsSql([]));
    }
  });

  it("sends the project's SQL, the same text as its rendered buckets.sql, and reports its bucket names", () => {
    const cmd = find(head, `${first}-buckets-apply`)!;
    expect(cmd.inputs.stdin).toBe(renderBucketsSql([avatars, invoices].map((b) => BucketSchema.parse(b))));
    expect(head.files.find((f) => f.path === `projects/${first}/buckets.sql`)!.content).toBe(cmd.inputs.stdin);
    expect(find(head, `${first}-buckets`)!.outputs.buckets).toEqual(["avatars", "invoices"]);
  });

  it("a project that runs no Storage has no bucket command", async () => {
    const c = clone(prod);
    projectsOf(c).find((p) => p.name === second)!.services = { storage: false, imgproxy: false };
    const s = await runDoc("prod", c);
    expect(s.error).toBeUndefined();
    expect(find(s, `${second}-buckets-apply`)).toBeUndefined();
    expect(find(s, `${first}-buckets-apply`)).toBeDefined();
  });

  it("declaring one project's buckets re-runs that project's bucket command, and changes nothing else", () => {
    expect(summary(diffSnapshots(base, head))).toEqual([`update ${first}-buckets-apply stdin`]);
  });

  it("changing, adding and taking out its buckets re-runs only that command", async () => {
    const buckets = [{ ...avatars, public: false, fileSizeLimit: "1MB" }, { name: "exports", allowedMimeTypes: ["text/csv"] }];
    expect(summary(diffSnapshots(head, await runDoc("prod", withBuckets(first, buckets, declared))))).toEqual([`update ${first}-buckets-apply stdin`]);
  });

  it("declaring buckets on another project touches only that one's command; reordering a list changes nothing", async () => {
    const c = withBuckets(second, [invoices], withBuckets(first, [invoices, avatars], declared));
    expect(summary(diffSnapshots(head, await runDoc("prod", c)))).toEqual([`update ${second}-buckets-apply stdin`]);
  });
});

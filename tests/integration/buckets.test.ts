import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BucketSchema, type BucketConfig } from "../../src/config/buckets";
import { renderBucketsSql } from "../../src/storage/bucketsSql";
import { SupabaseTestDb } from "../helpers/supabaseDb";

/**
 * ProjectBuckets' SQL on a real PostgreSQL 15 whose storage schema is built
 * from upstream's own SQL (tests/fixtures/storage/README.md): Supabase's
 * init script, then the storage-api migrations that give storage.buckets its
 * public flag, size limit, MIME types and name check, and its guard against
 * direct deletes.
 */
const FIXTURES = join(__dirname, "..", "fixtures", "storage");
const UPSTREAM = [
  "postgres-00000000000002-storage-schema.sql",
  "storage-0002-storage-schema.sql",
  "storage-0007-add-public-to-buckets.sql",
  "storage-0012-add-bucket-custom-limits.sql",
  "storage-0014-use-bytes-for-max-size.sql",
  "storage-0037-add-bucket-name-length-constraint.sql",
  "storage-0050-prevent-direct-deletes.excerpt.sql",
];

const db = new SupabaseTestDb();
let su: pg.Client;

beforeAll(async () => {
  await db.start();
  for (const f of UPSTREAM) db.pg.psql(readFileSync(join(FIXTURES, f), "utf8"));
  su = await db.superuser();
  // A bucket someone made in Studio, with an object in it.
  await su.query("insert into storage.buckets (id, name, public, file_size_limit) values ('by-hand', 'by-hand', true, 1000)");
  await su.query("insert into storage.objects (bucket_id, name) values ('by-hand', 'keep.txt')");
});
afterAll(async () => {
  await su?.end();
  db.stop();
});

/** The command as ProjectBuckets runs it: psql as supabase_admin, the SQL on stdin. */
function apply(buckets: readonly BucketConfig[], database = "postgres"): { status: number | null; stderr: string } {
  const r = spawnSync("psql", ["-X", "-q", "-U", "supabase_admin", "-d", database, "-v", "ON_ERROR_STOP=1", "-f", "-"], {
    input: renderBucketsSql(buckets),
    encoding: "utf8",
    env: { ...process.env, ...db.pg.socketEnv("supabase_admin"), PGDATABASE: database },
  });
  return { status: r.status, stderr: r.stderr };
}

const bucket = (b: { name: string } & Partial<BucketConfig>): BucketConfig => BucketSchema.parse(b);

interface Row {
  id: string;
  name: string;
  public: boolean;
  file_size_limit: string | null;
  allowed_mime_types: string[] | null;
  xmin: string;
}
async function rows(): Promise<Row[]> {
  const r = await su.query<Row>("select id, name, public, file_size_limit, allowed_mime_types, xmin::text from storage.buckets order by id");
  return r.rows;
}
async function managed(): Promise<{ id: string; declared: boolean; undeclared: boolean; xmin: string }[]> {
  const r = await su.query("select id, declared, undeclared_since is not null as undeclared, xmin::text from supafleet.buckets order by id");
  return r.rows;
}

const avatars = bucket({ name: "avatars", public: true, fileSizeLimit: "5MB", allowedMimeTypes: ["image/png", "image/jpeg"] });
const invoices = bucket({ name: "invoices" });
// Storage accepts quotes, semicolons and dashes in a name: it must reach the table as it is.
const sly = bucket({ name: "it's; drop schema storage cascade; --" });

describe("declared buckets on PostgreSQL 15 with upstream's storage schema", () => {
  let handMade: Row;

  it("refuses to run, and says why, where Storage has not made its tables yet", async () => {
    await su.query("create database bare");
    const r = apply([avatars], "bare");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Storage has not run its migrations on this database yet");
  });

  it("creates each declared bucket with id = name, its public flag, size limit in bytes and MIME types", async () => {
    handMade = (await rows()).find((b) => b.id === "by-hand")!;
    const r = apply([avatars, invoices, sly]);
    expect(r).toEqual({ status: 0, stderr: "" });
    const got = (await rows()).map(({ xmin: _, ...b }) => b);
    expect(got).toEqual([
      { id: "avatars", name: "avatars", public: true, file_size_limit: "5000000", allowed_mime_types: ["image/png", "image/jpeg"] },
      { id: "by-hand", name: "by-hand", public: true, file_size_limit: "1000", allowed_mime_types: null },
      { id: "invoices", name: "invoices", public: false, file_size_limit: null, allowed_mime_types: null },
      { id: sly.name, name: sly.name, public: false, file_size_limit: null, allowed_mime_types: null },
    ]);
    expect((await managed()).map((m) => [m.id, m.declared])).toEqual([["avatars", true], ["invoices", true], [sly.name, true]]);
  });

  it("changes no row when run again", async () => {
    const [before, ledger] = [await rows(), await managed()];
    expect(apply([sly, invoices, avatars])).toEqual({ status: 0, stderr: "" });
    expect(await rows()).toEqual(before);
    expect(await managed()).toEqual(ledger);
  });

  it("updates the public flag, size limit and MIME types, and writes only the buckets that changed", async () => {
    const before = await rows();
    const changed = bucket({ name: "avatars", public: false, fileSizeLimit: "1.5MB", allowedMimeTypes: ["image/webp", "image/*"] });
    expect(apply([changed, invoices, sly])).toEqual({ status: 0, stderr: "" });
    const after = await rows();
    expect(after.find((b) => b.id === "avatars")).toMatchObject({ public: false, file_size_limit: "1500000", allowed_mime_types: ["image/webp", "image/*"] });
    for (const id of ["by-hand", "invoices", sly.name]) expect(after.find((b) => b.id === id), id).toEqual(before.find((b) => b.id === id));
  });

  it("deletes a managed bucket taken out of the stack file when it is empty", async () => {
    const r = apply([avatars, sly]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("deleted bucket 'invoices'");
    expect((await rows()).map((b) => b.id)).toEqual(["avatars", "by-hand", sly.name]);
    expect((await managed()).map((m) => m.id)).toEqual(["avatars", sly.name]);
  });

  it("keeps one that holds an object, as it is and with its object, marks it undeclared and warns", async () => {
    await su.query("insert into storage.objects (bucket_id, name) values ('avatars', 'me.png')");
    const before = (await rows()).find((b) => b.id === "avatars");
    const r = apply([sly]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/WARNING: {2}supafleet: bucket 'avatars' is no longer declared but was kept as it is, because it holds 1 objects/);
    expect((await rows()).find((b) => b.id === "avatars")).toEqual(before);
    expect((await su.query("select name from storage.objects where bucket_id = 'avatars'")).rows).toEqual([{ name: "me.png" }]);
    expect((await managed()).find((m) => m.id === "avatars")).toMatchObject({ declared: false, undeclared: true });
  });

  it("deletes it on a later run, once it is empty", async () => {
    // As Storage's own API empties a bucket: its guard lets the delete through when told.
    await su.query("begin; set local storage.can_delete = 'true'; delete from storage.objects where bucket_id = 'avatars'; commit;");
    const r = apply([sly]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("deleted bucket 'avatars'");
    expect((await rows()).map((b) => b.id)).toEqual(["by-hand", sly.name]);
  });

  it("takes a declared bucket back under management when it is declared again", async () => {
    expect(apply([sly, invoices]).status).toBe(0);
    expect((await managed()).map((m) => [m.id, m.declared])).toEqual([["invoices", true], [sly.name, true]]);
  });

  it("never touched the bucket made by hand, which Storage's guard would not let anyone delete directly", async () => {
    expect((await rows()).find((b) => b.id === "by-hand")).toEqual(handMade);
    await expect(su.query("delete from storage.buckets where id = 'by-hand'")).rejects.toThrow(/Direct deletion from storage tables is not allowed/);
  });

  it("stores any name Storage accepts exactly, and deletes it again", async () => {
    const chars = [..."abcXYZ019_!.*'() &$=@;:+,?-"];
    const names = fc
      .array(fc.constantFrom(...chars), { minLength: 1, maxLength: 63 })
      .map((cs) => cs.join(""))
      .filter((n) => BucketSchema.shape.name.safeParse(n).success);
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        expect(apply([bucket({ name })]).status).toBe(0);
        const got = await su.query("select id, name from storage.buckets where id = $1", [name]);
        expect(got.rows).toEqual([{ id: name, name }]);
        expect(apply([]).status).toBe(0);
        expect((await rows()).map((b) => b.id)).toEqual(["by-hand"]);
      }),
      { numRuns: 8 },
    );
  });
});

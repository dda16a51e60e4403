import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BucketSchema, type BucketConfig } from "../../src/config/buckets";
import { bucketRows, renderBucketsSql, sqlLiteral } from "../../src/storage/bucketsSql";
import { template } from "../../src/render/templates";

/** Names Storage accepts: its characters, in any order, that the stack file's schema takes. */
const CHARS = [..."abzAZ09_!.*'() &$=@;:+,?-"];
const storageName = fc
  .array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 63 })
  .map((cs) => cs.join(""))
  .filter((n) => BucketSchema.shape.name.safeParse(n).success);
const buckets = fc.uniqueArray(storageName, { maxLength: 5 }).map((names) => names.map((name) => BucketSchema.parse({ name })));

/** The text of one SQL string literal at the start of `sql`, as PostgreSQL reads it (standard_conforming_strings on). */
function readLiteral(sql: string): { value: string; rest: string } {
  expect(sql[0]).toBe("'");
  let value = "";
  for (let i = 1; i < sql.length; i++) {
    if (sql[i] !== "'") value += sql[i];
    else if (sql[i + 1] === "'") value += sql[++i];
    else return { value, rest: sql.slice(i + 1) };
  }
  throw new Error("the literal never ends");
}

describe("the bucket SQL", () => {
  const [head, tail] = template("sql/storage/buckets.sql").split("{{declared}}") as [string, string];

  it("holds every name inside one literal, which reads back as exactly the declared rows", () => {
    fc.assert(
      fc.property(buckets, (declared: BucketConfig[]) => {
        const sql = renderBucketsSql(declared);
        // Nothing outside the slot differs from the template: no name reaches the SQL text itself.
        expect(sql.startsWith(head)).toBe(true);
        const { value, rest } = readLiteral(sql.slice(head.length));
        expect(rest).toBe(tail);
        expect(JSON.parse(value)).toEqual(bucketRows(declared));
        expect((JSON.parse(value) as { id: string }[]).map((r) => r.id).sort()).toEqual(declared.map((b) => b.name).sort());
      }),
    );
  });

  it("quotes any text, backslashes and quotes included, and refuses a NUL byte", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")), (s) => {
        const { value, rest } = readLiteral(sqlLiteral(s));
        expect([value, rest]).toEqual([s, ""]);
      }),
    );
    expect(() => sqlLiteral("a\0b")).toThrow(/NUL/);
  });

  it("declares rows with id = name, sizes in bytes, nulls for what is left out, in name order", () => {
    const rows = bucketRows([BucketSchema.parse({ name: "b", fileSizeLimit: "1.5KB", allowedMimeTypes: ["image/*"] }), BucketSchema.parse({ name: "a", public: true })]);
    expect(rows).toEqual([
      { id: "a", public: true, file_size_limit: null, allowed_mime_types: null },
      { id: "b", public: false, file_size_limit: 1500, allowed_mime_types: ["image/*"] },
    ]);
  });
});

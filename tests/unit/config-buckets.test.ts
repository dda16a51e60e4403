import { describe, expect, it } from "vitest";
import { parseSize, STORAGE_UPLOAD_LIMIT } from "../../src/config/buckets";
import { check, clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** prod with these buckets on its first project, and the problems the stack file then has, with their paths. */
function problems(buckets: unknown[], services?: Record<string, boolean>): { path: string; message: string }[] {
  const c = clone(stackDoc("prod")) as Doc;
  const t = c["supafleet:tenants"].findIndex((x: Doc) => (x.projects ?? []).length > 0);
  const project = c["supafleet:tenants"][t].projects[0];
  project.buckets = buckets;
  if (services !== undefined) project.services = services;
  const at = `tenants[${t}].projects[0].buckets`;
  return check(c).issues.map((i) => ({ path: i.path.replace(at, "buckets"), message: i.message }));
}

describe("a project's buckets in the stack file", () => {
  it("takes the issue's example and names Storage accepts, quotes and spaces included", () => {
    expect(problems([
      { name: "avatars", public: true, fileSizeLimit: "5MB", allowedMimeTypes: ["image/png", "image/jpeg"] },
      { name: "invoices", public: false },
      { name: "it's (2026); final", fileSizeLimit: "52428800B", allowedMimeTypes: ["image/*", "application/vnd.ms-excel"] },
      { name: "x".repeat(63) },
    ])).toEqual([]);
  });

  it.each([
    ["", "buckets[0].name"],
    ["x".repeat(64), "buckets[0].name"],
    ["a/b", "buckets[0].name"],
    ["naïve", "buckets[0].name"],
    ["quote\"d", "buckets[0].name"],
    [" padded", "buckets[0].name"],
    ["padded ", "buckets[0].name"],
    ["lake--table-s3", "buckets[0].name"],
    ["..", "buckets[0].name"],
  ])("refuses the name %j, which Storage would not create", (name, path) => {
    const got = problems([{ name }]);
    expect(got.length).toBeGreaterThan(0);
    for (const p of got) expect(p.path).toBe(path);
  });

  it.each(["5 MB", "5", "5MiB", "-1MB", "0MB", "1e3KB", "MB"])("refuses the size %j, which does not parse as Storage parses it", (size) => {
    expect(problems([{ name: "a", fileSizeLimit: size }])).toEqual([{ path: "buckets[0].fileSizeLimit", message: expect.stringContaining("must be a size above 0") }]);
  });

  it("refuses a size above the project's upload limit", () => {
    expect(problems([{ name: "a", fileSizeLimit: "52.4288MB" }])).toEqual([]);
    expect(problems([{ name: "a", fileSizeLimit: "52428801B" }])).toEqual([{ path: "buckets[0].fileSizeLimit", message: expect.stringContaining(`upload limit, ${STORAGE_UPLOAD_LIMIT} bytes`) }]);
    expect(problems([{ name: "a", fileSizeLimit: "1GB" }]).map((p) => p.path)).toEqual(["buckets[0].fileSizeLimit"]);
  });

  it.each(["image/PNG", "image", "*/*", "image/png; charset=utf-8", "image/ png"])("refuses the MIME type %j", (mime) => {
    expect(problems([{ name: "a", allowedMimeTypes: [mime] }]).map((p) => p.path)).toEqual(["buckets[0].allowedMimeTypes[0]"]);
  });

  it("refuses an empty MIME list and an unknown key", () => {
    expect(problems([{ name: "a", allowedMimeTypes: [] }]).map((p) => p.path)).toEqual(["buckets[0].allowedMimeTypes"]);
    expect(problems([{ name: "a", maxSize: "5MB" }]).map((p) => p.path)).toEqual(["buckets[0].maxSize"]);
  });

  it("refuses a name declared twice in one project, at the second", () => {
    expect(problems([{ name: "a" }, { name: "b" }, { name: "a", public: true }])).toEqual([{ path: "buckets[2].name", message: '"a" is already declared at buckets[0]' }]);
  });

  it("refuses buckets on a project that runs no Storage", () => {
    const got = problems([{ name: "a" }], { realtime: true, storage: false, imgproxy: false, functions: true });
    expect(got).toEqual([{ path: "buckets", message: expect.stringContaining("runs no Storage") }]);
  });
});

describe("parseSize, as storage-api's parseFileSizeToBytes", () => {
  it.each([
    ["5MB", 5_000_000],
    ["5mb", 5_000_000],
    ["1.5GB", 1_500_000_000],
    ["512KB", 512_000],
    ["0.5KB", 500],
    ["10B", 10],
    ["1.2345MB", 1_234_500],
  ])("%s is %i bytes", (v, bytes) => {
    expect(parseSize(v)).toBe(bytes);
  });
});

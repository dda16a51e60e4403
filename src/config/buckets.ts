import { z } from "zod";
import type { ConfigIssue } from "./issues";

/**
 * A project's declared Storage buckets. The rules are Storage's own at both
 * pinned storage-api releases (src/model/releases.ts; tests/fixtures/storage/README.md
 * names the upstream files), so a bucket the stack file declares is one Storage
 * would have created through its API.
 */

/** The largest upload Storage takes on any project: FILE_SIZE_LIMIT in its Compose environment (upstream's 50 MiB). */
export const STORAGE_UPLOAD_LIMIT = 52_428_800;

// storage-api limits.ts parseFileSizeToBytes: decimal units, no space, case-insensitive.
const UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 };

/**
 * "5MB" → 5000000 bytes, as Storage parses a bucket's file size limit (1 KB =
 * 1000 B); undefined when Storage would refuse it, or when it is 0 (which
 * Storage reads as no limit at all).
 */
export function parseSize(value: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(gb|mb|kb|b)$/i.exec(value);
  if (m === null) return undefined;
  const bytes = Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  return bytes > 0 ? bytes : undefined;
}

/** isValidBucketName's characters (ASCII only at both releases). */
const NAME_CHARS = /^[A-Za-z0-9_!.*'() &$=@;:+,?-]+$/;
/** Storage keeps names ending so for Iceberg buckets (ICEBERG_BUCKET_DETECTION_SUFFIX's default). */
const RESERVED_SUFFIX = "--table-s3";
/** storage.buckets' buckets_name_length_check: under 64 at one release's migration 0037, under 101 at a later one; the stricter holds for both. */
export const MAX_BUCKET_NAME = 63;

// Storage's own MIME check, lower case (newer releases store them lower-cased): type/subtype or type/*.
const MIME = /^[a-z0-9][a-z0-9.+-]*\/([a-z0-9][a-z0-9.+-]*|\*)$/;

export const BucketSchema = z.strictObject({
  name: z
    .string()
    .min(1, "must not be empty")
    .max(MAX_BUCKET_NAME, `must be at most ${MAX_BUCKET_NAME} characters (storage.buckets' length check)`)
    .regex(NAME_CHARS, "must be ASCII letters, digits, spaces and _ ! . * ' ( ) & $ = @ ; : + , ? - only (Storage refuses the rest in a bucket name)")
    .refine((n) => n.trim() === n, "must not start or end with a space (Storage refuses it)")
    .refine((n) => !n.endsWith(RESERVED_SUFFIX), `must not end in ${RESERVED_SUFFIX}, which Storage keeps for Iceberg buckets`)
    // Storage takes these, but its file backend would then write objects outside the bucket's folder.
    .refine((n) => n !== "." && n !== "..", "must not be . or .."),
  public: z.boolean().default(false),
  /** Largest object, such as 512KB, 5MB or 1.5GB (1 MB = 1000000 bytes); the project's upload limit when left out. */
  fileSizeLimit: z
    .string()
    .refine((v) => parseSize(v) !== undefined, "must be a size above 0 such as 512KB, 5MB or 1.5GB (a number and B, KB, MB or GB, no space)")
    .refine((v) => (parseSize(v) ?? 0) <= STORAGE_UPLOAD_LIMIT, `must be at most the project's upload limit, ${STORAGE_UPLOAD_LIMIT} bytes (52.4288MB); Storage refuses a larger bucket limit`)
    .optional(),
  /** MIME types an upload may have; `image/*` allowed. Any when left out. */
  allowedMimeTypes: z.array(z.string().regex(MIME, "must be a lower-case MIME type such as image/png or image/*")).min(1).optional(),
});

export type BucketConfig = z.infer<typeof BucketSchema>;

/** What one bucket list cannot say by itself: a name twice, or buckets on a project that runs no Storage. */
export function checkBuckets(buckets: readonly BucketConfig[], storage: boolean, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!storage && buckets.length > 0) {
    issues.push({ path: `${path}.buckets`, message: "the project runs no Storage (services.storage: false); remove its buckets or turn storage on" });
  }
  const first = new Map<string, number>();
  buckets.forEach((b, i) => {
    const earlier = first.get(b.name);
    if (earlier === undefined) first.set(b.name, i);
    else issues.push({ path: `${path}.buckets[${i}].name`, message: `"${b.name}" is already declared at buckets[${earlier}]` });
  });
  return issues;
}

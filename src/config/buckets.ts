import { z } from "zod";

/**
 * A project's declared Storage buckets. The names and sizes follow what Storage itself
 * accepts, so a bucket the stack file declares is one Storage would have created.
 */

const UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** "5MB" → bytes, as Storage reads a bucket's file_size_limit (1 KB = 1024 B); undefined when it does not parse. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i.exec(value.trim());
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  return bytes > 0 ? bytes : undefined;
}

export const BucketSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100, "must be at most 100 characters")
    .regex(/^[A-Za-z0-9_.-]+$/, "must be letters, digits, '_', '.' and '-' only (Storage refuses the rest in a bucket name)")
    .refine((n) => n !== "." && n !== "..", "must not be . or .."),
  public: z.boolean().default(false),
  /** Largest object, such as 5MB or 1.5GB; Storage's own limit when left out. */
  fileSizeLimit: z
    .string()
    .refine((v) => parseSize(v) !== undefined, "must be a size such as 512KB, 5MB or 1GB")
    .optional(),
  /** MIME types an upload may have; `image/*` allowed. Any when left out. */
  allowedMimeTypes: z.array(z.string().regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)$/, "must be a MIME type such as image/png or image/*")).min(1).optional(),
});

export type BucketConfig = z.infer<typeof BucketSchema>;

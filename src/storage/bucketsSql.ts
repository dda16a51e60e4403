import { parseSize, type BucketConfig } from "../config/buckets";
import { fillTemplate } from "../render/templates";

/** One row of storage.buckets as the stack file declares it (id = name, as Storage's API makes them). */
export interface BucketRow {
  readonly id: string;
  readonly public: boolean;
  /** Bytes; null is the project's upload limit. */
  readonly file_size_limit: number | null;
  /** null is any type. */
  readonly allowed_mime_types: readonly string[] | null;
}

/** In name order, so that reordering the stack file's list changes nothing. */
export function bucketRows(buckets: readonly BucketConfig[]): BucketRow[] {
  const byName = [...buckets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return byName.map((b) => ({
    id: b.name,
    public: b.public,
    file_size_limit: b.fileSizeLimit === undefined ? null : parseSize(b.fileSizeLimit)!,
    allowed_mime_types: b.allowedMimeTypes ?? null,
  }));
}

/**
 * A standard SQL string literal of any text: single quotes, each `'` doubled.
 * The script sets standard_conforming_strings, so a backslash is just a
 * backslash; a NUL byte cannot be in a PostgreSQL text value and is refused.
 */
export function sqlLiteral(value: string): string {
  if (value.includes("\0")) throw new Error("an SQL text value cannot hold a NUL byte");
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The psql script that makes storage.buckets hold what the project declares
 * (templates/sql/storage/buckets.sql): the declared rows go in as one quoted
 * JSON literal, so no name is ever part of the SQL text itself.
 */
export function renderBucketsSql(buckets: readonly BucketConfig[]): string {
  return fillTemplate("sql/storage/buckets.sql", { declared: sqlLiteral(JSON.stringify(bucketRows(buckets))) });
}

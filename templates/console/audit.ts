import { closeSync, fstatSync, mkdirSync, openSync, readSync, appendFileSync } from "node:fs";
import { dirname } from "node:path";

/** One line of the audit log: who asked for what, then what came of it. */
export interface AuditEntry {
  readonly at: string;
  /** The Access identity (an email, or a service token's name). */
  readonly identity: string;
  readonly action: string;
  readonly project: string;
  readonly service?: string;
  readonly worker: string;
  /** "requested" before the action is sent; its outcome after. */
  readonly phase: "requested" | "outcome";
  readonly outcome?: "ok" | "started" | "succeeded" | "failed";
  readonly detail?: string;
  readonly job?: string;
}

// The tail read back for the page: enough for hundreds of entries, bounded however long the log grows.
const TAIL_BYTES = 256 * 1024;

/** The append-only audit log, one JSON object a line (state/audit.jsonl). */
export class AuditLog {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  /** Written synchronously: the entry is on disk before the action it records is sent. */
  append(entry: Omit<AuditEntry, "at">, now = new Date()): AuditEntry {
    const full: AuditEntry = { at: now.toISOString(), ...entry };
    appendFileSync(this.file, JSON.stringify(full) + "\n", { mode: 0o600 });
    return full;
  }

  /** The last `limit` entries, newest first. */
  recent(limit: number): AuditEntry[] {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch {
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString("utf8").split("\n").filter(Boolean);
      // A tail that starts mid-file starts mid-line: that first line is dropped.
      if (start > 0) lines.shift();
      return lines
        .slice(-limit)
        .reverse()
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as AuditEntry];
          } catch {
            return [];
          }
        });
    } finally {
      closeSync(fd);
    }
  }
}

import { PRELUDE } from "../render/script";
import { fillTemplate, template } from "../render/templates";

/** What every node runs its backups with: the scripts and the systemd units. */
export interface BackupTimes {
  /** HH:MM, local time of the server (UTC on Hetzner's images). */
  readonly time: string;
  readonly randomizedDelayMinutes: number;
  readonly drillDay: number;
}

export const TOOLS_DIR = "/usr/local/lib/supafleet";

/**
 * The prelude the installed tools source from beside them (templates/lib/prelude.sh):
 * every payload that installs one of them brings it along.
 */
export function toolsPrelude(): Record<string, { content: string; mode: string }> {
  return { [`${TOOLS_DIR}/prelude.sh`]: { content: template(PRELUDE), mode: "0644" } };
}

/** The install-files payload that puts the backup tools on a node. */
export function backupToolsPayload(t: BackupTimes): string {
  const file = (content: string, mode: string) => ({ content, mode });
  const files: Record<string, { content: string; mode: string }> = {
    ...toolsPrelude(),
    [`${TOOLS_DIR}/backup-lib.sh`]: file(template("worker/backup-lib.sh"), "0644"),
    [`${TOOLS_DIR}/backup.sh`]: file(template("worker/backup.sh"), "0755"),
    [`${TOOLS_DIR}/restore.sh`]: file(template("worker/restore.sh"), "0755"),
    [`${TOOLS_DIR}/restore-lib.sh`]: file(template("worker/restore-lib.sh"), "0644"),
    [`${TOOLS_DIR}/restore-pitr.sh`]: file(template("worker/restore-pitr.sh"), "0755"),
    [`${TOOLS_DIR}/wal.sh`]: file(template("worker/wal.sh"), "0755"),
    [`${TOOLS_DIR}/wal-readthrough.sh`]: file(template("worker/wal-readthrough.sh"), "0755"),
    [`${TOOLS_DIR}/drill.sh`]: file(template("worker/drill.sh"), "0755"),
    "/etc/systemd/system/supafleet-backup@.service": file(template("worker/systemd/supafleet-backup@.service"), "0644"),
    "/etc/systemd/system/supafleet-backup@.timer": file(fillTemplate("worker/systemd/supafleet-backup@.timer", { time: t.time, delayMinutes: t.randomizedDelayMinutes }), "0644"),
    "/etc/systemd/system/supafleet-wal@.service": file(template("worker/systemd/supafleet-wal@.service"), "0644"),
    "/etc/systemd/system/supafleet-wal@.timer": file(template("worker/systemd/supafleet-wal@.timer"), "0644"),
    "/etc/systemd/system/supafleet-drill@.service": file(template("worker/systemd/supafleet-drill@.service"), "0644"),
    "/etc/systemd/system/supafleet-drill@.timer": file(fillTemplate("worker/systemd/supafleet-drill@.timer", { day: String(t.drillDay).padStart(2, "0") }), "0644"),
  };
  return JSON.stringify({ files });
}

/** The master backs up an hour after the workers, so they do not share the Storage Box's connections. */
export function masterBackupTimes(t: BackupTimes): BackupTimes {
  const [h, m] = t.time.split(":").map(Number) as [number, number];
  return { ...t, time: `${String((h + 1) % 24).padStart(2, "0")}:${String(m).padStart(2, "0")}` };
}

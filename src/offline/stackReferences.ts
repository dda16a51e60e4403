import { existsSync } from "node:fs";
import { parseConfigValue } from "../config/configValue";
import { placeholder, readStackFile } from "./stackFile";

/**
 * What another stack's outputs would hold, for the offline plan: the stack
 * file beside this one says which projects (and retired jobs) it backs up, and
 * each gets a read-only credential made of placeholders. A stack with no file
 * here has no outputs, so a restore from it fails as it would for real.
 */
export function offlineStackOutputs(stack: string): Record<string, unknown> {
  const file = `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) return {};
  const { values } = readStackFile(file);
  const tenants = (parseConfigValue(values["supafleet:tenants"] ?? "[]") ?? []) as { projects?: { name: string }[] }[];
  const backups = (parseConfigValue(values["supafleet:backups"] ?? "{}") ?? {}) as { retired?: (string | { name: string })[] };
  const jobs = [...tenants.flatMap((t) => (t.projects ?? []).map((p) => p.name)), ...(backups.retired ?? []).map((r) => (typeof r === "string" ? r : r.name))];
  const readers = Object.fromEntries(
    jobs.map((job) => [
      job,
      {
        job,
        repository: `sftp://${stack}-${job}-reader@offline.your-storagebox.de:23//restic`,
        resticPassword: placeholder(`${stack}:backupReaders.${job}.resticPassword`),
        sftpPassword: placeholder(`${stack}:backupReaders.${job}.sftpPassword`),
      },
    ]),
  );
  return { backupReaders: readers };
}

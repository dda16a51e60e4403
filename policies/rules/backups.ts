import type { StackValidationPolicy } from "@pulumi/policy";
import { resourcesOfType, T } from "./types";

export interface RetentionConfig {
  minRetention: { daily: number; weekly: number; monthly: number };
}

/**
 * Runs on outputs at the end of an update: a BackupSchedule exports the job
 * it backs up (the project's name) and its retention.
 */
export const everyProjectBackedUp: StackValidationPolicy = {
  name: "every-project-backed-up",
  description: "Every SupabaseProject has a BackupSchedule keeping at least 7 daily, 4 weekly and 6 monthly copies.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minRetention: {
        type: "object",
        properties: { daily: { type: "integer" }, weekly: { type: "integer" }, monthly: { type: "integer" } },
        default: { daily: 7, weekly: 4, monthly: 6 },
      },
    },
  },
  validateStack: (args, report) => {
    const min = args.getConfig<RetentionConfig>().minRetention;
    const schedules = new Map(resourcesOfType(args.resources, T.backup).map((r) => [String(r.props.job), r]));
    for (const project of resourcesOfType(args.resources, T.project)) {
      const schedule = schedules.get(project.name);
      if (schedule === undefined) {
        report(`SupabaseProject ${project.name} has no BackupSchedule.`, project.urn);
        continue;
      }
      const kept = schedule.props.retention ?? {};
      for (const period of ["daily", "weekly", "monthly"] as const) {
        const n = kept[period] ?? 0;
        if (n < min[period]) report(`BackupSchedule ${schedule.name} keeps ${n} ${period} backups; at least ${min[period]} are required.`, schedule.urn);
      }
    }
  },
};

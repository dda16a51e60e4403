/** restic's keep rules, computed here without restic: what a retention test expects to survive. */
const DAY = 86_400_000;

export interface Keep {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

/** ISO 8601 week-numbering year and week. */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return `${t.getUTCFullYear()}-W${Math.ceil(((t.getTime() - yearStart) / DAY + 1) / 7)}`;
}

/** Of snapshot times (ms), those the daily, weekly and monthly rules keep: the newest of each of the newest N periods that have one. Oldest first. */
export function keptTimes(times: readonly number[], keep: Keep): number[] {
  const newestFirst = [...times].sort((a, b) => b - a);
  const kept = new Set<number>();
  const rules: [number, (d: Date) => string][] = [
    [keep.daily, (d) => d.toISOString().slice(0, 10)],
    [keep.weekly, isoWeek],
    [keep.monthly, (d) => d.toISOString().slice(0, 7)],
  ];
  for (const [count, bucket] of rules) {
    const seen = new Set<string>();
    for (const t of newestFirst) {
      if (seen.size === count) break;
      const b = bucket(new Date(t));
      if (!seen.has(b)) {
        seen.add(b);
        kept.add(t);
      }
    }
  }
  return [...kept].sort((a, b) => a - b);
}

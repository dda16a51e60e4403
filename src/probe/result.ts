/** One row of the probe's table. A skipped check is not ok: a probe that could not look has not passed. */
export interface CheckResult {
  name: string;
  /** The project it ran for, or what else it ran against (a host, a status page); "-" for once-only checks. */
  project: string;
  ok: boolean;
  skipped?: true;
  detail: string;
  ms: number;
}

export interface Outcome {
  ok: boolean;
  detail: string;
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Runs one check and times it; a check that throws fails with its message, the run goes on. */
export async function runCheck(name: string, project: string, work: () => Promise<Outcome>): Promise<CheckResult> {
  const start = performance.now();
  try {
    const { ok, detail } = await work();
    return { name, project, ok, detail, ms: Math.round(performance.now() - start) };
  } catch (err) {
    return { name, project, ok: false, detail: errorText(err), ms: Math.round(performance.now() - start) };
  }
}

export const skip = (name: string, project: string, reason: string): CheckResult => ({ name, project, ok: false, skipped: true, detail: `skipped: ${reason}`, ms: 0 });

/** A check's verdict when it needs a value it may not have: throws so runCheck reports it. */
export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(what);
  return value;
}

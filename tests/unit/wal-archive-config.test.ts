import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BackupsSchema, PITR_DEFAULT, type FleetConfig } from "../../src/config/schema";
import { walArchiveOf } from "../../src/model/walArchive";
import { check, clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** prod's backups section, parsed as the program parses it, with `pitr` as given (or left out). */
const backups = (pitr?: Doc): FleetConfig["backups"] => {
  const raw = clone(stackDoc("prod")["supafleet:backups"]) as Doc;
  if (pitr === undefined) delete raw.pitr;
  else raw.pitr = pitr;
  return BackupsSchema.parse(raw);
};

describe("a project's WAL archiving (walArchiveOf)", () => {
  it("is on for every project of a stack file that says nothing, with the documented defaults", () => {
    const b = backups();
    expect(b.pitr).toEqual(PITR_DEFAULT);
    expect(PITR_DEFAULT).toEqual({ enabled: true, archiveTimeoutSeconds: 60, alertAfterMinutes: 3, pgWalLimitMiB: 1024 });
    expect(walArchiveOf(b, {})).toEqual({ archiveTimeoutSeconds: 60, alertAfterSeconds: 180, pgWalLimitMiB: 1024 });
  });

  it("fills the fields left out and carries the ones given, the alert delay in seconds", () => {
    const b = backups({ archiveTimeoutSeconds: 300, alertAfterMinutes: 10 });
    expect(b.pitr).toEqual({ enabled: true, archiveTimeoutSeconds: 300, alertAfterMinutes: 10, pgWalLimitMiB: 1024 });
    expect(walArchiveOf(b, { pitr: true })).toEqual({ archiveTimeoutSeconds: 300, alertAfterSeconds: 600, pgWalLimitMiB: 1024 });
  });

  it("is off for a project with pitr: false, and on for one with pitr: true when the fleet's is off", () => {
    expect(walArchiveOf(backups(), { pitr: false })).toBeUndefined();
    const off = backups({ enabled: false });
    expect(walArchiveOf(off, {})).toBeUndefined();
    expect(walArchiveOf(off, { pitr: true })).toEqual({ archiveTimeoutSeconds: 60, alertAfterSeconds: 180, pgWalLimitMiB: 1024 });
  });

  it("is defined exactly when the project's pitr, or else the fleet's enabled, is true", () => {
    const settings = fc.record({
      enabled: fc.boolean(),
      archiveTimeoutSeconds: fc.integer({ min: 30, max: 600 }),
      alertAfterMinutes: fc.integer({ min: 1, max: 60 }),
      pgWalLimitMiB: fc.integer({ min: 256, max: 65536 }),
    });
    const project = fc.option(fc.boolean(), { nil: undefined }).map((pitr) => (pitr === undefined ? {} : { pitr }));
    fc.assert(
      fc.property(settings, project, (pitr, p) => {
        const archive = walArchiveOf({ pitr }, p);
        expect(archive !== undefined).toBe(p.pitr ?? pitr.enabled);
        if (archive !== undefined) {
          expect(archive).toEqual({ archiveTimeoutSeconds: pitr.archiveTimeoutSeconds, alertAfterSeconds: pitr.alertAfterMinutes * 60, pgWalLimitMiB: pitr.pgWalLimitMiB });
        }
      }),
      { numRuns: 200 },
    );
  });

  it("reaches every project of a stack file that mentions no pitr, through the whole load", () => {
    for (const stack of ["staging", "prod"]) {
      const c = clone(stackDoc(stack)) as Doc;
      delete c["supafleet:backups"].pitr;
      for (const t of c["supafleet:tenants"]) for (const p of t.projects ?? []) delete p.pitr;
      const { config, issues } = check(c);
      expect(issues, stack).toEqual([]);
      for (const p of config!.tenants.flatMap((t) => t.projects)) expect(walArchiveOf(config!.backups, p), `${stack} ${p.name}`).toBeDefined();
    }
  });
});

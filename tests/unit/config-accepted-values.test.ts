import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { check, clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prod = (): Doc => clone(stackDoc("prod")) as Doc;
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));

/** Values no address or CIDR field may accept: impossible prefixes, octets and forms. */
const impossibleCidr = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 33, max: 99 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.integer({ min: 256, max: 999 }), octet, fc.integer({ min: 0, max: 32 })).map(([a, b, p]) => `${a}.${b}.0.0/${p}`),
  fc.tuple(octet, octet, octet, fc.integer({ min: 0, max: 32 })).map(([a, b, c, p]) => `${a}.${b}.${c}/${p}`),
  fc.integer({ min: 129, max: 999 }).map((p) => `2001:db8::/${p}`),
  fc.constantFrom("fe80::%eth0/64", "10.100.0.0/", "/24", "10.100.0.0/24/8", "10.100.0.0/2a", "::g/64"),
);

/** Any text, and text shaped like a CIDR with any prefix. */
const anyText = fc.oneof(fc.string(), fc.tuple(ipv4, fc.oneof(fc.nat({ max: 99 }), fc.string({ maxLength: 4 }))).map(([a, p]) => `${a}/${p}`));

/** Where such a value can sit in a stack file: [path in the issue, setter]. */
const FIELDS: readonly [string, (c: Doc, v: string) => void][] = [
  ["wireguard.subnet", (c, v) => (c["supafleet:wireguard"].subnet = v)],
  ["operators[0].sourceRanges[0]", (c, v) => (c["supafleet:operators"][0].sourceRanges[0] = v)],
  ["access.webhookSources[0]", (c, v) => (c["supafleet:access"].webhookSources = [v])],
  ["workers[0].address", (c, v) => (c["supafleet:workers"][0].address = v)],
  ["operators[0].wireguard.address", (c, v) => (c["supafleet:operators"][0].wireguard = { address: v })],
  ["rmm.address", (c, v) => (c["supafleet:rmm"].address = v)],
];

describe("every check sees only values that earlier checks accepted", () => {
  it("refuses a WireGuard subnet with an impossible prefix at its path, without a stack trace", () => {
    const c = prod();
    c["supafleet:wireguard"].subnet = "10.8.0.0/33";
    const { issues, config } = check(c);
    expect(config).toBeUndefined();
    expect(issues).toEqual([{ path: "wireguard.subnet", message: "/33 is no IPv4 prefix (they go up to /32); the mesh must be between a /16 and a /28" }]);
  });

  it("refuses any impossible CIDR or address in any field at that field's path, and never throws", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), impossibleCidr, ([path, set], value) => {
        const c = prod();
        set(c, value);
        const { issues, config } = check(c);
        expect(config).toBeUndefined();
        expect(issues.map((i) => i.path)).toContain(path);
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on any text in an address or CIDR field", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), anyText, ([, set], value) => {
        const c = prod();
        set(c, value);
        expect(() => check(c)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the subnet's own rules, in the order they were given", () => {
    const subnet = (s: string): string | undefined => {
      const c = prod();
      c["supafleet:wireguard"].subnet = s;
      return check(c).issues.find((i) => i.path === "wireguard.subnet")?.message;
    };
    expect(subnet("10.100.0.5/24")).toBe("10.100.0.5/24 has host bits set; did you mean 10.100.0.0/24?");
    expect(subnet("10.100.0.0/30")).toBe("must be between a /16 and a /28");
    expect(subnet("100.64.0.0/24")).toBe("must be a private (RFC 1918) range");
    expect(subnet("10.100.0.0")).toBe("must be an IPv4 CIDR such as 10.100.0.0/24");
    expect(subnet("172.20.5.0/24")).toBe("overlaps 172.20.0.0/14, which Docker uses on every node; pick a range outside 172.16.0.0/12");
  });

  it("says one thing about a refused value: no rule judges it again", () => {
    const one = (stack: string | undefined, mutate: (c: Doc) => void): Record<string, string[]> => {
      const c = stack === "staging" ? (clone(stackDoc("staging")) as Doc) : prod();
      mutate(c);
      const by: Record<string, string[]> = {};
      for (const i of check(c, stack).issues) (by[i.path] ??= []).push(i.message);
      return by;
    };
    expect(one("prod", (c) => (c["supafleet:protect"] = "yes"))).toEqual({ protect: ["must be a boolean, not string \"yes\""] });
    expect(one("prod", (c) => ((c["supafleet:protect"] = false), (c["supafleet:unprotectedReason"] = "")))).toEqual({ unprotectedReason: [expect.any(String)] });
    expect(one("staging", (c) => ((c["supafleet:deploy"] = { via: "mesh" }), (c["supafleet:operators"] = "ana")))).toEqual({ operators: ["must be an array, not string \"ana\""] });
    expect(one(undefined, (c) => (c["supafleet:access"].sessionDuration = "a day"))).toEqual({ "access.sessionDuration": ["must be a duration such as 12h or 30m"] });
    expect(one(undefined, (c) => (c["supafleet:rmm"].release = "latest"))).toEqual({ "rmm.release": ["must be a Tactical RMM release tag such as v1.5.2 (quote it)"] });
    expect(one(undefined, (c) => (c["supafleet:smtp"].user = []))).toEqual({ "smtp.user": ["must be a string, not a list"] });
    expect(one(undefined, (c) => (c["supafleet:operators"][0].sshPublicKey = "not a-key"))).toEqual({
      "operators[0].sshPublicKey": ["must be an OpenSSH public key line such as 'ssh-ed25519 AAAA… name'"],
    });
  });
});

describe("backups.pitr, a project's pitr and restoreFrom.time accept what docs/configuration.md documents", () => {
  /** Every issue of prod after `mutate`, by path. */
  const issuesOf = (mutate: (c: Doc) => void): Record<string, string[]> => {
    const c = prod();
    mutate(c);
    const by: Record<string, string[]> = {};
    for (const i of check(c).issues) (by[i.path] ??= []).push(i.message);
    return by;
  };
  const pitr = (p: Doc) => (c: Doc) => (c["supafleet:backups"].pitr = p);
  const restoreFrom = (r: Doc) => (c: Doc) => (c["supafleet:tenants"][0].projects[1].restoreFrom = r);

  it("takes each pitr field anywhere in its documented range, and a project's pitr either way", () => {
    const ranges = {
      archiveTimeoutSeconds: fc.integer({ min: 30, max: 600 }),
      alertAfterMinutes: fc.integer({ min: 1, max: 60 }),
      pgWalLimitMiB: fc.integer({ min: 256, max: 65536 }),
    };
    fc.assert(
      fc.property(fc.record({ enabled: fc.boolean(), ...ranges }, { requiredKeys: [] }), fc.option(fc.boolean(), { nil: undefined }), (p, own) => {
        expect(issuesOf((c) => ((c["supafleet:backups"].pitr = p), own !== undefined && (c["supafleet:tenants"][0].projects[0].pitr = own)))).toEqual({});
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a pitr number outside its range, or not whole, at its path", () => {
    expect(issuesOf(pitr({ archiveTimeoutSeconds: 29 }))).toEqual({ "backups.pitr.archiveTimeoutSeconds": ["must be at least 30"] });
    expect(issuesOf(pitr({ archiveTimeoutSeconds: 601 }))).toEqual({ "backups.pitr.archiveTimeoutSeconds": ["must be at most 600 (10 minutes)"] });
    expect(issuesOf(pitr({ archiveTimeoutSeconds: 60.5 }))).toEqual({ "backups.pitr.archiveTimeoutSeconds": ["must be an int, not number 60.5"] });
    expect(issuesOf(pitr({ alertAfterMinutes: 0 }))).toEqual({ "backups.pitr.alertAfterMinutes": ["must be at least 1"] });
    expect(issuesOf(pitr({ alertAfterMinutes: 61 }))).toEqual({ "backups.pitr.alertAfterMinutes": ["must be at most 60"] });
    expect(issuesOf(pitr({ pgWalLimitMiB: 255 }))).toEqual({ "backups.pitr.pgWalLimitMiB": ["must be at least 256"] });
    expect(issuesOf(pitr({ pgWalLimitMiB: 65537 }))).toEqual({ "backups.pitr.pgWalLimitMiB": ["must be at most 65536 (64 GiB)"] });
    expect(issuesOf(pitr({ enabled: "yes" }))).toEqual({ "backups.pitr.enabled": ['must be a boolean, not string "yes"'] });
    expect(issuesOf(pitr({ archiveTimeout: 60 }))).toEqual({ "backups.pitr.archiveTimeout": ["is not a known setting (check its spelling and indentation)"] });
    expect(issuesOf((c) => (c["supafleet:tenants"][0].projects[0].pitr = "off"))).toEqual({ "tenants[0].projects[0].pitr": ['must be a boolean, not string "off"'] });
  });

  it("takes a time in UTC to the second with a trailing Z, alone or with stack", () => {
    expect(issuesOf(restoreFrom({ project: "ops", time: "2026-12-06T14:31:00Z" }))).toEqual({});
    expect(issuesOf(restoreFrom({ project: "ops", stack: "staging", time: "2028-02-29T23:59:59Z" }))).toEqual({});
  });

  it("refuses a time in any other form, or not in the calendar, naming the form it wants", () => {
    const form = "must be a UTC time with seconds and a trailing Z, such as 2026-12-06T14:31:00Z";
    for (const time of ["2026-12-06T14:31Z", "2026-12-06T14:31:00", "2026-12-06 14:31:00Z", "2026-12-06T14:31:00+01:00", "2026-12-06T14:31:00.5Z", "2026-12-06", "latest", "2026-12-06t14:31:00z"]) {
      expect(issuesOf(restoreFrom({ project: "ops", time })), time).toEqual({ "tenants[0].projects[1].restoreFrom.time": [form] });
    }
    expect(issuesOf(restoreFrom({ project: "ops", time: 1765031460 }))).toEqual({ "tenants[0].projects[1].restoreFrom.time": ['must be text, but YAML read it as the number 1765031460; quote it: "1765031460"'] });
    for (const time of ["2026-02-29T12:00:00Z", "2026-12-06T24:00:00Z", "2026-13-01T00:00:00Z", "2026-12-06T14:60:00Z"]) {
      expect(issuesOf(restoreFrom({ project: "ops", time })), time).toEqual({ "tenants[0].projects[1].restoreFrom.time": [`${time} is not a moment of the calendar; ${form}`] });
    }
  });

  it("refuses time and snapshot together, even snapshot: latest, at time", () => {
    const both = "give snapshot or time, not both: snapshot restores one nightly backup as it was, time replays the WAL archive to a moment";
    for (const snapshot of ["latest", "ab12cd34", "2026-11-20T03:00"]) {
      expect(issuesOf(restoreFrom({ project: "ops", snapshot, time: "2026-12-06T14:31:00Z" })), snapshot).toEqual({ "tenants[0].projects[1].restoreFrom.time": [both] });
    }
    expect(issuesOf(restoreFrom({ project: "ops", snapshot: "latest" }))).toEqual({});
  });
});

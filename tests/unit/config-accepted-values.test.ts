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

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFleetConfig, loadFleetConfig } from "../../src/config/load";
import { ConfigError } from "../../src/config/issues";
import { escEnvironment } from "../../src/config/secrets";
import { engineConfigFromYaml } from "../../src/offline/stackFile";
import { ROOT, check, clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const paths = (config: Doc): string[] => check(config).issues.map((i) => i.path);

describe("the committed stack files", () => {
  for (const stack of ["staging", "prod"]) {
    it(`${stack} validates with its secrets set`, () => {
      expect(check(stackDoc(stack)).issues).toEqual([]);
    });
  }

  it("staging has at least 2 tenants, 3 projects and 2 workers", () => {
    const c = stackDoc("staging") as Doc;
    const projects = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
    expect(c["supafleet:tenants"].length).toBeGreaterThanOrEqual(2);
    expect(projects.length).toBeGreaterThanOrEqual(3);
    expect(c["supafleet:workers"].length).toBeGreaterThanOrEqual(2);
  });

  it("prod covers all three isolation levels with at least 5 projects and 3 workers", () => {
    const c = stackDoc("prod") as Doc;
    const levels = new Set(c["supafleet:tenants"].map((t: Doc) => t.isolation));
    expect([...levels].sort()).toEqual(["dedicated", "pooled", "shared"]);
    expect(c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).length).toBeGreaterThanOrEqual(5);
    expect(c["supafleet:workers"].length).toBeGreaterThanOrEqual(3);
  });

  it("hold no secure values and no secrets", () => {
    for (const stack of ["staging", "prod"]) {
      const text = JSON.stringify(stackDoc(stack));
      expect(text).not.toContain("secure");
      expect(text).not.toMatch(/password"|token"|secret"/i);
    }
  });
});

describe("the secrets model", () => {
  for (const stack of ["staging", "prod"]) {
    it(`Pulumi.${stack}.yaml imports its ESC environment and its header lists exactly the secure keys it needs`, () => {
      const text = readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      expect(engineConfigFromYaml(text, "t").environments).toEqual([escEnvironment(stack)]);
      const header = text.slice(0, text.indexOf("\nenvironment:"));
      const listed = [...header.matchAll(/^# {3}(\S+:\S+)/gm)].map((m) => m[1]);
      expect(listed.sort()).toEqual(check(stackDoc(stack)).secure.map((s) => s.key).sort());
    });
  }

  it("the offline plan takes committed ciphertext as set, and refuses an environment block that is not a list", () => {
    const e = engineConfigFromYaml("environment: [supafleet/prod]\nconfig:\n  hcloud:token:\n    secure: AAABAKp0c2Vj\n", "t");
    expect(e.secretKeys).toEqual(["hcloud:token"]);
    expect(e.values["hcloud:token"]).toBe("<offline-placeholder:hcloud:token>");
    expect(() => engineConfigFromYaml("environment: supafleet/prod\nconfig: {}\n", "Pulumi.prod.yaml")).toThrow(
      'Pulumi.prod.yaml: "environment" must be a list of ESC environment names, such as [supafleet/prod]',
    );
  });
});

describe("bad config is reported in full", () => {
  it("names both a duplicated subdomain and a worker address outside the subnet", () => {
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:tenants"][3].projects[1].subdomain = "smarteros";
    c["supafleet:workers"][1].address = "10.200.0.3";
    const { issues } = check(c);
    expect(issues).toEqual([
      { path: "tenants[3].projects[1].subdomain", message: 'subdomain "smarteros" is already used by tenants[3].projects[0].subdomain' },
      { path: "workers[1].address", message: "10.200.0.3 is outside the WireGuard subnet 10.100.0.0/24 (wireguard.subnet)" },
    ]);
  });

  it("throws one ConfigError whose message lists every problem", () => {
    const c = clone(stackDoc("staging")) as Doc;
    c["supafleet:tenants"][0].projects[0].subdomain = "studio";
    c["supafleet:backups"].retention.monthly = 3;
    c["supafleet:hetzner"].masterServerType = "cx22";
    let error: unknown;
    try {
      loadFleetConfig(withDeclaredSecrets(validatorInput(c, "staging")));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("Pulumi.staging.yaml has 3 problems; nothing was deployed.");
    expect(message).toContain("hetzner.masterServerType: must be a current Hetzner server type");
    expect(message).toContain('tenants[0].projects[0].subdomain: "studio" is reserved');
    expect(message).toContain("backups.retention.monthly: must keep at least 6 monthly backups");
  });

  it("reports a broken section and the problems of sound sections together", () => {
    const c = clone(stackDoc("staging")) as Doc;
    c["supafleet:hetzner"] = "fsn1";
    c["supafleet:workers"][0].address = "10.110.0.1";
    expect(paths(c)).toEqual(["hetzner", "workers[0].address"]);
  });

  it("names missing and misspelled keys", () => {
    const c = clone(stackDoc("staging")) as Doc;
    delete c["supafleet:domain"];
    c["supafleet:tenants"][0].projects[0].subdomian = "ops2";
    c["supafleet:tenant"] = [];
    expect(paths(c).sort()).toEqual(["domain", "supafleet:tenant", "tenants[0].projects[0].subdomian"]);
  });

  it("checks references, isolation rules and memory", () => {
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:tenants"][1].pool = "nope"; // pooled tenant → unknown project
    c["supafleet:tenants"][3].projects[0].placement = { worker: "w9" };
    c["supafleet:tenants"][5].projects[0].placement = { worker: "w1" }; // surgir is a dedicated tenant
    c["supafleet:workers"][2].serverType = "cpx12";
    expect(paths(c)).toEqual([
      "tenants[1].pool",
      "tenants[5].projects[0].placement",
      "tenants[3].projects[0].placement.worker",
      "workers[2].serverType",
    ]);
  });
});

describe("automations and Tactical RMM's node", () => {
  const messages = (config: Doc): Record<string, string> => Object.fromEntries(check(config).issues.map((i) => [i.path, i.message]));

  it("refuses an ops project without the msp-ops pack, billing without one, and a plain-http gateway", () => {
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:automations"] = { opsProject: "registry" };
    expect(messages(c)).toEqual({ "automations.opsProject": "project registry lacks the msp-ops schema pack, which holds the functions the workflows call (tenants[0].projects[1].schemaPacks)" });
    c["supafleet:automations"] = { opsProject: "ops", billing: { gatewayUrl: "http://billing.example.com/hook" } };
    expect(messages(c)).toEqual({ "automations.billing.gatewayUrl": "must be an https:// URL" });
    const d = clone(stackDoc("prod")) as Doc;
    d["supafleet:automations"] = { billing: { gatewayUrl: "https://billing.example.com/hook" } };
    expect(messages(d)).toEqual({ "automations.billing": "billing reads the msp-ops outbox: set automations.opsProject as well" });
    d["supafleet:automations"] = { opsProject: "nope" };
    expect(messages(d)).toEqual({ "automations.opsProject": 'no project is named "nope"' });
  });

  it("refuses an ARM or too small server, an old or unquoted release, clashing names and a taken address", () => {
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:rmm"] = { serverType: "cax21", address: "10.100.0.2", release: "v1.5.2", hostnames: { api: "mesh", rmm: "ops" } };
    const m = messages(c);
    expect(m["rmm.serverType"]).toBe("cax21 is ARM; Tactical RMM runs on x86 only (cx, cpx or ccx)");
    expect(m["rmm.hostnames.mesh"]).toMatch(/TRMM hostname/);
    expect(m["rmm.hostnames.rmm"]).toBe("ops is already tenants[0].projects[0].subdomain's hostname");
    expect(m["rmm.address"]).toMatch(/WireGuard address/);
    c["supafleet:rmm"] = { serverType: "cpx12", address: "10.100.0.240", release: "v1.5.2" };
    expect(messages(c)).toEqual({ "rmm.serverType": "cpx12 has less than the 4 GB Tactical RMM needs" });
    c["supafleet:rmm"] = { serverType: "cpx22", address: "10.100.0.240", release: "v0.19.1" };
    expect(messages(c)).toEqual({ "rmm.release": "must be v0.19.2 or newer: older releases send no alert webhooks" });
    c["supafleet:rmm"] = { serverType: "cpx22", address: "10.100.0.240", release: 1.5 };
    expect(messages(c)).toEqual({ "rmm.release": "must be a string, not number 1.5" });
  });
});

describe("secrets", () => {
  it("a secret in plain structured config is refused where it sits", () => {
    const c = clone(stackDoc("staging")) as Doc;
    c["supafleet:smtp"].password = "hunter2";
    expect(paths(c)).toContain("smtp.password");
  });

  it("a missing secure key names the exact command that sets it", () => {
    const input = validatorInput(stackDoc("staging"), "staging");
    const { issues } = checkFleetConfig(input);
    expect(issues).toContainEqual({
      path: "hcloud:token",
      message:
        "is missing (Hetzner Cloud API token (read & write) for the project); set it with: pulumi env set <org>/supafleet/staging pulumiConfig.hcloud:token <value> --secret (without ESC: pulumi config set --secret hcloud:token --stack staging)",
    });
    expect(issues.map((i) => i.path).sort()).toEqual(["cloudflare:apiToken", "hcloud:token", "supafleet:smtpPassword"]);
  });

  it("a secure key given in plain text is refused with the fix", () => {
    const c = clone(stackDoc("staging")) as Doc;
    c["hcloud:token"] = "plain-token";
    const { issues } = check(c);
    expect(issues).toEqual([
      expect.objectContaining({ path: "hcloud:token", message: expect.stringContaining("is set in plain text") }),
    ]);
  });

  it("a project with its own SMTP server declares its own password key", () => {
    const { secure } = check(stackDoc("prod"));
    expect(secure.map((s) => s.key)).toContain("supafleet:smtpPassword-praxis");
  });
});

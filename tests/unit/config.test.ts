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
    c["supafleet:tenants"][5].projects[0].placement = { worker: "w2" }; // surgir is a dedicated tenant (w2 has room for it: only the isolation rule fails)
    c["supafleet:workers"][2].serverType = "cpx12";
    expect(paths(c)).toEqual([
      "tenants[1].pool",
      "tenants[5].projects[0].placement",
      "tenants[3].projects[0].placement.worker",
      "workers[2].serverType",
    ]);
  });
});

describe("point-in-time recovery: backups.pitr, a project's pitr, restoreFrom.time", () => {
  const messages = (config: Doc): Record<string, string> => Object.fromEntries(check(config).issues.map((i) => [i.path, i.message]));
  /** prod with registry (tenants[0].projects[1]) restoring ops (tenants[0].projects[0]) to a moment. */
  const toMoment = (mutate: (c: Doc, ops: Doc) => void = () => {}, restoreFrom: Doc = { project: "ops", time: "2026-12-06T14:31:00Z" }): Doc => {
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:tenants"][0].projects[1].restoreFrom = restoreFrom;
    mutate(c, c["supafleet:tenants"][0].projects[0]);
    return c;
  };

  it("lets a project restore to a moment from a source of this stack that archives its WAL", () => {
    expect(messages(toMoment())).toEqual({});
    // The fleet archives nothing, but the source opts in.
    expect(messages(toMoment((c, ops) => ((c["supafleet:backups"].pitr = { enabled: false }), (ops.pitr = true))))).toEqual({});
  });

  it("refuses a moment from a source that archives none, at time, saying why", () => {
    expect(messages(toMoment((_, ops) => (ops.pitr = false)))).toEqual({
      "tenants[0].projects[1].restoreFrom.time":
        'a point-in-time restore needs the source\'s WAL archive, and "ops" archives none (tenants[0].projects[0].pitr is false); restore a snapshot instead, or turn its archiving on first',
    });
    expect(messages(toMoment((c) => (c["supafleet:backups"].pitr = { enabled: false })))).toEqual({
      "tenants[0].projects[1].restoreFrom.time":
        'a point-in-time restore needs the source\'s WAL archive, and "ops" archives none (backups.pitr.enabled is false and it does not set pitr: true); restore a snapshot instead, or turn its archiving on first',
    });
  });

  it("leaves a snapshot from a source without archiving alone, and a moment from a source it cannot see to restore.sh", () => {
    expect(messages(toMoment((_, ops) => (ops.pitr = false), { project: "ops", snapshot: "latest" }))).toEqual({});
    // Another stack's project, or a retired one: whether it archived is not in this stack file.
    expect(messages(toMoment((c) => (c["supafleet:backups"].pitr = { enabled: false }), { project: "ops", stack: "staging", time: "2026-12-06T14:31:00Z" }))).toEqual({});
    expect(messages(toMoment((c) => ((c["supafleet:backups"].pitr = { enabled: false }), (c["supafleet:backups"].retired = ["old-ops"])), { project: "old-ops", time: "2026-12-06T14:31:00Z" }))).toEqual({});
  });

  it("says nothing of the source's archive when backups itself is refused: its own problem says why", () => {
    expect(messages(toMoment((c, ops) => ((ops.pitr = false), (c["supafleet:backups"].pitr = { alertAfterMinutes: 0 }))))).toEqual({ "backups.pitr.alertAfterMinutes": "must be at least 1" });
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
    expect(messages(c)).toEqual({ "rmm.release": 'must be text, but YAML read it as the number 1.5; quote it: "1.5"' });
  });
});

describe("rules from the attack results (issue 16)", () => {
  const messages = (config: Doc, stack?: string): Record<string, string> => Object.fromEntries(check(config, stack).issues.map((i) => [i.path, i.message]));
  const prod = (): Doc => clone(stackDoc("prod")) as Doc;
  const tenantIndex = (c: Doc, slug: string): number => c["supafleet:tenants"].findIndex((t: Doc) => t.slug === slug);

  it("refuses to remove a worker that still holds projects, naming each project's placement", () => {
    const c = prod();
    const removed = c["supafleet:workers"][0];
    c["supafleet:workers"] = c["supafleet:workers"].slice(1);
    const m = messages(c);
    const held = Object.entries(m).filter(([, message]) => message.startsWith(`names worker "${removed.name}", which is not declared`));
    expect(held.length).toBeGreaterThan(0);
    for (const [path, message] of held) {
      expect(path).toMatch(/^tenants\[\d+\]\.projects\[\d+\]\.placement\.worker$/);
      expect(message).toContain("a worker that still holds projects stays until they have moved");
    }
  });

  it("refuses rotating opaque keys on a release without them, and a rotation counter that is not a whole number", () => {
    const c = prod();
    const at = c["supafleet:tenants"].findIndex((t: Doc) => (t.projects ?? []).some((p: Doc) => (p.release ?? c["supafleet:supabase"].release) === "2026.02"));
    const pi = c["supafleet:tenants"][at].projects.findIndex((p: Doc) => (p.release ?? c["supafleet:supabase"].release) === "2026.02");
    c["supafleet:tenants"][at].projects[pi].rotate = { apiKeys: 1, jwt: -1 };
    const m = messages(c);
    expect(m[`tenants[${at}].projects[${pi}].rotate.jwt`]).toBe("must be 0 or more");
    c["supafleet:tenants"][at].projects[pi].rotate = { apiKeys: 1 };
    expect(messages(c)[`tenants[${at}].projects[${pi}].rotate.apiKeys`]).toBe("release 2026.02 has no opaque API keys (sb_publishable_/sb_secret_); rotate jwt instead");
  });

  it("checks a move: movedFrom is another declared worker, and both ends are shared workers", () => {
    const c = prod();
    const at = c["supafleet:tenants"].findIndex((t: Doc) => (t.projects ?? []).some((p: Doc) => p.placement.worker !== undefined));
    const pi = c["supafleet:tenants"][at].projects.findIndex((p: Doc) => p.placement.worker !== undefined);
    const project = c["supafleet:tenants"][at].projects[pi];
    const path = `tenants[${at}].projects[${pi}].movedFrom`;
    project.movedFrom = project.placement.worker;
    expect(messages(c)[path]).toBe(`names the worker the project is placed on (${project.placement.worker}); movedFrom is the worker it leaves`);
    project.movedFrom = "w9";
    expect(messages(c)[path]).toBe('names worker "w9", which is not declared; the worker a project leaves must stay until the move has run');
    const other = c["supafleet:workers"].map((w: Doc) => w.name).find((n: string) => n !== project.placement.worker);
    project.movedFrom = other;
    expect(messages(c)[path]).toBeUndefined();
  });

  it("refuses a pooled tenant inside a dedicated tenant's project", () => {
    const c = prod();
    const pooled = c["supafleet:tenants"].find((t: Doc) => t.isolation === "pooled");
    pooled.pool = "surgir";
    const s = tenantIndex(c, "surgir");
    c["supafleet:tenants"][s].projects[0].acceptsPooledTenants = true;
    const m = messages(c);
    expect(m[`tenants[${tenantIndex(c, pooled.slug)}].pool`]).toBe('project "surgir" belongs to dedicated tenant surgir; another tenant\'s rows never live on a dedicated customer\'s server');
    expect(m[`tenants[${s}].projects[0].acceptsPooledTenants`]).toBe("a dedicated tenant's project holds only that tenant's rows; it cannot accept pooled tenants");
  });

  it("refuses secrets in plain text anywhere: by field name, and in a URL", () => {
    const c = prod();
    c["supafleet:smtp"].apiKey = "abc";
    c["supafleet:alerting"].healthchecks = { baseUrl: "https://user:hunter2@hc.example.com" };
    const issues = check(c).issues;
    expect(issues).toContainEqual({ path: "smtp.apiKey", message: expect.stringMatching(/looks like a secret in plain text/) });
    expect(issues).toContainEqual({ path: "alerting.healthchecks.baseUrl", message: "holds a password in its URL (user:password@); remove it and keep the password as a secret" });
    // Public keys say "key" too, and are not secrets.
    expect(issues.filter((i) => /publicKey/.test(i.path))).toEqual([]);
  });

  it("tells a setting kept as secure: that it is not a secret", () => {
    const input = validatorInput(stackDoc("prod"), "prod");
    const { issues } = checkFleetConfig({ ...input, secretKeys: new Set([...input.secretKeys, "supafleet:domain"]) });
    expect(issues).toContainEqual({ path: "supafleet:domain", message: expect.stringMatching(/is stored as a secret, but it is a setting, not a secret/) });
  });

  it("refuses public mail providers, an unbounded session and ranges that add up to the internet", () => {
    const c = prod();
    c["supafleet:access"] = { ...c["supafleet:access"], emailDomains: ["techhilfepro.de", "gmail.com"], sessionDuration: "720h" };
    const m = messages(c);
    expect(m["access.emailDomains[1]"]).toBe("gmail.com is a public mail provider: anyone can get an address there; list people in access.emails instead");
    expect(m["access.sessionDuration"]).toBe("must be more than 0 and at most 24h");
    const d = prod();
    d["supafleet:access"] = { ...d["supafleet:access"], webhookSources: ["0.0.0.0/1", "128.0.0.0/1"] };
    d["supafleet:operators"][0].sourceRanges = ["::/1"];
    d["supafleet:operators"][1].sourceRanges = ["8000::/1"];
    expect(messages(d)).toEqual({
      "access.webhookSources": "together cover the whole IPv4 internet; list the callers' own ranges",
      operators: "the operators' sourceRanges together cover the whole IPv6 internet; SSH must come from the operators' own ranges",
    });
  });

  it("checks database grants: a declared project, and an operator on the mesh", () => {
    const c = prod();
    c["supafleet:operators"][0].databaseAccess = ["nope"];
    c["supafleet:operators"][1].databaseAccess = ["ops"];
    delete c["supafleet:operators"][1].wireguard;
    expect(messages(c)).toEqual({
      "operators[0].databaseAccess[0]": 'names project "nope", which is not declared',
      "operators[1].databaseAccess[0]": "jonas is not on the mesh (no wireguard address), so a database grant could not be used; add operators[1].wireguard",
    });
  });

  it("refuses CIDRs with host bits set", () => {
    const c = prod();
    c["supafleet:operators"][0].sourceRanges = ["203.0.113.7/28", "2001:db8:1200::1/48"];
    const m = messages(c);
    expect(m["operators[0].sourceRanges[0]"]).toBe("203.0.113.7/28 has host bits set; did you mean 203.0.113.0/28?");
    expect(m["operators[0].sourceRanges[1]"]).toBe("2001:db8:1200::1/48 has host bits set; did you mean 2001:db8:1200::/48?");
  });

  it("refuses protect: false in prod unless a reason is given", () => {
    const c = prod();
    c["supafleet:protect"] = false;
    expect(messages(c, "prod")).toEqual({ protect: "prod must set protect: true; to run prod unprotected on purpose, say why in supafleet:unprotectedReason" });
    c["supafleet:unprotectedReason"] = "2026-12: rebuilding every server for the new image; re-enabled after";
    expect(messages(c, "prod")).toEqual({});
    expect(messages(clone(stackDoc("staging")) as Doc, "staging")).toEqual({});
  });

  it("refuses the same schema pack twice, without a stack trace", () => {
    const c = prod();
    c["supafleet:tenants"][0].projects[0].schemaPacks = ["msp-ops", "msp-ops"];
    expect(messages(c)).toEqual({ "tenants[0].projects[0].schemaPacks": "lists a schema pack twice (msp-ops); list each once" });
  });

  it("refuses SSH keys that do not decode or whose type is not the key's, and a WireGuard key used twice", () => {
    const c = prod();
    const [, blob] = c["supafleet:operators"][0].sshPublicKey.split(" ");
    c["supafleet:operators"][0].sshPublicKey = `ssh-rsa ${blob} ana`;
    c["supafleet:operators"][1].sshPublicKey = `ssh-ed25519 ${blob.slice(0, 40)} jonas`;
    const m = messages(c);
    expect(m["operators[0].sshPublicKey"]).toBe('the key inside is "ssh-ed25519", but the line says ssh-rsa');
    expect(m["operators[1].sshPublicKey"]).toMatch(/^the ed25519 key is cut short|^the key is not valid base64/);
    const d = prod();
    const key = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    d["supafleet:operators"][0].wireguard = { address: "10.100.0.250", publicKey: key };
    d["supafleet:operators"][1].wireguard = { address: "10.100.0.249", publicKey: key };
    expect(messages(d)).toEqual({ "operators[1].wireguard.publicKey": "is the same WireGuard key as operators[0].wireguard.publicKey; every peer needs its own" });
  });

  it("refuses a mesh inside Docker's address pools, which every node now pins", () => {
    const c = prod();
    c["supafleet:wireguard"].subnet = "172.20.5.0/24";
    expect(messages(c)["wireguard.subnet"]).toBe("overlaps 172.20.0.0/14, which Docker uses on every node; pick a range outside 172.16.0.0/12");
  });

  it("knows what Hetzner sells where, which images supafleet is built for, and what the master needs", () => {
    const c = prod();
    c["supafleet:hetzner"] = { ...c["supafleet:hetzner"], location: "ash", masterServerType: "cpx12", image: "centos-9" };
    expect(messages(c)["hetzner.image"]).toBe("must be an image supafleet is built for: debian-13");
    c["supafleet:hetzner"].image = "debian-13";
    const m = messages(c);
    expect(m["workers[0].serverType"]).toBe("cx33 is sold only in fsn1, nbg1, hel1, not in ash (hetzner.location); pick a cpx or ccx type");
    expect(m["hetzner.masterServerType"]).toBe("cpx12 has 2048 MiB; the master needs at least 4096 MiB for cloudflared, Uptime Kuma and n8n");
    // Storage Boxes live in Hetzner's Falkenstein and Helsinki parks; nbg1 and the cloud-only locations have none.
    for (const location of ["nbg1", "ash", "sin"]) {
      c["supafleet:backups"] = { ...c["supafleet:backups"], storageBox: { type: "bx21", location } };
      expect(messages(c)["backups.storageBox.location"], location).toBe("Storage Boxes are sold in fsn1 and hel1 only");
    }
  });

  it("refuses images whose own packages have no Docker Compose v2, saying why and what to use", () => {
    const c = prod();
    c["supafleet:hetzner"].image = "debian-12";
    expect(messages(c)).toEqual({
      "hetzner.image":
        "debian-12 has no Docker Compose v2 in its own packages (docker.io 20.10, and docker-compose is the Python 1.29); " +
        "supafleet's boot data installs Docker from Debian 13's own packages (docker.io 26, docker-compose 2.26): use debian-13",
    });
    c["supafleet:hetzner"].image = "ubuntu-24.04";
    expect(messages(c)["hetzner.image"]).toBe(
      "ubuntu-24.04 is not an image the boot data is built and tested for; supafleet's boot data installs Docker from Debian 13's own packages (docker.io 26, docker-compose 2.26): use debian-13",
    );
  });

  it("stops Pulumi.prod.yaml on debian-12 with that one path-named problem", () => {
    const c = clone(stackDoc("prod")) as Doc;
    expect(c["supafleet:hetzner"].image).toBe("debian-13");
    c["supafleet:hetzner"].image = "debian-12";
    expect(() => loadFleetConfig(withDeclaredSecrets(validatorInput(c, "prod")))).toThrow(
      new ConfigError("Pulumi.prod.yaml", [
        {
          path: "hetzner.image",
          message:
            "debian-12 has no Docker Compose v2 in its own packages (docker.io 20.10, and docker-compose is the Python 1.29); " +
            "supafleet's boot data installs Docker from Debian 13's own packages (docker.io 26, docker-compose 2.26): use debian-13",
        },
      ]).message,
    );
  });

  it("limits free text and refuses line breaks where it lands in env files and headers", () => {
    const c = prod();
    c["supafleet:smtp"].senderName = "Tech Hilfe\nBcc: everyone@example.com";
    c["supafleet:tenants"][0].name = "x".repeat(101);
    const m = messages(c);
    expect(m["smtp.senderName"]).toBe("must be one line with no control characters");
    expect(m["tenants[0].name"]).toBe("must be at most 100 characters");
  });

  it("gives clearer messages for a misspelled namespace, an unquoted release and a number that is not finite", () => {
    const c = prod();
    c["supafleat:domain"] = "example.com";
    c["supafleet:supabase"] = { release: 2026.02 };
    const m = messages(c);
    expect(m["supafleat:domain"]).toBe('"supafleat" looks like a typo of "supafleet"; did you mean supafleet:domain?');
    expect(m["supabase.release"]).toBe('must be text, but YAML read it as the number 2026.02; quote it: "2026.02"');
    // JSON cannot carry .inf: the stack file reader names it, and the validator does if it arrives as a number.
    expect(() => engineConfigFromYaml("config:\n  supafleet:backups:\n    randomizedDelayMinutes: .inf\n", "Pulumi.x.yaml")).toThrow(
      "Pulumi.x.yaml: supafleet:backups.randomizedDelayMinutes is Infinity; it must be a finite number (YAML reads .inf and .nan as numbers)",
    );
    const input = validatorInput(prod());
    const backups = { ...(input.values["supafleet:backups"] as Doc), randomizedDelayMinutes: Number.NaN };
    const { issues } = checkFleetConfig({ ...input, values: { ...input.values, "supafleet:backups": backups } });
    expect(issues).toContainEqual({ path: "backups.randomizedDelayMinutes", message: "must be a finite number, not NaN (YAML reads .inf and .nan as numbers)" });
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

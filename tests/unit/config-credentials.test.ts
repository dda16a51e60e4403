import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkFleetConfig, type StackConfigInput } from "../../src/config/load";
import { ROOT, clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Staging with its declared secrets set, plus extra keys, in plain text unless listed as secrets. */
function staging(extra: Record<string, unknown>, secrets: string[] = [], doc: Doc = stackDoc("staging")): StackConfigInput {
  const base = withDeclaredSecrets(validatorInput(doc, "staging"));
  const plain = [...base.secretKeys].filter((k) => !(k in extra));
  return { ...base, values: { ...base.values, ...extra }, secretKeys: new Set([...plain, ...secrets]) };
}
const issuesAt = (input: StackConfigInput, path: string) => checkFleetConfig(input).issues.filter((i) => i.path === path);
const setSecret = (path: string): string =>
  `pulumi env set <org>/supafleet/staging pulumiConfig.${path} <value> --secret (without ESC: pulumi config set --secret ${/[.[]/.test(path) ? "--path " : ""}${path} --stack staging)`;
const remove = (key: string): string => `pulumi env rm <org>/supafleet/staging pulumiConfig.${key} (without ESC: pulumi config rm ${key} --stack staging)`;

/** The credentials each installed provider marks secret itself (its additionalSecretOutputs). */
function providerCredentials(): string[] {
  const deps = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
  return deps
    .filter((d) => d.startsWith("@pulumi/") && d !== "@pulumi/pulumi")
    .flatMap((d) => {
      const js = readFileSync(join(ROOT, "node_modules", d, "provider.js"), "utf8");
      const names = /additionalSecretOutputs: \[([^\]]*)\]/.exec(js)?.[1]?.match(/"[^"]+"/g) ?? [];
      return names.map((n) => `${d.slice("@pulumi/".length)}:${n.slice(1, -1)}`);
    });
}

describe("provider credentials in a stack file", () => {
  it("refuses every credential the installed providers take, in plain text, with its path and the command that stores it as a secret", () => {
    const keys = providerCredentials();
    expect(keys).toEqual(expect.arrayContaining(["cloudflare:apiKey", "cloudflare:apiToken", "cloudflare:apiUserServiceKey", "hcloud:token"]));
    for (const key of keys) {
      const found = issuesAt(staging({ [key]: "plain-credential" }), key);
      expect(found, key).toHaveLength(1);
      expect(found[0]!.message, key).toMatch(/^is set in plain text; remove it \(from the ESC environment, or pulumi config rm \S+ --stack staging\) and set it again as a secret: /);
      expect(found[0]!.message, key).toContain(setSecret(key));
      expect(issuesAt(staging({ [key]: "kept-as-secret" }, [key]), key), key).toEqual([]);
    }
  });

  it("says that Cloudflare's global API key is not what supafleet signs in with", () => {
    const [issue] = issuesAt(staging({ "cloudflare:apiKey": "0123456789abcdef0123456789abcdef01234" }), "cloudflare:apiKey");
    expect(issue!.message).toBe(
      `is set in plain text; remove it (from the ESC environment, or pulumi config rm cloudflare:apiKey --stack staging) and set it again as a secret: ${setSecret("cloudflare:apiKey")}; supafleet signs in with cloudflare:apiToken, and Cloudflare's provider takes only one of apiKey, apiToken and apiUserServiceKey`,
    );
  });

  it("refuses any provider's secret-named key in plain text, and leaves its settings and public keys alone", () => {
    const namespace = fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/).filter((n) => n !== "supafleet" && n !== "supafleat");
    const secretName = fc.tuple(fc.constantFrom("", "api", "registry", "master"), fc.constantFrom("Password", "Token", "Secret", "Key", "password", "token", "accessKey"));
    const setting = fc.constantFrom("email", "endpoint", "region", "publicKey", "baseUrl", "pollInterval");
    fc.assert(
      fc.property(namespace, secretName, setting, fc.string({ minLength: 1 }), (ns, [pre, post], name, value) => {
        const key = `${ns}:${pre}${post}`;
        expect(issuesAt(staging({ [key]: value }), key).map((i) => i.message)).toEqual([expect.stringContaining(setSecret(key))]);
        expect(issuesAt(staging({ [`${ns}:${name}`]: value }), `${ns}:${name}`)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it("refuses a credential inside a provider's structured value at its path, but not a secure: leaf", () => {
    const proxy = { url: "http://proxy.example.com:3128", username: "u", password: "hunter2" };
    expect(issuesAt(staging({ "tls:proxy": proxy }), "tls:proxy.password")).toEqual([expect.objectContaining({ message: expect.stringContaining(setSecret("tls:proxy.password")) })]);
    expect(setSecret("tls:proxy.password")).toContain("pulumi config set --secret --path tls:proxy.password --stack staging");
    const auth = [{ address: "ghcr.io", username: "bot", password: "hunter2" }];
    expect(issuesAt(staging({ "docker:registryAuth": auth }), "docker:registryAuth[0].password")).toHaveLength(1);
    expect(issuesAt(staging({ "postgresql:password": "hunter2" }), "postgresql:password")).toHaveLength(1);
    expect(issuesAt(staging({ "hcloud:endpoint": "https://user:pw@api.example.com/v1" }), "hcloud:endpoint")).toHaveLength(1);
    const { issues } = checkFleetConfig(staging({ "tls:proxy": { ...proxy, password: { secure: "AAABAKp0c2Vj" } }, "tls:other": { token: "" } }));
    expect(issues).toEqual([]);
  });
});

describe("secure keys that nothing reads", () => {
  const projects = "ops, registry, smarteros";
  const key = "supafleet:smtpPassword-oldproject";

  it("refuses a project's SMTP password for a project that is not declared, in plain text or as a secret, with the command that removes it", () => {
    const why = `names project "oldproject", but no project of that name is declared (projects: ${projects}); remove it: ${remove(key)}`;
    expect(issuesAt(staging({ [key]: "hunter2" }), key)).toEqual([{ path: key, message: `is set in plain text, and ${why}` }]);
    expect(issuesAt(staging({ [key]: "hunter2" }, [key]), key)).toEqual([{ path: key, message: why }]);
  });

  it("refuses any per-project secret whose project is not declared, or has no setting that reads it", () => {
    const declared = projects.split(", ");
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,23}$/), fc.boolean(), (project, secret) => {
        const k = `supafleet:smtpPassword-${project}`;
        const found = issuesAt(staging({ [k]: "hunter2" }, secret ? [k] : []), k);
        const why = declared.includes(project) ? `has no smtp of its own` : `no project of that name is declared (projects: ${projects})`;
        expect(found).toEqual([{ path: k, message: expect.stringContaining(why) }]);
        expect(found[0]!.message.startsWith("is set in plain text")).toBe(!secret);
        expect(found[0]!.message).toContain(remove(k));
      }),
      { numRuns: 60 },
    );
  });

  it("keeps a needed project secret, refuses it in plain text, and judges no project while the tenants are refused", () => {
    const prod = withDeclaredSecrets(validatorInput(stackDoc("prod"), "prod"));
    expect(checkFleetConfig(prod).issues).toEqual([]);
    const praxis = "supafleet:smtpPassword-praxis";
    const plain = checkFleetConfig({ ...prod, secretKeys: new Set([...prod.secretKeys].filter((k) => k !== praxis)) }).issues;
    expect(plain).toEqual([expect.objectContaining({ path: praxis, message: expect.stringMatching(/^is set in plain text; remove it/) })]);
    const broken = clone(stackDoc("staging")) as Doc;
    broken["supafleet:tenants"][0].plan = "free";
    expect(issuesAt(staging({ [key]: "hunter2" }, [key], broken), key)).toEqual([]);
    expect(issuesAt(staging({ [key]: "hunter2" }, [], broken), key)).toEqual([expect.objectContaining({ message: expect.stringContaining(setSecret(key)) })]);
  });

  it("refuses the program's other secure keys in plain text even when the config does not need them", () => {
    for (const k of ["supafleet:telegramBotToken", "supafleet:healthchecksPingKey", "supafleet:backupCopyAccessKeyId", "supafleet:backupCopySecretAccessKey"]) {
      expect(issuesAt(staging({ [k]: "plain" }), k), k).toEqual([expect.objectContaining({ message: expect.stringContaining(setSecret(k)) })]);
      expect(issuesAt(staging({ [k]: "kept" }, [k]), k), k).toEqual([]);
    }
  });
});

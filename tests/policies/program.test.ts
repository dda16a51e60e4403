import { describe, expect, it } from "vitest";
import type { ResourceNode, Snapshot } from "../../src/offline/run";
import { policyConfigFor } from "../../src/offline/policyConfig";
import type { FleetConfig } from "../../src/config/schema";
import { runDoc } from "../helpers/offline";
import { packConfig, runPack } from "../helpers/policyPack";
import { check, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */

describe("a stack whose mesh listens on another port", () => {
  it("passes with the pack config derived from its stack file, and fails with another stack's", async () => {
    const doc = stackDoc("staging") as Record<string, any>;
    doc["supafleet:wireguard"] = { ...doc["supafleet:wireguard"], port: 41820 };
    const snapshot = await runDoc("staging", doc);
    expect(snapshot.error).toBeUndefined();
    const derived = JSON.parse(JSON.stringify(policyConfigFor(check(doc).config as FleetConfig)));
    expect(derived["firewall-inbound-only-wireguard-and-ssh"]).toEqual({ wireguardPort: 41820 });
    expect((await runPack(snapshot.resources, derived)).violations).toEqual([]);
    const stale = (await runPack(snapshot.resources, packConfig("staging"))).violations.map((v) => v.policy);
    expect(stale).toContain("firewall-inbound-only-wireguard-and-ssh");
  });
});

describe.each(["staging", "prod"])("the real %s program against the policy pack", (stack) => {
  let snapshot: Snapshot;

  it("renders", async () => {
    snapshot = await runDoc(stack, stackDoc(stack));
    expect(snapshot.error).toBeUndefined();
  });

  it("the committed pack config is the one derived from the stack file", () => {
    expect(packConfig(stack)).toEqual(JSON.parse(JSON.stringify(policyConfigFor(check(stackDoc(stack)).config as FleetConfig))));
  });

  it("has no violation and needs no remediation", async () => {
    const result = await runPack(snapshot.resources, packConfig(stack));
    expect(result.violations).toEqual([]);
    expect(result.remediated).toEqual([]);
  });

  describe("catches mutations of the program's output", () => {
    const mutate = (change: (rs: ResourceNode[]) => ResourceNode[]): ResourceNode[] => change(structuredClone(snapshot.resources));
    const policiesFired = async (rs: ResourceNode[]): Promise<string[]> => [...new Set((await runPack(rs, packConfig(stack))).violations.map((v) => v.policy))].sort();

    it("a public 5432 rule", async () => {
      const rs = mutate((all) => {
        const firewall = all.find((r) => r.name === "w1-firewall")!;
        (firewall.inputs.rules as any[]).push({ direction: "in", protocol: "tcp", port: "5432", sourceIps: ["0.0.0.0/0"] });
        return all;
      });
      expect(await policiesFired(rs)).toEqual(["firewall-inbound-only-wireguard-and-ssh", "firewall-no-service-ports"]);
    });

    it("Tactical RMM's web ports on any node but the rmm node", async () => {
      const rs = mutate((all) => {
        const firewall = all.find((r) => r.name === "w1-firewall")!;
        (firewall.inputs.rules as any[]).push({ direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"] });
        return all;
      });
      expect(await policiesFired(rs)).toEqual(["firewall-inbound-only-wireguard-and-ssh"]);
    });

    it("SSH opened to the world", async () => {
      const rs = mutate((all) => {
        const firewall = all.find((r) => r.name === "master-firewall")!;
        (firewall.inputs.rules as any[]).find((x) => x.port === "22").sourceIps.push("0.0.0.0/0");
        return all;
      });
      expect(await policiesFired(rs)).toEqual(["firewall-ssh-from-operators"]);
    });

    it("an unpinned image in a project's compose file", async () => {
      const rs = mutate((all) => {
        const deploy = all.find((r) => r.name === "ops-deploy")!;
        deploy.inputs.stdin = (deploy.inputs.stdin as string).replace(/image: supabase\/gotrue:\S+/, "image: supabase/gotrue:latest");
        return all;
      });
      const result = await runPack(rs, packConfig(stack));
      expect(result.violations.map((v) => v.message)).toEqual(['ops-deploy: image "supabase/gotrue:latest" uses the latest tag; pin an explicit version tag or a digest.']);
    });

    it("an unpinned image in a Studio's compose file on the master, inside the files payload", async () => {
      const rs = mutate((all) => {
        const studio = all.find((r) => r.name === "studios-ops")!;
        studio.inputs.stdin = (studio.inputs.stdin as string).replace(/image: supabase\/studio:[^\\\s]+/, "image: supabase/studio");
        return all;
      });
      const result = await runPack(rs, packConfig(stack));
      expect(result.violations.map((v) => v.message)).toEqual(['studios-ops: image "supabase/studio" has no tag; pin an explicit version tag or a digest.']);
    });

    it("a project without backups", async () => {
      const rs = mutate((all) => all.filter((r) => !(r.type === "supafleet:index:BackupSchedule" && r.name === "ops-backup")));
      expect(await policiesFired(rs)).toEqual(["every-project-backed-up"]);
    });

    it("a Studio hostname without Access, and a catch-all moved up", async () => {
      const rs = mutate((all) => {
        const app = all.find((r) => r.name === "edge-app-ops-studio")!;
        const config = all.find((r) => r.name === "edge-config")!;
        const ingresses = (config.inputs.config as any).ingresses as any[];
        ingresses.unshift(ingresses.pop());
        (config.outputs.config as any).ingresses = ingresses;
        return all.filter((r) => r !== app);
      });
      expect(await policiesFired(rs)).toEqual(["access-for-protected-hostnames", "tunnel-ends-with-catch-all"]);
    });

    it("a password in plain text is made secret by remediation", async () => {
      const rs = mutate((all) => {
        const box = all.find((r) => r.type === "hcloud:index/storageBox:StorageBox")!;
        box.inputs.password = "plain-text";
        return all;
      });
      expect((await runPack(rs, packConfig(stack))).remediated).toEqual([{ policy: "secret-inputs-are-secret", resource: "hcloud:index/storageBox:StorageBox::backups-storage-box" }]);
    });

    if (stack === "prod") {
      it("an unprotected prod server", async () => {
        const rs = mutate((all) => {
          all.find((r) => r.name === "w2-server")!.inputs.deleteProtection = false;
          return all;
        });
        expect(await policiesFired(rs)).toEqual(["server-protected-in-prod"]);
      });
    }
  });
});

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bootCloudConfig } from "../../src/render/bootData";
import { bootMasterSets, masterRuleset, workerRuleset } from "../../src/render/hostFirewall";

const dir = mkdtempSync(join(tmpdir(), "supafleet-boot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const worker = bootCloudConfig({ hostname: "t-w1", role: "worker", wireguardConf: "[Interface]\n", firewall: workerRuleset({ subnet: "10.100.0.0/24" }) });
const master = bootCloudConfig({
  hostname: "t-master",
  role: "master",
  wireguardConf: "[Interface]\n",
  firewall: masterRuleset({ wireguardPort: 51820, allowWorkerToWorker: false, sets: bootMasterSets(["198.51.100.0/24"]) }),
});

describe("boot order", () => {
  it("loads the host firewall in bootcmd, before packages are installed and any daemon starts", () => {
    for (const cc of [worker, master]) {
      expect(cc.bootcmd).toHaveLength(1);
      // Run the boot command as cloud-init would, in a network namespace of its own, and read back what it loaded.
      const r = spawnSync("unshare", ["-n", "sh", "-c", `${cc.bootcmd![0]![2]} && nft list table inet supafleet`], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain("type filter hook input priority filter; policy drop;");
      expect(r.stdout).toContain('iifname "wg0"');
    }
    const r = spawnSync("unshare", ["-n", "sh", "-c", `${master.bootcmd![0]![2]} && nft list set inet supafleet ssh_sources4`], { encoding: "utf8" });
    expect(r.stdout).toContain("198.51.100.0/24");
    expect(r.stdout).not.toContain("0.0.0.0/0");
  });

  it("restarts fail2ban after its jail file is written, and the jail Debian's fail2ban reads is sshd on the journal with nftables bans", () => {
    const run = master.runcmd.map((c) => c.join(" "));
    expect(run.indexOf("systemctl restart fail2ban")).toBeGreaterThan(-1);
    expect(run).not.toContain("systemctl enable --now fail2ban");
    const jail = master.write_files.find((f) => f.path === "/etc/fail2ban/jail.d/sshd.local")!;
    expect(jail.defer).toBe(true);
    expect(master.packages).toEqual(expect.arrayContaining(["fail2ban", "python3-systemd"]));
    // Debian's own fail2ban, with its stock config plus the file boot data writes.
    const etc = join(dir, "fail2ban");
    cpSync("/etc/fail2ban", etc, { recursive: true });
    writeFileSync(join(etc, "jail.d/sshd.local"), jail.content);
    const test = spawnSync("fail2ban-client", ["-c", etc, "-t"], { encoding: "utf8" });
    expect(test.status, test.stderr).toBe(0);
    const dump = spawnSync("fail2ban-client", ["-c", etc, "-d"], { encoding: "utf8" }).stdout;
    expect(dump).toContain("['add', 'sshd', 'systemd']");
    expect(dump).toContain("['set', 'sshd', 'maxretry', 5]");
    expect(dump).toMatch(/\['set', 'sshd', 'addaction', 'nftables-multiport'\]/);
  });
});

import { renderCloudConfigWithinLimit, type CloudConfig, type WriteFile } from "./cloudConfig";
import { renderNftFile, type NftTable } from "./nftables";
import { renderScript } from "./script";
import { fillTemplate, template } from "./templates";
import { DOCKER_ADDRESS_POOLS } from "../model/net";


/** `rmm` is Tactical RMM's host: its installer wants a fresh server, so it gets no Docker and no backup tools. */
export type NodeRole = "master" | "worker" | "rmm";

export interface BootDataArgs {
  readonly hostname: string;
  readonly role: NodeRole;
  /** The full wg-quick config, including this node's private key. */
  readonly wireguardConf: string;
  readonly firewall: NftTable;
}

// fail2ban's sshd jail reads the journal (Debian has no auth.log by default): python3-systemd is its backend.
const BASE_PACKAGES = ["ca-certificates", "curl", "jq", "nftables", "wireguard-tools", "fail2ban", "python3-systemd", "unattended-upgrades"] as const;
// Docker from Debian 13's own packages: docker.io (the engine) only recommends docker-cli, so it is named;
// docker-compose is Compose v2 (2.26), the CLI plugin behind every `docker compose` in templates/.
const FLEET_PACKAGES = ["docker.io", "docker-cli", "docker-compose", "restic", "sshpass"] as const;

export const NODE_ROLES: readonly NodeRole[] = ["master", "worker", "rmm"];

/**
 * The apt packages cloud-init installs on a node of this role, from the image's
 * own archive and with its recommends (cloud-init's default). The boot-image test
 * installs exactly these, offline, on a tree of every image the config allows.
 */
export function bootPackages(role: NodeRole): string[] {
  return [...BASE_PACKAGES, ...(role !== "rmm" ? FLEET_PACKAGES : [])];
}


/** Docker's own defaults: a port published without an address binds to loopback, never 0.0.0.0. */
export const DOCKER_DAEMON = {
  ip: "127.0.0.1",
  bip: "172.17.0.1/16",
  "default-address-pools": [{ base: DOCKER_ADDRESS_POOLS[1], size: 24 }],
  "live-restore": true,
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "5" },
} as const;

const file = (path: string, content: string, permissions = "0644"): WriteFile => ({ path, content, permissions, owner: "root:root", defer: true });

/**
 * Boot data is rendered once per server and must depend only on things that
 * live as long as the server (its own keys, the master's pinned address, the
 * subnet). Anything that changes later is pushed over SSH instead.
 */
export function bootCloudConfig(a: BootDataArgs): CloudConfig {
  const master = a.role === "master";
  const docker = a.role !== "rmm";
  const dockerFiles = docker
    ? [
        file("/etc/docker/daemon.json", JSON.stringify(DOCKER_DAEMON, null, 2) + "\n"),
        file("/etc/systemd/system/docker.service.d/10-after-wireguard.conf", template("host/docker-after-wireguard.conf")),
      ]
    : [];
  return {
    hostname: a.hostname,
    preserve_hostname: false,
    ssh_pwauth: false,
    disable_root: false,
    package_update: true,
    package_upgrade: true,
    packages: bootPackages(a.role),
    write_files: [
      file("/etc/ssh/sshd_config.d/10-supafleet.conf", fillTemplate("host/sshd-hardening.conf", { allowTcpForwarding: master ? "yes" : "no" })),
      file("/etc/fail2ban/jail.d/sshd.local", template("host/fail2ban-sshd.local")),
      file("/etc/apt/apt.conf.d/20auto-upgrades", template("host/apt-auto-upgrades.conf")),
      file("/etc/apt/apt.conf.d/52supafleet-unattended-upgrades", template("host/apt-unattended-upgrades.conf")),
      file("/etc/sysctl.d/60-supafleet.conf", template(master ? "host/sysctl-hub.conf" : "host/sysctl-node.conf")),
      ...dockerFiles,
      file("/etc/nftables.conf", template("host/nftables.conf"), "0755"),
      file("/etc/nftables.d/supafleet.nft", renderNftFile(a.firewall), "0600"),
      file("/etc/wireguard/wg0.conf", a.wireguardConf, "0600"),
    ],
    // Before any package is installed and any daemon starts, the firewall is up, where the image has nft.
    bootcmd: [["sh", "-c", `command -v nft >/dev/null 2>&1 && printf '%s' '${Buffer.from(renderNftFile(a.firewall)).toString("base64")}' | base64 -d | nft -f - || true`]],
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["sysctl", "--system"],
      ["systemctl", "enable", "--now", "nftables"],
      ["systemctl", "enable", "--now", "wg-quick@wg0"],
      ...(docker ? [["systemctl", "restart", "docker"]] : []),
      // dpkg started fail2ban before its jail file was written: a restart is what makes it read the jail.
      ["systemctl", "enable", "fail2ban"],
      ["systemctl", "restart", "fail2ban"],
      ["systemctl", "restart", "ssh"],
    ],
  };
}

export function renderBootData(a: BootDataArgs): string {
  return renderCloudConfigWithinLimit(bootCloudConfig(a));
}

/**
 * What every node's ready command checks once boot data has run: the sshd
 * jail is really active (not only fail2ban running), then WireGuard, by what
 * `wg show wg0` answers: the hub's listen-port, a spoke's latest-handshakes.
 */
export function nodeReadyCommand(wgShow: "listen-port" | "latest-handshakes"): string {
  return renderScript("host/node-ready.sh", { WG_SHOW: wgShow });
}

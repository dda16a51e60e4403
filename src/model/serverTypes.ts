/**
 * Hetzner Cloud server types that can be ordered today (the cx22/cpx11 generation
 * was withdrawn on 2025-10-16). Memory is what the placement check budgets against;
 * prices are deliberately absent because they change (docs/sizing.md).
 */
export interface ServerType {
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly arch: "x86" | "arm";
}

const gib = (n: number): number => n * 1024;

export const SERVER_TYPES: Readonly<Record<string, ServerType>> = {
  cx23: { memoryMiB: gib(4), vcpus: 2, arch: "x86" },
  cx33: { memoryMiB: gib(8), vcpus: 4, arch: "x86" },
  cx43: { memoryMiB: gib(16), vcpus: 8, arch: "x86" },
  cx53: { memoryMiB: gib(32), vcpus: 16, arch: "x86" },
  cpx12: { memoryMiB: gib(2), vcpus: 1, arch: "x86" },
  cpx22: { memoryMiB: gib(4), vcpus: 2, arch: "x86" },
  cpx32: { memoryMiB: gib(8), vcpus: 4, arch: "x86" },
  cpx42: { memoryMiB: gib(16), vcpus: 8, arch: "x86" },
  cpx52: { memoryMiB: gib(24), vcpus: 12, arch: "x86" },
  cpx62: { memoryMiB: gib(32), vcpus: 16, arch: "x86" },
  cax11: { memoryMiB: gib(4), vcpus: 2, arch: "arm" },
  cax21: { memoryMiB: gib(8), vcpus: 4, arch: "arm" },
  cax31: { memoryMiB: gib(16), vcpus: 8, arch: "arm" },
  cax41: { memoryMiB: gib(32), vcpus: 16, arch: "arm" },
  ccx13: { memoryMiB: gib(8), vcpus: 2, arch: "x86" },
  ccx23: { memoryMiB: gib(16), vcpus: 4, arch: "x86" },
  ccx33: { memoryMiB: gib(32), vcpus: 8, arch: "x86" },
  ccx43: { memoryMiB: gib(64), vcpus: 16, arch: "x86" },
  ccx53: { memoryMiB: gib(128), vcpus: 32, arch: "x86" },
  ccx63: { memoryMiB: gib(192), vcpus: 48, arch: "x86" },
};

export const SERVER_TYPE_NAMES = Object.keys(SERVER_TYPES) as [string, ...string[]];

export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;
/** Where the cost-optimised cx types are sold: Hetzner's EU locations only. */
export const CX_LOCATIONS: ReadonlySet<string> = new Set(["fsn1", "nbg1", "hel1"]);

/** The images the boot data and scripts are written for (apt, systemd, nftables, wireguard-tools). */
export const IMAGES = ["debian-12", "debian-13", "ubuntu-22.04", "ubuntu-24.04"] as const;

export const STORAGE_BOX_TYPES = ["bx11", "bx21", "bx31", "bx41"] as const;
/**
 * Where Hetzner sells Storage Boxes: its Falkenstein and Helsinki parks (the
 * locations in the Storage Box API's type prices), never the cloud-only ash,
 * hil and sin. A box elsewhere than its workers is fine: restic goes over the internet.
 */
export const STORAGE_BOX_LOCATIONS = ["fsn1", "hel1"] as const;

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

/**
 * The images the boot data can serve, each with the Debian suite it is: the boot
 * data installs Docker from the image's own packages (docker.io, docker-cli and
 * docker-compose), and only Debian 13 has Compose v2 there (docker.io 26.1.5,
 * docker-compose 2.26.1). scripts/lab/build-boot-rootfs.sh builds a tree of each
 * suite, and tests/integration/boot-image.test.ts installs the boot data's packages on it.
 */
export const IMAGE_SUITES = { "debian-13": "trixie" } as const;
export type Image = keyof typeof IMAGE_SUITES;
export const IMAGES = Object.keys(IMAGE_SUITES) as [Image, ...Image[]];

/** Hetzner images the boot data cannot serve, with why: the config refuses them with this reason. */
export const REFUSED_IMAGES: Readonly<Record<string, string>> = {
  "debian-12": "has no Docker Compose v2 in its own packages (docker.io 20.10, and docker-compose is the Python 1.29)",
  "ubuntu-22.04": "is not an image the boot data is built and tested for",
  "ubuntu-24.04": "is not an image the boot data is built and tested for",
};

/** The config's message for an image that is not in IMAGES. */
export function imageProblem(image: unknown): string {
  const allowed = IMAGES.join(", ");
  const reason = typeof image === "string" && Object.hasOwn(REFUSED_IMAGES, image) ? REFUSED_IMAGES[image] : undefined;
  if (reason === undefined) return `must be an image supafleet is built for: ${allowed}`;
  return `${image} ${reason}; supafleet's boot data installs Docker from Debian 13's own packages (docker.io 26, docker-compose 2.26): use ${allowed}`;
}

export const STORAGE_BOX_TYPES = ["bx11", "bx21", "bx31", "bx41"] as const;
/**
 * Where Hetzner sells Storage Boxes: its Falkenstein and Helsinki parks (the
 * locations in the Storage Box API's type prices), never the cloud-only ash,
 * hil and sin. A box elsewhere than its workers is fine: restic goes over the internet.
 */
export const STORAGE_BOX_LOCATIONS = ["fsn1", "hel1"] as const;

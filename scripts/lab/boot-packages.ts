/**
 * Prints, one line per image the config schema allows, the image, its Debian
 * suite and every apt package the boot data names for any role (sorted, once
 * each): what scripts/lab/build-boot-rootfs.sh builds and pre-downloads.
 *
 *   npx tsx scripts/lab/boot-packages.ts   →   debian-13 trixie ca-certificates curl …
 */
import { IMAGE_SUITES, IMAGES } from "../../src/model/serverTypes";
import { bootPackages, NODE_ROLES } from "../../src/render/bootData";

/** Every package any role's boot data installs, sorted as `LC_ALL=C sort -u` would. */
export function allBootPackages(): string[] {
  return [...new Set(NODE_ROLES.flatMap(bootPackages))].sort();
}

export function bootPackageLines(): string[] {
  return IMAGES.map((image) => [image, IMAGE_SUITES[image], ...allBootPackages()].join(" "));
}

if (require.main === module) process.stdout.write(bootPackageLines().join("\n") + "\n");

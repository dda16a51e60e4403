import type { ResourceValidationPolicy } from "@pulumi/policy";

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** Why an image reference is not pinned, or undefined when it is. */
export function unpinned(image: string): string | undefined {
  if (DIGEST.test(image)) return undefined;
  const lastSlash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon <= lastSlash) return "has no tag";
  const tag = image.slice(colon + 1);
  if (tag === "" || tag === "latest") return "uses the latest tag";
  return undefined;
}

/** `image:` lines of a Compose file carried as text, e.g. a deploy command's stdin. */
const IMAGE_LINE = /^\s*image:\s*["']?([^\s"'#]+)/gm;

/** A JSON payload carried as text (install-files' stdin holds whole files as strings), or undefined. */
function jsonIn(text: string): unknown {
  if (!/^\s*[{[]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Every container image reference in a resource's inputs: `image` fields at
 * any depth, `image:` lines in text (Compose files sent by commands, also inside
 * a JSON payload of files), and a
 * RemoteImage's name. A Hetzner server's `image` is an OS image (debian-13),
 * not a container, and is left alone.
 */
function imagesIn(type: string, props: Record<string, unknown>): string[] {
  if (type.startsWith("hcloud:")) return [];
  const found: string[] = [];
  const walk = (v: unknown): void => {
    const json = typeof v === "string" ? jsonIn(v) : undefined;
    if (json !== undefined) walk(json);
    else if (typeof v === "string") for (const m of v.matchAll(IMAGE_LINE)) found.push(m[1]!);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "image" && typeof x === "string") found.push(x);
        else walk(x);
      }
    }
  };
  walk(props);
  if (type === "docker:index/remoteImage:RemoteImage" && typeof props.name === "string") found.push(props.name);
  return found;
}

export const imagesPinned: ResourceValidationPolicy = {
  name: "container-images-pinned",
  description: "Every container image is pinned by an explicit tag or a digest; latest and no tag are refused.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const image of imagesIn(args.type, args.props)) {
      const why = unpinned(image);
      if (why !== undefined) report(`${args.name}: image "${image}" ${why}; pin an explicit version tag or a digest.`);
    }
  },
};

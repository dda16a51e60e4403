import { gzipSync } from "node:zlib";
import { toYaml } from "./yaml";

/** The subset of cloud-config that supafleet uses, typed so that a typo cannot reach a server. */
export interface WriteFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
  readonly owner?: string;
  readonly encoding?: "gz+b64";
  /** Write after packages are installed, so a package cannot overwrite it. */
  readonly defer?: boolean;
}

export interface CloudConfig {
  readonly hostname: string;
  readonly preserve_hostname: false;
  readonly ssh_pwauth: false;
  readonly disable_root: false;
  readonly package_update: true;
  readonly package_upgrade: true;
  readonly packages: readonly string[];
  readonly write_files: readonly WriteFile[];
  /** Runs at every boot, before packages are installed. */
  readonly bootcmd?: readonly (readonly string[])[];
  readonly runcmd: readonly (readonly string[])[];
}

/** Hetzner refuses user_data above 32 KiB. */
export const USER_DATA_LIMIT = 32 * 1024;

export function renderCloudConfig(c: CloudConfig): string {
  return `#cloud-config\n${toYaml(c)}`;
}

/**
 * Renders the document, compressing the largest files first until it fits the
 * user_data limit. Compression is deterministic (no timestamp in gzip output
 * from zlib), so the same input always renders the same bytes.
 */
export function renderCloudConfigWithinLimit(c: CloudConfig, limit = USER_DATA_LIMIT): string {
  let doc = renderCloudConfig(c);
  const bySize = [...c.write_files].sort((a, b) => b.content.length - a.content.length);
  const files = new Map(c.write_files.map((f) => [f.path, f]));
  for (const f of bySize) {
    if (Buffer.byteLength(doc, "utf8") <= limit) break;
    files.set(f.path, { ...f, encoding: "gz+b64", content: gzipSync(Buffer.from(f.content, "utf8"), { level: 9 }).toString("base64") });
    doc = renderCloudConfig({ ...c, write_files: c.write_files.map((w) => files.get(w.path)!) });
  }
  const size = Buffer.byteLength(doc, "utf8");
  if (size > limit) throw new Error(`boot data for ${c.hostname} is ${size} bytes even compressed; Hetzner's limit is ${limit}`);
  return doc;
}

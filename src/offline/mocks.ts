import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Deterministic stand-ins for what the providers would return. Every value is
 * a function of the resource's type and name, so two runs of the same config
 * agree byte for byte and a diff shows only real changes.
 */

const digest = (seed: string): Buffer => createHash("sha256").update(seed).digest();

/** `length` bytes derived from a seed. */
export function bytesFrom(seed: string, length: number): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 32 < length; i++) chunks.push(digest(`${seed}#${i}`));
  return Buffer.concat(chunks).subarray(0, length);
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function passwordFrom(seed: string, length: number): string {
  // A fixed prefix marks mock secrets, so a leak in the render is easy to spot by eye too.
  const body = [...bytesFrom(seed, length)].map((b) => ALNUM[b % ALNUM.length]).join("");
  return `Mk${body}`.slice(0, Math.max(length, 2));
}

const smallInt = (seed: string, mod: number): number => digest(seed).readUInt32BE(0) % mod;
const mockId = (seed: string): string => String(100000 + smallInt(seed, 900000));
const uuidFrom = (seed: string): string => {
  const h = digest(seed).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** The id the mock gave it; references between resources use it. */
  readonly id?: string;
  readonly inputs: Record<string, unknown>;
}

/** Mocks that also remember every registration and every secret they hand out. */
export class FleetMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  readonly secretValues = new Set<string>();

  /** `stackOutputs` answers a StackReference: the outputs another stack of this project would have. */
  constructor(private readonly stackOutputs: (stack: string) => Record<string, unknown> = () => ({})) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    const custom = args.custom ?? true;
    // A random resource's keepers are what rotation raises: a new keeper is a new value, as it would be for real.
    const keepers = (args.inputs as { keepers?: unknown }).keepers;
    const seed = `${args.type}::${args.name}${keepers !== undefined ? `::${JSON.stringify(keepers)}` : ""}`;
    const isTunnel = args.type === "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared";
    const id = custom ? (isTunnel ? uuidFrom(seed) : mockId(seed)) : undefined;
    this.resources.push({ type: args.type, name: args.name, custom, inputs: args.inputs as Record<string, unknown>, ...(id !== undefined ? { id } : {}) });
    return { id, state: { ...args.inputs, ...this.outputsFor(args, seed, id ?? "") } };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    if (args.token === "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken") {
      const token = Buffer.from(JSON.stringify({ a: args.inputs.accountId, t: args.inputs.tunnelId, s: passwordFrom(`token:${args.inputs.tunnelId}`, 32) })).toString("base64");
      return { ...args.inputs, token: this.secret(token) };
    }
    return args.inputs as Record<string, unknown>;
  }

  private secret(value: string): string {
    this.secretValues.add(value);
    return value;
  }

  private outputsFor(args: pulumi.runtime.MockResourceArgs, seed: string, id: string): Record<string, unknown> {
    const inputs = args.inputs as Record<string, unknown>;
    switch (args.type) {
      case "random:index/randomPassword:RandomPassword": {
        const result = this.secret(passwordFrom(seed, Number(inputs.length ?? 16)));
        return { result, bcryptHash: `$2a$10$${passwordFrom(`${seed}:bcrypt`, 53)}` };
      }
      case "random:index/randomBytes:RandomBytes": {
        const bytes = bytesFrom(seed, Number(inputs.length ?? 32));
        return { base64: this.secret(bytes.toString("base64")), hex: this.secret(bytes.toString("hex")) };
      }
      case "tls:index/privateKey:PrivateKey": {
        // Plainly a placeholder, not key material: nothing offline parses it, and a scanner must not mistake it for a leak.
        const key = this.secret(`offline-mock-ssh-key:${bytesFrom(seed, 48).toString("base64")}`);
        return { privateKeyOpenssh: key, privateKeyPem: key, publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${bytesFrom(`${seed}:pub`, 32).toString("base64")} deploy\n` };
      }
      case "hcloud:index/server:Server":
        return { ipv4Address: `203.0.113.${10 + smallInt(seed, 240)}`, ipv6Address: `2001:db8:${smallInt(seed, 65535).toString(16)}::1`, status: "running" };
      case "hcloud:index/primaryIp:PrimaryIp":
        return { ipAddress: `198.51.100.${10 + smallInt(seed, 240)}` };
      case "hcloud:index/storageBox:StorageBox":
        return { server: `u${id}.your-storagebox.de`, username: `u${id}` };
      case "hcloud:index/storageBoxSubaccount:StorageBoxSubaccount": {
        const user = `u${mockId(String(inputs.storageBoxId))}-sub${1 + smallInt(seed, 99)}`;
        return { username: user, server: `${user}.your-storagebox.de` };
      }
      case "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared":
        return { accountTag: inputs.accountId, status: "healthy" };
      case "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication":
        return { aud: digest(`${seed}:aud`).toString("hex") };
      case "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken":
        return { clientId: `${digest(`${seed}:id`).toString("hex").slice(0, 32)}.access`, clientSecret: this.secret(digest(`${seed}:secret`).toString("hex")) };
      case "command:remote:Command":
        return { stdout: "", stderr: "" };
      case "pulumi:pulumi:StackReference": {
        // Named <org>/<project>/<stack>; its values are placeholders, marked as secrets.
        const outputs = this.stackOutputs(String(inputs.name ?? args.name).split("/").pop()!);
        return { outputs, secretOutputNames: Object.keys(outputs) };
      }
      default:
        return {};
    }
  }
}

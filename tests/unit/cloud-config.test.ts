import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderCloudConfigWithinLimit, USER_DATA_LIMIT, type CloudConfig } from "../../src/render/cloudConfig";
import { bootCloudConfig } from "../../src/render/bootData";
import { workerRuleset } from "../../src/render/hostFirewall";

const base = bootCloudConfig({
  hostname: "test-w1",
  role: "worker",
  wireguardConf: "[Interface]\nPrivateKey = x\n",
  firewall: workerRuleset({ subnet: "10.100.0.0/24" }),
});

describe("cloud-config rendering", () => {
  it("renders a #cloud-config document that parses back to the same object", () => {
    const text = renderCloudConfigWithinLimit(base);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(base)));
  });

  it("compresses the largest files first, only until the document fits, and the files survive the round trip", () => {
    const large = "a".repeat(24_000) + "\n";
    const medium = "b".repeat(12_000) + "\n";
    const heavy: CloudConfig = { ...base, write_files: [...base.write_files, { path: "/medium", content: medium, permissions: "0644" }, { path: "/large", content: large, permissions: "0644" }] };
    expect(Buffer.byteLength(JSON.stringify(heavy))).toBeGreaterThan(USER_DATA_LIMIT);
    const text = renderCloudConfigWithinLimit(heavy);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_LIMIT);
    const files = (parse(text) as CloudConfig).write_files;
    const compressed = files.find((w) => w.path === "/large")!;
    expect(compressed.encoding).toBe("gz+b64");
    expect(gunzipSync(Buffer.from(compressed.content, "base64")).toString()).toBe(large);
    // Once it fits, the rest stays readable.
    expect(files.find((w) => w.path === "/medium")).toMatchObject({ content: medium });
    expect(files.find((w) => w.path === "/medium")!.encoding).toBeUndefined();
  });

  it("fails loudly when even compression cannot fit the limit", () => {
    const random = Array.from({ length: 2_000 }, (_, i) => createHash("sha256").update(String(i)).digest("base64")).join("");
    const heavy: CloudConfig = { ...base, write_files: [...base.write_files, { path: "/noise", content: random, permissions: "0644" }] };
    expect(() => renderCloudConfigWithinLimit(heavy, 8 * 1024)).toThrow(/boot data for test-w1 is \d+ bytes even compressed/);
  });
});

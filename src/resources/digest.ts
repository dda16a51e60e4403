import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/**
 * A SHA-256 of secret text that may show in a preview: it changes when the text does, so a
 * command that carries it re-runs, and reveals nothing of the text.
 */
export function publicDigest(text: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.unsecret(pulumi.output(text).apply((t) => createHash("sha256").update(t).digest("hex")));
}

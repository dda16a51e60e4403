import type * as pulumi from "@pulumi/pulumi";

/** The stack's secrets, read in one place (src/stack/secrets.ts) and handed to the builders. */
export interface FleetSecrets {
  /** By project: its SMTP user's password (its own key, or the fleet's). */
  readonly smtpPasswords: ReadonlyMap<string, pulumi.Output<string>>;
  readonly healthchecksPingKey?: pulumi.Output<string>;
  readonly ntfyToken?: pulumi.Output<string>;
  readonly telegramBotToken?: pulumi.Output<string>;
  /** The second copy's S3 keys (backups.copy). */
  readonly copy?: { readonly accessKeyId: pulumi.Output<string>; readonly secretAccessKey: pulumi.Output<string> };
}

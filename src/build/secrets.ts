import type * as pulumi from "@pulumi/pulumi";
import type { AuthSecrets } from "../supabase/authEnv";

/** One project's Auth secrets: its declared OAuth providers' client secrets, and its SMS token (auth.phone). */
export type AuthSecretInputs = AuthSecrets<pulumi.Input<string>>;

/** The stack's secrets, read in one place (src/stack/secrets.ts) and handed to the builders. */
export interface FleetSecrets {
  /** By project: its SMTP user's password (its own key, or the fleet's). */
  readonly smtpPasswords: ReadonlyMap<string, pulumi.Output<string>>;
  /** By project: its Auth secrets (none for a project with no provider and no phone sign-in). */
  readonly authSecrets: ReadonlyMap<string, AuthSecretInputs>;
  /** By Access identity provider (its name in access.identityProviders): its client secret. */
  readonly identityProviderSecrets?: ReadonlyMap<string, pulumi.Output<string>>;
  readonly healthchecksPingKey?: pulumi.Output<string>;
  readonly ntfyToken?: pulumi.Output<string>;
  readonly telegramBotToken?: pulumi.Output<string>;
  /** The second copy's S3 keys (backups.copy). */
  readonly copy?: { readonly accessKeyId: pulumi.Output<string>; readonly secretAccessKey: pulumi.Output<string> };
}

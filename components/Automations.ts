import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { publicDigest } from "../src/resources/digest";
import { masterConnection, writeRootOnlyFile, type SshPath } from "../src/resources/connections";
import { renderPlain, renderWithSecrets } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { everyUp } from "../src/resources/runStamp";
import { N8N_IMAGE, GATE_IMAGE, n8nCompose } from "../src/automation/n8nCompose";
import { gateConfig, type WebhookGate } from "../src/automation/webhookGate";
import { n8nDesired, type AutomationSettings } from "../src/automation/workflows";

export interface AutomationsArgs {
  readonly ssh: SshPath;
  /** The master has booted and its firewall sets are in place. */
  readonly after: pulumi.Input<pulumi.Resource>[];
  readonly hostname: string;
  /** The owner account's e-mail: the first operator's. */
  readonly ownerEmail: string;
  /** Mesh peers that send webhooks (Tactical RMM), through the gate on the hub. */
  readonly gate?: WebhookGate;
  readonly settings: AutomationSettings;
  /** Secrets the workflows' credentials need besides the ones made here: opsServiceKey, registryServiceKey, registrySmtpPassword, ntfyToken, telegramBotToken. */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
}

const secret = (length: number): Pick<random.RandomPasswordArgs, "length" | "special"> => ({ length, special: false });

/**
 * n8n on the master and the MSP's workflows in it, as code. n8n's encryption
 * key, its owner account and the webhook and signing secrets are made here;
 * the reconcile imports credentials and workflows by stable id and activates
 * them on every `pulumi up`, so an edit in the UI does not last.
 */
export class Automations extends FleetComponent {
  readonly ownerPassword: pulumi.Output<string>;
  /** TRMM sends it in X-Supafleet-Webhook-Secret; the gate refuses calls without it and removes it before n8n. */
  readonly trmmWebhookSecret: pulumi.Output<string>;
  /** The payment gateway checks X-Supafleet-Signature with it. */
  readonly billingHmacSecret: pulumi.Output<string>;
  readonly workflows: string[];
  readonly reconcile: command.remote.Command;

  constructor(name: string, args: AutomationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:Automations", name, opts);
    const connection = masterConnection(args.ssh);
    const made = (id: string, a: random.RandomPasswordArgs): pulumi.Output<string> => {
      const c = this.child(id);
      return new random.RandomPassword(c.name, a, c.opts).result;
    };
    // Losing the encryption key loses every credential in n8n: it is also in the master's backup (N8N_ENV_FILE).
    const encryptionKey = made("encryption-key", secret(48));
    // n8n wants a digit and an upper-case letter in a password.
    this.ownerPassword = made("owner-password", { length: 32, special: false, minUpper: 4, minLower: 4, minNumeric: 4 });
    this.trmmWebhookSecret = made("trmm-webhook-secret", secret(48));
    this.billingHmacSecret = made("billing-hmac-secret", secret(64));

    const desired = n8nDesired(args.settings);
    this.workflows = desired.workflows.map((w) => (w as { name: string }).name);
    const compose = n8nCompose(args.hostname, args.gate);
    this.keep(renderPlain("automation/n8n-compose.yaml", compose));
    // The gate checks TRMM's secret, so its config holds it: secret on the way, redacted in the render.
    const spec = args.gate;
    const gate = spec !== undefined ? this.keep(renderWithSecrets("automation/webhook-gate.json", { trmmWebhookSecret: this.trmmWebhookSecret }, (s) => JSON.stringify(gateConfig(spec, s.trmmWebhookSecret), null, 1))) : null;
    const install = this.child("n8n");
    const n8n = new command.remote.Command(
      install.name,
      {
        connection,
        create: renderScript("master/n8n-install.sh"),
        update: renderScript("master/n8n-install.sh"),
        stdin: pulumi.secret(
          pulumi.all([encryptionKey, gate]).apply(([key, g]) => JSON.stringify({ images: [N8N_IMAGE, ...(g !== null ? [GATE_IMAGE] : [])], compose, gate: g, extensions: desired.extensions, env: { N8N_ENCRYPTION_KEY: key } })),
        ),
      },
      { ...install.opts, dependsOn: args.after },
    );

    // The TRMM secret is not among them: the gate checks it, and n8n never has it.
    const values: Record<string, pulumi.Input<string>> = { ...args.secrets, billingHmacSecret: this.billingHmacSecret };
    const names = Object.keys(values).sort();
    const secretsFile = pulumi
      .all([this.ownerPassword, pulumi.all(names.map((n) => pulumi.output(values[n]!)))])
      .apply(([password, vals]) =>
        JSON.stringify({ owner: { email: args.ownerEmail, firstName: "supafleet", lastName: "owner", password }, values: Object.fromEntries(names.map((n, i) => [n, vals[i]])) }),
      );
    const write = this.child("secrets");
    const secrets = new command.remote.Command(
      write.name,
      {
        connection,
        create: writeRootOnlyFile("/etc/supafleet/automation/secrets.json"),
        stdin: pulumi.secret(secretsFile),
      },
      { ...write.opts, dependsOn: args.after },
    );

    // A digest of the secrets rides along, so that a rotated key re-imports the credentials; a hash reveals nothing.
    const digest = publicDigest(secretsFile);
    const desiredText = digest.apply((d) => JSON.stringify({ workflows: desired.workflows, credentials: desired.credentials, secretsDigest: d }, null, 1));
    this.keep(renderPlain("automation/n8n-desired.json", desiredText));
    const rec = this.child("reconcile");
    this.reconcile = new command.remote.Command(rec.name, { connection, ...everyUp(renderScript("master/n8n-reconcile.sh")), stdin: desiredText }, { ...rec.opts, dependsOn: [n8n, secrets] });

    this.registerOutputs({ editor: `https://${args.hostname}/`, workflows: this.workflows, gate: args.gate?.listen ?? null });
  }
}

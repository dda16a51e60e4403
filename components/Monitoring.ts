import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { publicDigest } from "../src/resources/digest";
import { masterConnection, writeRootOnlyFile, type SshPath } from "../src/resources/connections";
import { renderPlain } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { template } from "../src/render/templates";
import { everyUp } from "../src/resources/runStamp";
import { renderMonitorList, type KumaDesired } from "../src/monitoring/kuma";
import { KUMA_IMAGE, kumaCompose } from "../src/monitoring/kumaCompose";

export interface MonitoringArgs {
  readonly ssh: SshPath;
  /** The master has booted and its firewall sets are in place. */
  readonly after: pulumi.Input<pulumi.Resource>[];
  readonly hubAddress: string;
  /** Where Kuma listens, as the master reaches it. */
  readonly kumaUrl: string;
  readonly desired: KumaDesired;
  /** What each `${secret:name}` in the desired state stands for. */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
}

const ADMIN = "supafleet";

/**
 * Uptime Kuma on the master and everything in it, as code: installed with its
 * admin account made before anything can reach it, then reconciled to the
 * model on every `pulumi up`: monitors, notifications and tenants' status
 * pages, created, updated and deleted, never touching what supafleet did not
 * create. The desired state holds no secret, so a preview shows which
 * monitors change; the secrets go in a root-only file of their own.
 */
export class Monitoring extends FleetComponent {
  readonly adminPassword: pulumi.Output<string>;
  readonly adminUser = ADMIN;
  readonly reconcile: command.remote.Command;
  /** Tenants' public status pages, as URLs. */
  readonly statusPages: string[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:Monitoring", name, opts);
    const connection = masterConnection(args.ssh);
    const publicPages = args.desired.statusPages.flatMap((p) => (p.hostname !== undefined ? [p.hostname] : []));
    this.statusPages = publicPages.map((h) => `https://${h}/`);

    // Kuma refuses a password without letters and digits both.
    const admin = this.child("admin-password");
    this.adminPassword = new random.RandomPassword(admin.name, { length: 32, special: false, minLower: 4, minUpper: 4, minNumeric: 4 }, admin.opts).result;

    const compose = kumaCompose(args.hubAddress);
    this.keep(renderPlain("monitoring/kuma-compose.yaml", compose));
    const install = this.child("kuma");
    const kuma = new command.remote.Command(
      install.name,
      {
        connection,
        create: renderScript("master/kuma-install.sh"),
        stdin: pulumi.secret(
          pulumi.all([this.adminPassword]).apply(([password]) =>
            JSON.stringify({ image: KUMA_IMAGE, compose, reconcile: template("master/kuma-reconcile.cjs"), admin: { username: ADMIN, password } }),
          ),
        ),
      },
      { ...install.opts, dependsOn: args.after },
    );

    const names = Object.keys(args.secrets).sort();
    const values = pulumi.all(names.map((n) => pulumi.output(args.secrets[n]!)));
    const secretsFile = pulumi.all([this.adminPassword, values]).apply(([password, vals]) =>
      JSON.stringify({ url: args.kumaUrl, admin: { username: ADMIN, password }, values: Object.fromEntries(names.map((n, i) => [n, vals[i]])) }),
    );
    const write = this.child("secrets");
    const secrets = new command.remote.Command(
      write.name,
      {
        connection,
        create: writeRootOnlyFile("/etc/supafleet/monitoring/secrets.json"),
        stdin: pulumi.secret(secretsFile),
      },
      { ...write.opts, dependsOn: args.after },
    );

    // A digest of the secrets rides along, so that a rotated key re-runs the reconcile; a hash reveals nothing.
    const digest = publicDigest(secretsFile);
    const desiredText = digest.apply((d) => JSON.stringify({ ...args.desired, secretsDigest: d }, null, 1));
    this.keep(renderPlain("monitoring/kuma-desired.json", desiredText));
    this.keep(renderPlain("monitoring/monitors.txt", renderMonitorList(args.desired)));
    const rec = this.child("reconcile");
    this.reconcile = new command.remote.Command(
      rec.name,
      { connection, ...everyUp(renderScript("master/kuma-reconcile.sh")), stdin: desiredText },
      { ...rec.opts, dependsOn: [kuma, secrets] },
    );

    this.registerOutputs({ adminUser: ADMIN, monitors: args.desired.monitors.length, statusPages: publicPages });
  }
}

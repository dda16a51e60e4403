import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { publicDigest } from "../src/resources/digest";
import { masterConnection, type SshPath } from "../src/resources/connections";
import { renderPlain } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { consoleBundle } from "../src/console/bundle";
import { CONSOLE_IMAGE, consoleCompose } from "../src/console/consoleCompose";
import type { ConsoleFleetView } from "../src/console/fleetView";

export interface OperatorConsoleArgs {
  readonly ssh: SshPath;
  /** The master is up and its firewall admits the workers' reports. */
  readonly after: pulumi.Input<pulumi.Resource>[];
  readonly hub: string;
  readonly url: string;
  readonly fleet: ConsoleFleetView;
  /** The console app's Access audience tag, and the team whose keys sign its JWTs. */
  readonly access: { readonly teamName: string; readonly aud: pulumi.Input<string> };
  readonly infraRelease: string;
  /** Each worker's agent key, by worker. */
  readonly keys: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * The operator console on the master: one page with the whole fleet as the
 * stack file declares it, live health, backups and the everyday actions, which
 * the workers' agents carry out. It holds no state but its audit log.
 */
export class OperatorConsole extends FleetComponent {
  readonly url: string;

  constructor(name: string, args: OperatorConsoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:OperatorConsole", name, opts);
    this.url = args.url;
    const connection = masterConnection(args.ssh);

    const workers = Object.keys(args.keys).sort();
    const keysJson = pulumi.all(workers.map((w) => pulumi.output(args.keys[w]!))).apply((keys) => JSON.stringify(Object.fromEntries(workers.map((w, i) => [w, keys[i]]))));
    const k = this.child("keys");
    const keys = new command.remote.Command(
      k.name,
      { connection, create: renderScript("master/console-keys.sh"), stdin: pulumi.secret(keysJson) },
      { ...k.opts, dependsOn: args.after },
    );

    const fleet = pulumi.output(args.access.aud).apply((aud) => ({ ...args.fleet, infraRelease: args.infraRelease, access: { teamName: args.access.teamName, aud } }));
    const compose = consoleCompose(args.hub);
    this.keep(renderPlain("console/compose.yaml", compose));
    this.keep(renderPlain("console/fleet.json", fleet.apply((f) => JSON.stringify(f, null, 2))));
    // A digest of the keys rides along, so a new worker's key (or a rotated one) restarts the console; a hash reveals nothing.
    const payload = pulumi
      .all([fleet, publicDigest(keysJson)])
      .apply(([f, keysDigest]) => JSON.stringify({ image: CONSOLE_IMAGE, compose, bundle: consoleBundle(), fleet: f, keysDigest }));
    const install = this.child("install");
    new command.remote.Command(
      install.name,
      { connection, create: renderScript("master/console-install.sh"), delete: renderScript("master/console-remove.sh"), stdin: payload },
      { ...install.opts, dependsOn: [keys] },
    );

    this.registerOutputs({ url: this.url, workers });
  }
}

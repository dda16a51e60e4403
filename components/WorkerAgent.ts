import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { workerConnection, type SshPath } from "../src/resources/connections";
import { renderPlain } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { agentSettings, workerAgentPayload } from "../src/console/agentPayload";

export interface WorkerAgentArgs {
  readonly worker: string;
  readonly address: string;
  readonly hub: string;
  readonly ssh: SshPath;
  /** The worker is up and its backup tools are installed (the agent runs them). */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/**
 * The agent on one worker that carries out the console's actions: it listens on
 * the worker's WireGuard address and runs only commands from a fixed list, signed
 * with this worker's own key by the master (templates/worker/worker-agent.py).
 */
export class WorkerAgent extends FleetComponent {
  /** 32 random bytes as 64 hex: the HMAC key the console signs this worker's commands with. */
  readonly key: pulumi.Output<string>;

  constructor(name: string, args: WorkerAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:WorkerAgent", name, opts);
    const k = this.child("key");
    this.key = pulumi.secret(new random.RandomBytes(k.name, { length: 32 }, k.opts).hex);
    const settings = agentSettings(args.worker, args.address, args.hub);
    this.keep(renderPlain(`nodes/${args.worker}/agent.json`, JSON.stringify(settings, null, 2)));
    const install = this.child("install");
    new command.remote.Command(
      install.name,
      {
        connection: workerConnection(args.ssh, args.address),
        create: renderScript("host/install-files.sh"),
        delete: renderScript("worker/agent-remove.sh"),
        stdin: pulumi.secret(this.key.apply((key) => workerAgentPayload(settings, key))),
      },
      { ...install.opts, dependsOn: args.after },
    );
    this.registerOutputs({ worker: args.worker, listen: `${settings.address}:${settings.port}` });
  }
}

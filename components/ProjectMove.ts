import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { workerConnection, type SshPath } from "../src/resources/connections";
import type { ProjectPlan, WorkerPlan } from "../src/plan/types";
import { renderScript } from "../src/render/script";

export interface ProjectMoveArgs {
  readonly project: ProjectPlan & { readonly movedFrom: WorkerPlan };
  readonly ssh: SshPath;
  /** On the new worker: the project deployed (empty) and its backup settings in place. */
  readonly arrived: pulumi.Input<pulumi.Resource>[];
}

/**
 * A project moving to another worker (`placement` changed, `movedFrom` the
 * worker it leaves), in four steps:
 *   1. out: on the old worker, a final backup read back whole, then the project stopped;
 *   2. (the project's own deploy on the new worker, which waits for step 1);
 *   3. in: on the new worker, the whole project restored from that backup and verified;
 *   4. cleanup: on the old worker, the stopped project's containers and volumes removed.
 * The ingress switches after step 3 (the program makes the tunnel wait on `restored`).
 */
export class ProjectMove extends FleetComponent {
  /** Step 1: the project's new deploy waits on it. */
  readonly stoppedOnOldWorker: command.remote.Command;
  /** Step 3: the ingress waits on it. */
  readonly restored: command.remote.Command;

  constructor(args: ProjectMoveArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.project;
    super("supafleet:index:ProjectMove", `${p.name}-move`, opts);
    const script = (file: string): string => renderScript(`worker/${file}`, { PROJECT: p.name });
    const from = workerConnection(args.ssh, p.movedFrom.address);
    const to = workerConnection(args.ssh, p.worker.address);

    const out = this.child("out");
    this.stoppedOnOldWorker = new command.remote.Command(out.name, { connection: from, create: script("project-move-out.sh") }, out.opts);
    const into = this.child("in");
    this.restored = new command.remote.Command(
      into.name,
      // The snapshot id step 1 printed; a new run of step 1 (a new move) restores again.
      { connection: to, create: script("project-move-in.sh"), stdin: this.stoppedOnOldWorker.stdout },
      { ...into.opts, dependsOn: [this.stoppedOnOldWorker, ...args.arrived] },
    );
    const cleanup = this.child("cleanup");
    new command.remote.Command(cleanup.name, { connection: from, create: script("project-move-cleanup.sh") }, { ...cleanup.opts, dependsOn: [this.restored] });

    this.registerOutputs({ from: p.movedFrom.name, to: p.worker.name });
  }
}

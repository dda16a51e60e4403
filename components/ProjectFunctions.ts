import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { workerConnection, type SshPath } from "../src/resources/connections";
import type { ProjectPlan } from "../src/plan/types";
import { renderPlain } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { bundlePayload, bundleSummary, functionsBundle, type FunctionsBundle } from "../src/functions/bundle";
import { PROGRAM_ROOT } from "../src/functions/names";
import { containerName } from "../src/supabase/naming";

export interface ProjectFunctionsArgs {
  readonly project: ProjectPlan;
  readonly ssh: SshPath;
  /** The worker has booted and WireGuard is up. */
  readonly workerReady: pulumi.Resource;
}

/**
 * One project's edge functions on its worker: the router, its per-function JWT choices and
 * the project's folder of functions (supafleet's `hello` when it has none). The command's
 * inputs carry the files' hash, so a change to one function redeploys this project's
 * functions and restarts its functions container, and nothing else.
 */
export class ProjectFunctions extends FleetComponent {
  /** The hash of every file deployed (src/functions/read.ts, treeHash). */
  readonly sha256: string;
  /** Done once the files are on the worker (and the runtime restarted on them, if it ran). */
  readonly deployed: command.remote.Command;

  /** Named `<project>-functions`, a child of its SupabaseProject (the program passes the parent). */
  constructor(args: ProjectFunctionsArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.project;
    super("supafleet:index:ProjectFunctions", `${p.name}-functions`, opts);
    let bundle: FunctionsBundle;
    try {
      bundle = functionsBundle(PROGRAM_ROOT, p.functions);
    } catch (e) {
      throw new pulumi.ResourceError(`project ${p.name}: ${(e as Error).message}`, this);
    }
    this.sha256 = bundle.sha256;
    this.keep(renderPlain(`projects/${p.name}/functions.json`, bundleSummary(bundle)));

    const deploy = this.child("deploy");
    this.deployed = new command.remote.Command(
      deploy.name,
      {
        connection: workerConnection(args.ssh, p.worker.address),
        create: renderScript("worker/functions-deploy.sh", { PROJECT: p.name, CONTAINER: containerName(p.name, "functions"), FUNCTIONS_SHA256: bundle.sha256 }),
        stdin: bundlePayload(bundle),
      },
      { ...deploy.opts, dependsOn: [args.workerReady] },
    );

    this.registerOutputs({ sha256: this.sha256, verifyJwt: bundle.verifyJwt });
  }
}

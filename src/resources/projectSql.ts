import * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { ProjectPlan } from "../plan/types";
import { containerName } from "../supabase/naming";
import { workerConnection, type SshPath } from "./connections";

/**
 * SQL applied to a project's database as supabase_admin, through psql in its db container, over
 * SSH through the master. It runs again only when the SQL changes, so the SQL must be idempotent.
 */
export function projectSqlCommand(
  child: { name: string; opts: pulumi.CustomResourceOptions },
  project: ProjectPlan,
  ssh: SshPath,
  sql: string,
  after: pulumi.Input<pulumi.Resource>[],
): command.remote.Command {
  const psql = `docker exec -i ${containerName(project.name, "db")} psql -X -q -U supabase_admin -d postgres -v ON_ERROR_STOP=1 -f -`;
  return new command.remote.Command(
    child.name,
    { connection: workerConnection(ssh, project.worker.address), create: psql, update: psql, stdin: sql },
    { ...child.opts, dependsOn: after },
  );
}

import * as pulumi from "@pulumi/pulumi";
import type { BackupReader } from "../backup/seed";

/** One reference per other stack of this project and run: a restore and the drill may both read prod. */
export type StackReferences = Map<string, pulumi.StackReference>;

export function stackReference(refs: StackReferences, stack: string): pulumi.StackReference {
  const name = `${organization()}/${pulumi.getProject()}/${stack}`;
  let ref = refs.get(name);
  if (ref === undefined) {
    ref = new pulumi.StackReference(name);
    refs.set(name, ref);
  }
  return ref;
}

/** Another stack's read-only credential for one of its jobs, from that stack's outputs. */
export function readerFromStack(refs: StackReferences, stack: string, job: string): pulumi.Output<BackupReader> {
  const ref = stackReference(refs, stack);
  return pulumi.secret(
    ref.getOutput("backupReaders").apply((readers: Record<string, BackupReader> | undefined) => {
      const r = readers?.[job];
      if (r === undefined) throw new pulumi.RunError(`stack ${stack} has no backups of project "${job}" (its output backupReaders lists: ${Object.keys(readers ?? {}).join(", ") || "none"})`);
      return r;
    }),
  );
}

function organization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return "organization";
  }
}

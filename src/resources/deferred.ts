import * as pulumi from "@pulumi/pulumi";

/**
 * An Output whose value is supplied later. The hub's peer set needs the
 * workers, and the workers need the hub's address and key: the master takes
 * its peers as a deferred value that the program fills once workers exist.
 */
export interface Deferred<T> {
  readonly output: pulumi.Output<T>;
  resolve(value: pulumi.Input<T>): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: pulumi.Input<T>) => void;
  const promise = new Promise<pulumi.Input<T>>((r) => (resolve = r));
  return { output: pulumi.output(promise).apply((v) => pulumi.output(v)) as pulumi.Output<T>, resolve };
}

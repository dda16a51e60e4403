import { engineInstalled } from "./engine";
import { useEngine } from "./engineUsers";

/**
 * Starts the lab's Docker engine once for the whole run, and stops it after,
 * removing every container, volume and network the tests left, unless another
 * run (or the image build) still uses it.
 */
let release: (() => void) | undefined;

export function setup(): void {
  // Without the engine (a machine where only the unit tests are run), the tests that need it say so themselves.
  if (!engineInstalled() || process.getuid?.() !== 0) return;
  release = useEngine({ sweep: true });
}

export function teardown(): void {
  release?.();
}

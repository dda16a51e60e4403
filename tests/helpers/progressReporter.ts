import { VerboseReporter, type TestCase, type TestModule } from "vitest/node";

const HEARTBEAT_MS = 30_000;

const relative = (path: string): string => path.replace(`${process.cwd()}/`, "");

/**
 * vitest's verbose reporter (a line per test as it ends, in CI as on a
 * terminal), plus a heartbeat: when nothing has been printed for 30 s, a line
 * naming each test still running and for how long. A slow integration test
 * never leaves the log silent for a minute.
 */
export default class ProgressReporter extends VerboseReporter {
  private readonly running = new Map<string, { name: string; since: number }>();
  /** Files started and not ended: a long beforeAll (a database starting) runs outside any test. */
  private readonly modules = new Map<string, { name: string; since: number }>();
  private lastOutput = Date.now();
  private timer: NodeJS.Timeout | undefined;

  override onTestRunStart(...args: Parameters<VerboseReporter["onTestRunStart"]>): void {
    super.onTestRunStart(...args);
    this.timer = setInterval(() => this.beat(), 5_000);
    this.timer.unref();
  }

  onTestModuleStart(module: TestModule): void {
    this.modules.set(module.id, { name: relative(module.moduleId), since: Date.now() });
  }

  override onTestCaseReady(test: TestCase): void {
    super.onTestCaseReady(test);
    this.running.set(test.id, { name: `${relative(test.module.moduleId)} > ${test.fullName}`, since: Date.now() });
  }

  override onTestCaseResult(test: TestCase): void {
    super.onTestCaseResult(test);
    this.running.delete(test.id);
    this.lastOutput = Date.now();
  }

  override onTestModuleEnd(module: TestModule): void {
    super.onTestModuleEnd(module);
    this.modules.delete(module.id);
    this.lastOutput = Date.now();
  }

  override onTestRunEnd(...args: Parameters<VerboseReporter["onTestRunEnd"]>): void {
    clearInterval(this.timer);
    super.onTestRunEnd(...args);
  }

  private beat(): void {
    const now = Date.now();
    if (now - this.lastOutput < HEARTBEAT_MS) return;
    const busy = this.running.size > 0 ? this.running : this.modules;
    for (const { name, since } of busy.values()) {
      this.ctx.logger.log(`   … still running (${Math.round((now - since) / 1000)} s): ${name}`);
    }
    this.lastOutput = now;
  }
}

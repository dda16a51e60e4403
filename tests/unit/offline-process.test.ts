import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { STACK_TRACES_ENV, withoutStackTraces } from "../../src/offline/process";

const callsites = (): unknown[] => (pulumi.Resource as unknown as { callsites: () => unknown[] }).callsites();
const frames = (): number => (new Error().stack ?? "").split("\n").length - 1;

describe("withoutStackTraces", () => {
  it("captures no frames while the plan runs, and every frame again after it, even when it throws", async () => {
    const limit = Error.stackTraceLimit;
    expect(frames()).toBeGreaterThan(0);
    const inside = await withoutStackTraces(async () => ({ frames: frames(), callsites: callsites().length }));
    expect(inside).toEqual({ frames: 0, callsites: 0 });
    await expect(withoutStackTraces(async () => { throw new Error("refused"); })).rejects.toThrow("refused");
    expect(Error.stackTraceLimit).toBe(limit);
    expect(frames()).toBeGreaterThan(0);
    expect(callsites().length).toBeGreaterThan(0);
  });

  it("keeps them off until the last of two overlapping runs ends", async () => {
    let release!: () => void;
    const first = withoutStackTraces(() => new Promise<void>((r) => (release = r)));
    const second = await withoutStackTraces(async () => frames());
    expect(second).toBe(0);
    expect(frames()).toBe(0);
    release();
    await first;
    expect(frames()).toBeGreaterThan(0);
  });

  it(`keeps them with ${STACK_TRACES_ENV}=1`, async () => {
    expect(await withoutStackTraces(async () => frames(), { [STACK_TRACES_ENV]: "1" })).toBeGreaterThan(0);
  });
});

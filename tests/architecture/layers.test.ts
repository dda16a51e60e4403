import { cruise, type IForbiddenRuleType, type IReporterOutput } from "dependency-cruiser";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAYERS } from "./layers";

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const pathsOf = (paths: readonly string[]): string => `^(${paths.map(escape).join("|")})`;

/** One rule per layer: nothing in it imports from any layer above. */
const upward: IForbiddenRuleType[] = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `${layer.name}-imports-upward`,
  severity: "error",
  from: { path: pathsOf(layer.paths) },
  to: { path: pathsOf(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));
const circular: IForbiddenRuleType = { name: "import-cycle", severity: "error", from: {}, to: { circular: true } };

async function violations(): Promise<string[]> {
  const result: IReporterOutput = await cruise(["src", "components"], {
    validate: true,
    ruleSet: { forbidden: [...upward, circular] },
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
  }, {}, { tsConfig: { fileName: "tsconfig.json" } } as never);
  const output = result.output as Exclude<IReporterOutput["output"], string>;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle !== undefined ? ` (${v.cycle.map((c) => c.name).join(" -> ")})` : ""}`);
}

describe("the import graph", () => {
  it("has every source file in exactly one layer", async () => {
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []));
    const files = [...walk("src"), ...walk("components")];
    const unplaced = files.filter((f) => LAYERS.filter((l) => l.paths.some((p) => f.startsWith(p))).length !== 1);
    expect(unplaced).toEqual([]);
  });

  it("runs only downward, and no two modules import each other", async () => {
    expect(await violations()).toEqual([]);
  }, 60_000);
});

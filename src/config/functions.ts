import { z } from "zod";

/**
 * A project's edge functions: a folder of this repository with one subfolder per function.
 * Written as the folder alone, or with each function's JWT check (on unless set false).
 */
const folder = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]+$/, "must be a folder of this repository, relative to Pulumi.yaml, such as functions/smarteros");

export const FunctionsSchema = z.union(
  [
    folder.transform((path) => ({ path, verifyJwt: {} as Record<string, boolean> })),
    z.strictObject({ path: folder, verifyJwt: z.record(z.string().regex(/^[a-z0-9_-]+$/, "must name a function folder"), z.boolean()).default({}) }),
  ],
  { error: () => "must be a folder such as functions/smarteros, or { path, verifyJwt: { <function>: false } }" },
);

export type FunctionsConfig = z.infer<typeof FunctionsSchema>;

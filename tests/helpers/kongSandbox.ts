import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const HARNESS = resolve(__dirname, "kongSandbox.lua");

export interface KongRequest {
  readonly method?: string;
  /** Header names in any case, as a client sends them. */
  readonly headers?: Readonly<Record<string, string>>;
  /** ngx.now() while this request is served: seconds since the epoch, with fractions. */
  readonly now: number;
}

export interface KongOutcome {
  /** 0 when the chunk let the request through; else the status of kong.response.exit. */
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: unknown;
  /** What the chunk wrote with kong.log.err, if anything. */
  readonly log?: string;
}

export interface KongSandbox {
  /** The modules Kong's sandbox lets the chunk require (KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES). */
  readonly requires: readonly string[];
  /** The shared dicts nginx declares (lua_shared_dict). */
  readonly dicts: readonly string[];
}

/** Runs one pre-function chunk over a sequence of requests in one Lua 5.1 process (tests/helpers/kongSandbox.lua). */
export function runPreFunction(chunk: string, sandbox: KongSandbox, requests: readonly KongRequest[]): KongOutcome[] {
  const input = JSON.stringify({ chunk, requires: sandbox.requires, dicts: sandbox.dicts, requests });
  return JSON.parse(execFileSync("lua5.1", [HARNESS], { input, encoding: "utf8", maxBuffer: 1 << 26 })) as KongOutcome[];
}

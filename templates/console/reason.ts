/** Why a call failed, in a few words: fetch's own message ("fetch failed") hides the cause's code. */
export function reasonOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === "TimeoutError") return "no answer in time";
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return e.message;
}

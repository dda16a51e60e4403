import type { IncomingMessage, ServerResponse } from "node:http";

/** Headers on every answer: nothing cached, framed or sniffed. */
const COMMON = { "cache-control": "no-store", "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer" };

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...COMMON, "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

export function sendHtml(res: ServerResponse, status: number, page: string, scriptNonce: string): void {
  res.writeHead(status, {
    ...COMMON,
    "content-type": "text/html; charset=utf-8",
    // Only the page's own script runs: markup that slipped through escaping could not run any.
    "content-security-policy": `default-src 'none'; script-src 'nonce-${scriptNonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
  });
  res.end(page);
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request's JSON body, at most `limit` bytes. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyError(413, `the body is over ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BodyError(400, "the body is not JSON");
  }
}

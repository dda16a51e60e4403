import { createServer, type Server } from "node:http";

/** One request a stand-in endpoint received. */
export interface Received {
  readonly method: string;
  /** The path without its query string; `query` holds that. */
  readonly path: string;
  readonly query: string;
  readonly body: string;
}

/**
 * A local HTTP listener on loopback standing in for healthchecks.io, ntfy and
 * the Telegram API: it answers 200 and remembers every request.
 */
export class PingListener {
  readonly received: Received[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const [path, query = ""] = (req.url ?? "").split("?");
        this.received.push({ method: req.method ?? "", path: path!, query, body });
        res.writeHead(200, { "Content-Type": "text/plain" }).end("OK");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Paths received under a prefix, in order, and forgets them. */
  take(prefix: string): Received[] {
    const hits = this.received.filter((r) => r.path.startsWith(prefix));
    for (const h of hits) this.received.splice(this.received.indexOf(h), 1);
    return hits;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

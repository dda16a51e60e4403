// A stand-in for a project's gateway (Kong in front of PostgREST) in deploy tests:
// GET /rest/v1/ answers 200 to the anon key, 401 to anything else.
// With a file named by argv[4] present, it answers 503, as a gateway whose upstream is down.
// Usage: node gateway.mjs <port> <anonKey> [downFile]
import { existsSync } from "node:fs";
import { createServer } from "node:http";

const [port, key, downFile] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
createServer((req, res) => {
  if (downFile && existsSync(downFile)) return res.writeHead(503).end("upstream down\n");
  const ok = req.method === "GET" && req.url === "/rest/v1/" && req.headers.apikey === key && req.headers.authorization === `Bearer ${key}`;
  res.writeHead(ok ? 200 : 401, { "content-type": "application/json" }).end(ok ? "{}" : '{"message":"Invalid authentication credentials"}');
}).listen(port, "127.0.0.1", () => process.stdout.write("listening\n"));

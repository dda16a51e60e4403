import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorsOf, readKuma } from "../../templates/console/kuma";

/**
 * The console's Kuma reader, against the two answers of Kuma's status page API
 * in the shape Kuma's own router gives them (tests/addons/node_modules/uptime-kuma/
 * server/routers/status-page-router.js: monitors by group, each monitor's last
 * heartbeats oldest first), served on loopback. A real Kuma takes tens of
 * seconds to start; tests/integration/kuma.test.ts runs one for the reconciler.
 */
let server: Server;
let url: string;
const served: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    served.push(req.url ?? "");
    const json = (body: unknown): void => void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/api/status-page/supafleet-fleet") {
      return json({
        config: { slug: "supafleet-fleet", title: "supafleet: every monitor" },
        incident: null,
        publicGroupList: [
          { id: 1, name: "worker w1", weight: 1, monitorList: [{ id: 3, name: "w1 · WireGuard", sendUrl: 0, type: "ping" }] },
          { id: 2, name: "project acme", weight: 2, monitorList: [{ id: 7, name: "acme · rest", sendUrl: 0, type: "http" }, { id: 8, name: "acme · backup", sendUrl: 0, type: "push" }] },
        ],
        maintenanceList: [],
      });
    }
    if (req.url === "/api/status-page/heartbeat/supafleet-fleet") {
      return json({
        heartbeatList: {
          "3": [{ status: 1, time: "2026-12-07 12:00:00.000", msg: "", ping: 2 }],
          "7": [
            { status: 1, time: "2026-12-07 11:59:00.000", msg: "200 - OK", ping: 40 },
            { status: 0, time: "2026-12-07 12:00:00.000", msg: "Request failed with status code 502", ping: null },
          ],
        },
        uptimeList: { "3_24": 1, "7_24": 0.98 },
      });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("the console's Kuma reader", () => {
  it("reads each monitor of the fleet status page with its latest heartbeat, and finds a project's by name or id", async () => {
    const reading = await readKuma(`${url}/`, "supafleet-fleet");
    expect(reading).toEqual({
      reachable: true,
      monitors: [
        { id: "3", name: "w1 · WireGuard", status: "up" },
        { id: "7", name: "acme · rest", status: "down", message: "Request failed with status code 502" },
        { id: "8", name: "acme · backup", status: "unknown" },
      ],
    });
    expect(monitorsOf(reading, ["acme · rest", "8"]).map((m) => m.id)).toEqual(["7", "8"]);
    expect(served).toEqual(expect.arrayContaining(["/api/status-page/supafleet-fleet", "/api/status-page/heartbeat/supafleet-fleet"]));
  });

  it("says why Kuma could not be read, and never throws", async () => {
    expect(await readKuma(url, "no-such-page")).toEqual({ reachable: false, error: `Uptime Kuma at ${url} is unreachable (HTTP 404)` });
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    expect(await readKuma(`http://127.0.0.1:${closed}`, "supafleet-fleet")).toEqual({ reachable: false, error: `Uptime Kuma at http://127.0.0.1:${closed} is unreachable (ECONNREFUSED)` });
    expect(monitorsOf({ reachable: false, error: "x" }, ["acme · rest"])).toEqual([]);
  });
});

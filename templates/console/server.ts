import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { accessCheck, type AccessSettings } from "./access";
import { ActionRunner, parseActionRequest } from "./actions";
import { fleetAgents, type Agents } from "./agents";
import { AuditLog } from "./audit";
import { BodyError, readJson, sendHtml, sendJson } from "./http";
import type { ConsoleInputs } from "./inputs";
import { renderPage } from "./page";
import { parseReport, peerAddress, ReportBook } from "./reports";
import { fleetView } from "./view";
import { FleetWatch } from "./watch";

export interface ConsoleOptions {
  readonly inputs: ConsoleInputs;
  /** Where audit.jsonl is kept. */
  readonly stateDir: string;
  readonly access: AccessSettings;
  /** The worker agents; fleet.json's addresses and keys.json's keys unless a test says otherwise. */
  readonly agents?: Agents;
}

export interface Console {
  readonly server: Server;
  readonly watch: FleetWatch;
  listen(host: string, port: number): Promise<void>;
  close(): Promise<void>;
}

const REPORT_LIMIT = 64 * 1024;
const ACTION_LIMIT = 4 * 1024;
const AUDIT_ON_PAGE = 25;

/**
 * The console's HTTP server. Health reports come in without Access (from a
 * worker's own address only); everything else needs Access's JWT, and an
 * action also the X-Supafleet-Action header that no cross-site form sends.
 */
export function createConsole(opts: ConsoleOptions): Console {
  const { fleet, keys } = opts.inputs;
  const startedAt = Date.now();
  const agents = opts.agents ?? fleetAgents(fleet, keys);
  const audit = new AuditLog(join(opts.stateDir, "audit.jsonl"));
  const reports = new ReportBook();
  const watch = new FleetWatch(fleet, agents);
  const actions = new ActionRunner(agents, audit, (worker) => void watch.readAgent(worker));
  const checkAccess = accessCheck(opts.access);
  const view = (): ReturnType<typeof fleetView> => fleetView(fleet, { lastReport: (w) => reports.lastOf(w), kuma: watch.kuma, agents: watch.agents, startedAt });

  async function intake(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Who sent it is known before its body is read: only a worker's own address is heard at all.
    const sender = fleet.workers.find((w) => w.address === peerAddress(req.socket.remoteAddress));
    if (sender === undefined) return sendJson(res, 403, { error: "reports come from the workers' own addresses only" });
    const report = parseReport(await readJson(req, REPORT_LIMIT));
    if (typeof report === "string") return sendJson(res, 400, { error: report });
    if (report.worker !== sender.name) {
      const named = fleet.workers.find((w) => w.name === report.worker);
      return sendJson(res, 403, { error: named === undefined ? `there is no worker "${report.worker}" in this fleet` : `a report of ${named.name} comes from ${named.address} only` });
    }
    reports.record(report);
    res.writeHead(204).end();
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://console");
    if (url.pathname === "/api/reports" && req.method === "POST") return intake(req, res);

    const access = await checkAccess(req);
    if ("refused" in access) return sendJson(res, 401, { error: access.refused });
    const identity = access.identity;

    if (req.method === "GET" && url.pathname === "/") {
      const nonce = randomBytes(16).toString("base64");
      return sendHtml(res, 200, renderPage(view(), audit.recent(AUDIT_ON_PAGE), identity, nonce), nonce);
    }
    if (req.method === "GET" && url.pathname === "/api/fleet") return sendJson(res, 200, view());
    if (req.method === "GET" && url.pathname === "/api/audit") {
      const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get("limit") ?? 100) || 100));
      return sendJson(res, 200, { entries: audit.recent(limit) });
    }
    if (req.method === "GET" && url.pathname.startsWith("/api/jobs/")) {
      const job = actions.jobs.get(decodeURIComponent(url.pathname.slice("/api/jobs/".length)));
      return job === undefined ? sendJson(res, 404, { error: "there is no such job (the console forgets its jobs when it restarts)" }) : sendJson(res, 200, { job });
    }
    if (req.method === "POST" && url.pathname === "/api/actions") {
      if (req.headers["x-supafleet-action"] !== "1") return sendJson(res, 403, { error: "an action needs the X-Supafleet-Action: 1 header" });
      const request = parseActionRequest(await readJson(req, ACTION_LIMIT), fleet);
      if ("status" in request) return sendJson(res, request.status, request.body);
      const answer = await actions.run(identity, request);
      return sendJson(res, answer.status, answer.body);
    }
    sendJson(res, 404, { error: "no such page" });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof BodyError) return sendJson(res, e.status, { error: e.message });
      // The reason goes to the journal; the answer says only that it failed.
      process.stderr.write(`console: ${req.method} ${req.url?.split("?")[0]} failed: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: "the console failed to answer; its journal says why" });
    });
  });

  return {
    server,
    watch,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          watch.start();
          resolve();
        });
      }),
    close: () =>
      new Promise((resolve) => {
        watch.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { TOOLS_DIR, toolsPrelude } from "../backup/tools";
import { shellQuote } from "../render/script";
import { template } from "../render/templates";
import { KUMA_PORT } from "./kuma";

/** Where a node pushes a heartbeat: Kuma on the hub's WireGuard address. The token completes it. */
export function kumaPushBase(hubAddress: string): string {
  return `http://${hubAddress}:${KUMA_PORT}/api/push/`;
}

/**
 * The install-files payload for a worker's health agent; it holds the push token, so it goes as a secret.
 * With the console enabled, each run's report also goes to the console, which knows the worker by name and address.
 */
export function healthAgentPayload(pushUrl: string, report?: { readonly url: string; readonly worker: string }): string {
  const file = (content: string, mode: string) => ({ content, mode });
  return JSON.stringify({
    files: {
      ...toolsPrelude(),
      [`${TOOLS_DIR}/health-agent.sh`]: file(template("worker/health-agent.sh"), "0755"),
      "/etc/systemd/system/supafleet-health-agent.service": file(template("worker/systemd/supafleet-health-agent.service"), "0644"),
      "/etc/systemd/system/supafleet-health-agent.timer": file(template("worker/systemd/supafleet-health-agent.timer"), "0644"),
      "/etc/supafleet/health-agent.env": file(
        `# supafleet: the health agent's push URL; it holds a token. Mode 0600.\nPUSH_URL=${shellQuote(pushUrl)}\n${report !== undefined ? `REPORT_URL=${shellQuote(report.url)}\nWORKER=${shellQuote(report.worker)}\n` : ""}`,
        "0600",
      ),
    },
    enable: ["supafleet-health-agent.timer"],
  });
}

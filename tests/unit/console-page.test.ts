import { describe, expect, it } from "vitest";
import { renderPage } from "../../templates/console/page";
import type { FleetView } from "../../templates/console/view";

const HOSTILE = `<img src=x onerror="alert(1)">`;

function viewWith(monitors: FleetView["tenants"][number]["projects"][number]["monitors"]): FleetView {
  return {
    env: "prod",
    domain: "example.com",
    infraRelease: "v1",
    generatedAt: "2026-12-07T15:00:00.000Z",
    reportIntervalSeconds: 60,
    kuma: { reachable: true, dashboardUrl: "https://status.example.com" },
    workers: [],
    tenants: [
      {
        slug: "acme",
        name: "Acme",
        projects: [
          {
            name: "acme-production",
            tenant: "acme",
            worker: "w1",
            isolation: "shared",
            release: "r",
            services: ["db", "rest"],
            links: { api: "https://acme.example.com", studio: "https://acme-studio.example.com", monitors: monitors.map((m) => m.name) },
            health: { state: "healthy", problems: [] },
            monitors,
            backups: { enabled: true, pitr: false },
          },
        ],
      },
    ],
  };
}

describe("the console's page", () => {
  it("links each of a project's Kuma monitors to its page in Kuma, with its state, and shows a hostile name as text", () => {
    const page = renderPage(viewWith([{ id: "14", name: "acme-production · edge · rest", status: "up" }, { id: "15", name: HOSTILE, status: "down" }]), [], "ops@example.com", "n0nce");
    expect(page).toContain(`<a href="https://status.example.com/dashboard/14" target="_blank" rel="noopener noreferrer">acme-production · edge · rest</a> <span class="muted">up</span>`);
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it("shows no monitor list for a project Kuma has none of", () => {
    expect(renderPage(viewWith([]), [], "ops@example.com", "n0nce")).not.toContain("Kuma monitors");
  });
});

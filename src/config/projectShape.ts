import type { ConfigIssue } from "./issues";
import type { ProjectConfig } from "./schema";

/** A project's services and Studio: choices that only make sense together. */
export function checkProjectShape(project: ProjectConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const s = project.services;
  if (s.imgproxy && !s.storage) {
    issues.push({ path: `${path}.services.imgproxy`, message: "imgproxy only serves Storage's image transformations; with storage: false leave it out too (imgproxy: false)" });
  }
  if (project.studio === "master" && (project.rotate?.dashboard ?? 0) > 0) {
    issues.push({
      path: `${path}.rotate.dashboard`,
      message: "a Studio on the master has no password of its own (Cloudflare Access signs operators in); remove rotate.dashboard, or keep studio: worker",
    });
  }
  return issues;
}

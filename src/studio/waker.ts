import { TOOLS_DIR, toolsPrelude } from "../backup/tools";
import type { StudioPorts } from "../model/ports";
import { fillTemplate, template } from "../render/templates";

/**
 * The files that wake each project's Studio on the master on its first request
 * and put it to sleep when idle: a systemd socket per project, whose service
 * wakes the container and proxies to it with systemd-socket-proxyd until it has
 * been idle (docs/studio.md). The program installs them with install-files.
 */

/** Each project's Studio: its compose.yaml and .env (rendered elsewhere), and waker.env. */
export const STUDIO_DIR = "/opt/supafleet/studio";
export const STUDIO_POWER = `${TOOLS_DIR}/studio-power`;
export const STUDIO_MAX_RUNNING_FILE = "/etc/supafleet/studio/max-running";
export const SYSTEMD_DIR = "/etc/systemd/system";
export const STUDIO_SOCKET_TEMPLATE = `${SYSTEMD_DIR}/supafleet-studio@.socket`;
export const STUDIO_SERVICE_TEMPLATE = `${SYSTEMD_DIR}/supafleet-studio@.service`;
/** The label each Studio's compose file sets, with the project as its value: studio-power counts the running ones by it. */
export const STUDIO_LABEL = "supafleet.studio";

export const studioDir = (project: string): string => `${STUDIO_DIR}/${project}`;
export const wakerEnvPath = (project: string): string => `${studioDir(project)}/waker.env`;
/** The unit the program enables and starts for a project (`systemctl enable --now`). */
export const studioSocketUnit = (project: string): string => `supafleet-studio@${project}.socket`;
export const listenDropInPath = (project: string): string => `${SYSTEMD_DIR}/${studioSocketUnit(project)}.d/listen.conf`;

export interface InstalledFile {
  readonly content: string;
  readonly mode: string;
}
/** Absolute path → file, as install-files takes them. */
export type InstalledFiles = Readonly<Record<string, InstalledFile>>;

export interface StudioWaker {
  readonly project: string;
  readonly ports: StudioPorts;
  /** Quiet time before the Studio is stopped; fractions are allowed down to whole seconds. */
  readonly idleMinutes: number;
}

/** One section of a systemd unit file; a key may repeat, and an empty value resets a list. */
export interface IniSection {
  readonly name: string;
  readonly entries: readonly (readonly [key: string, value: string])[];
}

const PROJECT = /^[a-z0-9][a-z0-9-]*$/;
const LOOPBACK = "127.0.0.1";

function oneLine(what: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${what} must be one line`);
  return value;
}

/** A unit file or drop-in: a comment, then each section with its `Key=value` lines. */
export function renderIni(comment: string, sections: readonly IniSection[]): string {
  const head = comment.split("\n").map((l) => `# ${l}`.trimEnd());
  const body = sections.map((s) => [`[${oneLine("a section name", s.name)}]`, ...s.entries.map(([k, v]) => `${oneLine("a key", k)}=${oneLine(`${k}`, v)}`)].join("\n"));
  return `${[head.join("\n"), ...body].join("\n\n")}\n`;
}

/** A systemd EnvironmentFile, with values that need no quoting there (no spaces, quotes, `$` or `\`). */
export function renderEnvironmentFile(comment: string, values: Readonly<Record<string, string>>): string {
  const lines = Object.entries(values).map(([k, v]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) throw new Error(`not an environment variable name: ${k}`);
    if (!/^[A-Za-z0-9._:/-]+$/.test(v)) throw new Error(`${k} must be plain (letters, digits, . _ : / -), got ${JSON.stringify(v)}`);
    return `${k}=${v}`;
  });
  return `${comment.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n")}\n${lines.join("\n")}\n`;
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`${name} port must be an integer from 1 to 65535, got ${port}`);
}

/** systemd's time span for the proxy's --exit-idle-time, in whole seconds. */
export function idleTimeSpan(idleMinutes: number): string {
  const seconds = Math.round(idleMinutes * 60);
  if (!Number.isFinite(idleMinutes) || seconds < 1 || Math.abs(seconds - idleMinutes * 60) > 1e-6) {
    throw new RangeError(`idleMinutes must be a positive number of whole seconds, got ${idleMinutes}`);
  }
  return `${seconds}s`;
}

/** One project's files: the socket's listen address (a drop-in) and the service's waker.env. */
export function studioWakerFiles(w: StudioWaker): InstalledFiles {
  if (!PROJECT.test(w.project)) throw new Error(`not a project name: ${JSON.stringify(w.project)}`);
  checkPort("the listen", w.ports.listen);
  checkPort("the container", w.ports.container);
  if (w.ports.listen === w.ports.container) throw new RangeError(`the listen and container ports must differ, both are ${w.ports.listen}`);
  const listen = renderIni(`supafleet: where the Studio of ${w.project} is reached (cloudflared's origin), loopback only.`, [
    // The empty value first: this file alone decides the socket's addresses.
    { name: "Socket", entries: [["ListenStream", ""], ["ListenStream", `${LOOPBACK}:${w.ports.listen}`]] },
  ]);
  const env = renderEnvironmentFile(`supafleet: the Studio waker of ${w.project} (supafleet-studio@${w.project}.service).`, {
    STUDIO_UPSTREAM: `${LOOPBACK}:${w.ports.container}`,
    STUDIO_IDLE: idleTimeSpan(w.idleMinutes),
  });
  return {
    [listenDropInPath(w.project)]: { content: listen, mode: "0644" },
    [wakerEnvPath(w.project)]: { content: env, mode: "0644" },
  };
}

/** The fleet's files, the same for every project: the units, studio-power with its prelude, and the limit. */
export function studioFleetFiles(f: { readonly maxRunning: number }): InstalledFiles {
  if (!Number.isInteger(f.maxRunning) || f.maxRunning < 1) throw new RangeError(`maxRunning must be a whole number above 0, got ${f.maxRunning}`);
  return {
    ...toolsPrelude(),
    [STUDIO_POWER]: { content: template("master/studio-power.sh"), mode: "0755" },
    [STUDIO_SOCKET_TEMPLATE]: { content: template("master/systemd/supafleet-studio@.socket"), mode: "0644" },
    [STUDIO_SERVICE_TEMPLATE]: {
      content: fillTemplate("master/systemd/supafleet-studio@.service", { wakerEnv: wakerEnvPath("%i"), power: STUDIO_POWER }),
      mode: "0644",
    },
    [STUDIO_MAX_RUNNING_FILE]: { content: `${f.maxRunning}\n`, mode: "0644" },
  };
}

import { createServer, type Server, type Socket } from "node:net";

export interface ReceivedMail {
  /** Who logged in, with which password (checked against the expected one). */
  user: string;
  from: string;
  to: string[];
  /** The message as sent (headers and body), quoted-printable decoded. */
  text: string;
}

/**
 * A small SMTP server for what n8n's Send Email node (nodemailer) does: EHLO,
 * AUTH PLAIN or LOGIN, MAIL, RCPT, DATA, QUIT, in plain text (it offers no
 * STARTTLS). It takes only the expected password, and records each message.
 */
export class SmtpStandIn {
  readonly mails: ReceivedMail[] = [];
  /** Logins refused for a wrong password. */
  refused = 0;
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly password: string,
    private readonly host = "127.0.0.1",
  ) {}

  async start(): Promise<this> {
    this.server = createServer((socket) => this.session(socket));
    await new Promise<void>((r) => this.server!.listen(0, this.host, r));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  private session(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    const say = (line: string): void => void socket.write(`${line}\r\n`);
    let buffer = "";
    let user: string | undefined;
    let login: "user" | "pass" | undefined;
    let mail: { from: string; to: string[] } = { from: "", to: [] };
    let data: string | undefined;
    const authenticate = (u: string, p: string): void => {
      if (p === this.password) {
        user = u;
        say("235 2.7.0 authenticated");
      } else {
        this.refused += 1;
        say("535 5.7.8 authentication failed");
      }
    };
    const command = (line: string): void => {
      if (login === "user") {
        user = Buffer.from(line, "base64").toString("utf8");
        login = "pass";
        say(`334 ${Buffer.from("Password:").toString("base64")}`);
        return;
      }
      if (login === "pass") {
        login = undefined;
        const u = user!;
        user = undefined;
        authenticate(u, Buffer.from(line, "base64").toString("utf8"));
        return;
      }
      const [verb = "", ...rest] = line.split(" ");
      const arg = rest.join(" ");
      switch (verb.toUpperCase()) {
        case "EHLO":
          say("250-stand-in");
          say("250-AUTH PLAIN LOGIN");
          return say("250 8BITMIME");
        case "HELO":
          return say("250 stand-in");
        case "AUTH": {
          const [mech = "", initial] = arg.split(" ");
          if (mech.toUpperCase() === "PLAIN" && initial !== undefined) {
            const [, u = "", p = ""] = Buffer.from(initial, "base64").toString("utf8").split("\0");
            return authenticate(u, p);
          }
          if (mech.toUpperCase() === "LOGIN") {
            login = "user";
            return say(`334 ${Buffer.from("Username:").toString("base64")}`);
          }
          return say("504 5.5.4 unsupported mechanism");
        }
        case "MAIL":
          if (user === undefined) return say("530 5.7.0 authentication required");
          mail = { from: /<([^>]*)>/.exec(arg)?.[1] ?? "", to: [] };
          return say("250 2.1.0 ok");
        case "RCPT":
          mail.to.push(/<([^>]*)>/.exec(arg)?.[1] ?? "");
          return say("250 2.1.5 ok");
        case "DATA":
          data = "";
          return say("354 end with <CRLF>.<CRLF>");
        case "RSET":
        case "NOOP":
          return say("250 ok");
        case "QUIT":
          say("221 bye");
          socket.end();
          return;
        default:
          return say("502 5.5.2 unknown command");
      }
    };
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      for (;;) {
        if (data !== undefined) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          data += buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          this.mails.push({ user: user ?? "", from: mail.from, to: mail.to, text: decodeQuotedPrintable(data.replace(/^\.\./gm, ".")) });
          data = undefined;
          say("250 2.0.0 queued");
          continue;
        }
        const nl = buffer.indexOf("\r\n");
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        command(line);
      }
    });
    say("220 stand-in ESMTP");
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Soft line breaks and =XX escapes undone (harmless on a 7-bit message, which has neither). */
function decodeQuotedPrintable(text: string): string {
  const bytes = Buffer.from(text.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1");
  return bytes.toString("utf8");
}

import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * restic derives every key with scrypt tuned to take half a second, and pays
 * for it on every run: most of a backup test's time. For test repositories
 * only, this replaces the key that `restic init` made with one of the same
 * master key under cheap scrypt parameters, so the real restic opens it in
 * milliseconds. The format is restic's own (doc/design.rst, "Keys"): scrypt
 * gives 64 bytes (AES-256 key, then Poly1305-AES's K and r); the key file's
 * data is IV ‖ AES-256-CTR(master key JSON) ‖ Poly1305-AES(ciphertext).
 */

const P130 = (1n << 130n) - 5n;

function le(bytes: Buffer): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function poly1305Aes(message: Buffer, nonce: Buffer, k: Buffer, rBytes: Buffer): Buffer {
  const r = le(rBytes) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const aes = createCipheriv("aes-128-ecb", k, null);
  aes.setAutoPadding(false);
  const s = le(Buffer.concat([aes.update(nonce), aes.final()]));
  let acc = 0n;
  for (let i = 0; i < message.length; i += 16) {
    const chunk = message.subarray(i, i + 16);
    acc = ((acc + le(Buffer.concat([chunk, Buffer.from([1])]))) * r) % P130;
  }
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(tag & 0xffn);
    tag >>= 8n;
  }
  return out;
}

interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

function derive(password: string, k: KeyFile): { encrypt: Buffer; macK: Buffer; macR: Buffer } {
  const key = scryptSync(password, Buffer.from(k.salt, "base64"), 64, { N: k.N, r: k.r, p: k.p, maxmem: 512 * 1024 * 1024 });
  return { encrypt: key.subarray(0, 32), macK: key.subarray(32, 48), macR: key.subarray(48, 64) };
}

function open(password: string, k: KeyFile): Buffer {
  const { encrypt, macK, macR } = derive(password, k);
  const data = Buffer.from(k.data, "base64");
  const iv = data.subarray(0, 16);
  const ciphertext = data.subarray(16, data.length - 16);
  if (!poly1305Aes(ciphertext, iv, macK, macR).equals(data.subarray(data.length - 16))) throw new Error("restic key: wrong password or a format this helper does not know");
  const d = createDecipheriv("aes-256-ctr", encrypt, iv);
  return Buffer.concat([d.update(ciphertext), d.final()]);
}

function seal(password: string, k: Omit<KeyFile, "data">, plaintext: Buffer): KeyFile {
  const { encrypt, macK, macR } = derive(password, { ...k, data: "" });
  const iv = randomBytes(16);
  const c = createCipheriv("aes-256-ctr", encrypt, iv);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  return { ...k, data: Buffer.concat([iv, ciphertext, poly1305Aes(ciphertext, iv, macK, macR)]).toString("base64") };
}

/** Re-keys a local repository (every key file) with cheap scrypt parameters. Test repositories only. */
export function useFastKey(repo: string, password: string): void {
  const dir = join(repo, "keys");
  for (const name of readdirSync(dir)) {
    const file: KeyFile = JSON.parse(readFileSync(join(dir, name), "utf8"));
    let master: Buffer;
    try {
      master = open(password, file);
    } catch {
      continue; // another password's key (a reader's): left as it is
    }
    const fast = seal(password, { created: file.created, username: file.username, hostname: file.hostname, kdf: "scrypt", N: 16, r: 1, p: 1, salt: randomBytes(64).toString("base64") }, master);
    const text = JSON.stringify(fast);
    const id = createHash("sha256").update(text).digest("hex");
    writeFileSync(join(dir, id), text, { mode: 0o400 });
    rmSync(join(dir, name));
  }
}

/**
 * Adds a fast key for `newPassword` to a local repository that `password` opens: the key file `restic key add`
 * would write, without its scrypt calibration (about 1.7 s of CPU). For a test's extra keys (a reader's).
 */
export function addFastKey(repo: string, password: string, newPassword: string): void {
  const dir = join(repo, "keys");
  let master: Buffer | undefined;
  for (const name of readdirSync(dir)) {
    try {
      master = open(password, JSON.parse(readFileSync(join(dir, name), "utf8")));
      break;
    } catch {
      continue; // another password's key
    }
  }
  if (master === undefined) throw new Error(`no key of ${repo} opens with the password given`);
  const text = JSON.stringify(seal(newPassword, { created: new Date().toISOString(), username: "test", hostname: "test", kdf: "scrypt", N: 16, r: 1, p: 1, salt: randomBytes(64).toString("base64") }, master));
  writeFileSync(join(dir, createHash("sha256").update(text).digest("hex")), text, { mode: 0o400 });
}

/** One fast-keyed repository per password, made once per test process: what `initRepository` copies. */
const templates = new Map<string, string>();
let templateRoot: string | undefined;

/**
 * Makes a new local repository at `repo` (which must not exist), opened by
 * `password` with a fast key. `restic init` tunes its key derivation first,
 * about 3 s of CPU each time; a test that wants a fresh repository gets a copy
 * of one the real restic made once in this process. Copies share the
 * repository ID and master key, which no test compares across repositories.
 */
export function initRepository(repo: string, password: string): void {
  let template = templates.get(password);
  if (template === undefined) {
    if (templateRoot === undefined) {
      const root = mkdtempSync(join(tmpdir(), "supafleet-restic-template-"));
      templateRoot = root;
      process.once("exit", () => rmSync(root, { recursive: true, force: true }));
    }
    template = join(templateRoot, String(templates.size));
    const init = spawnSync("restic", ["init", "-r", template], { encoding: "utf8", env: { ...process.env, RESTIC_PASSWORD: password } });
    if (init.status !== 0) throw new Error(`restic init failed: ${init.stderr}`);
    useFastKey(template, password);
    templates.set(password, template);
  }
  cpSync(template, repo, { recursive: true, errorOnExist: true, force: false });
}

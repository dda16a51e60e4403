/** OpenSSH key types and the exact size of the ed25519 blob: 4+11 bytes of type, 4+32 of key. */
const ED25519_BLOB = 51;

/**
 * What is wrong with an OpenSSH public key line, or nothing. The base64 blob
 * must decode, and the type inside it must be the type the line declares, so
 * a key pasted with the wrong prefix or cut short is caught before a server
 * is built with it.
 */
export function sshKeyProblem(line: string): string | undefined {
  const [type, blob, ...comment] = line.split(" ");
  if (type === undefined || blob === undefined) return "must be an OpenSSH public key line such as 'ssh-ed25519 AAAA… name'";
  const bytes = Buffer.from(blob, "base64");
  if (bytes.toString("base64").replace(/=+$/, "") !== blob.replace(/=+$/, "")) return "the key is not valid base64";
  if (bytes.length < 4) return "the key is too short to be a key";
  const length = bytes.readUInt32BE(0);
  const inner = bytes.subarray(4, 4 + length).toString("latin1");
  if (length > bytes.length - 4 || inner !== type) return `the key inside is ${/^[\x20-\x7e]+$/.test(inner) ? `"${inner}"` : "not a key"}, but the line says ${type}`;
  if (type === "ssh-ed25519" && bytes.length !== ED25519_BLOB) return "the ed25519 key is cut short or too long";
  if (comment.join(" ").length > 100) return "its comment is longer than 100 characters";
  return undefined;
}

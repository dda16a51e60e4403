import { randomBytes } from "node:crypto";
import { client } from "../clients";
import { errorText, type Outcome } from "../result";
import type { ProbeTarget } from "../target";

/** A private bucket round trip with the service key; what it created is removed whatever happens. */
export async function checkStorage(project: ProbeTarget["projects"][number], tag: string): Promise<Outcome> {
  const storage = client(project.apiUrl, project.serviceKey).storage;
  const bucket = `probe-${tag}`;
  const path = "probe.bin";
  const payload = randomBytes(4096);
  const made = await storage.createBucket(bucket, { public: false });
  if (made.error) throw new Error(`create bucket ${bucket} failed: ${made.error.message}`);
  let verdict: Outcome;
  try {
    const up = await storage.from(bucket).upload(path, payload, { contentType: "application/octet-stream" });
    if (up.error) throw new Error(`upload failed: ${up.error.message}`);
    const down = await storage.from(bucket).download(path);
    if (down.error) throw new Error(`download failed: ${down.error.message}`);
    const got = Buffer.from(await down.data.arrayBuffer());
    verdict = got.equals(payload)
      ? { ok: true, detail: `${payload.length} bytes in ${bucket} came back identical` }
      : { ok: false, detail: `downloaded ${got.length} bytes differ from the ${payload.length} uploaded` };
  } catch (err) {
    verdict = { ok: false, detail: errorText(err) };
  }
  // Cleanup problems are reported too, after whatever went wrong first.
  const problems: string[] = [];
  try {
    const rm = await storage.from(bucket).remove([path]);
    if (rm.error) problems.push(`remove object: ${rm.error.message}`);
    const del = await storage.deleteBucket(bucket);
    if (del.error) problems.push(`delete bucket: ${del.error.message}`);
  } catch (err) {
    problems.push(errorText(err));
  }
  if (problems.length > 0) verdict = { ok: false, detail: `${verdict.detail}; cleanup of ${bucket}: ${problems.join("; ")}` };
  return verdict;
}

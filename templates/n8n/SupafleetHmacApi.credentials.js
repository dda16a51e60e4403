"use strict";
// supafleet: a credential type that signs a request's body, loaded by n8n from
// ~/.n8n/custom. No stock n8n 1.123 node can: the Crypto node takes its HMAC
// secret as a plain node parameter, which would put the secret in the
// workflow JSON. Here the secret stays in an encrypted credential, and the
// HTTP Request node (which may use any credential type) signs with it.
// n8n require()s its extensions by the name *.credentials.js: CommonJS, not .cjs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHmac } = require("node:crypto");

class SupafleetHmacApi {
  name = "supafleetHmacApi";
  displayName = "supafleet HMAC signature";
  properties = [
    { displayName: "Header", name: "header", type: "string", default: "X-Supafleet-Signature" },
    { displayName: "Secret", name: "secret", type: "string", typeOptions: { password: true }, default: "" },
  ];

  // The signature covers the exact bytes sent, so only a raw string body can be signed.
  async authenticate(credentials, requestOptions) {
    const body = requestOptions.body;
    if (typeof body !== "string") throw new Error("supafleetHmacApi signs raw string bodies only: set the HTTP Request body to raw");
    if (!credentials.secret || !credentials.header) throw new Error("supafleetHmacApi: the credential has no secret or header");
    const signature = createHmac("sha256", credentials.secret).update(body, "utf8").digest("hex");
    requestOptions.headers = { ...(requestOptions.headers ?? {}), [credentials.header]: `sha256=${signature}` };
    return requestOptions;
  }
}

module.exports = { SupafleetHmacApi };

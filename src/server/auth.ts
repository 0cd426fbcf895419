/**
 * The API key: `Authorization: Bearer <key>` or `X-Api-Key: <key>`, compared as SHA-256 digests
 * with crypto.timingSafeEqual, so the comparison's time depends on neither the key's length nor
 * its content (test/server/abuse-conn.test.ts, the timingSafeEqual spy). An empty or blank key is
 * refused when the server starts: it would match an empty header (test/server/auth.test.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { EmbedError } from "../errors.js";
import { HttpError } from "./errors.js";

/** The key's digest, or undefined for no key; throws BAD_OPTION for an empty or whitespace key. */
export function apiKeyDigest(key: string | undefined): Buffer | undefined {
  if (key === undefined) return undefined;
  if (key.trim() === "") {
    throw new EmbedError(
      "BAD_OPTION",
      "the API key is empty or blank; set a real key (--api-key or GGUF_EMBED_API_KEY), or unset it to serve without one",
      { option: "apiKey" },
    );
  }
  return sha256(key);
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

export function checkApiKey(req: IncomingMessage, digest: Buffer): void {
  const auth = req.headers.authorization;
  const m = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth.trim());
  const given = m ? m[1] : typeof req.headers["x-api-key"] === "string" ? req.headers["x-api-key"] : undefined;
  const challenge = { "www-authenticate": 'Bearer realm="gguf-embed"' };
  if (given === undefined)
    throw new HttpError(401, "missing API key: send the header Authorization: Bearer <key>", "UNAUTHORIZED", null, challenge);
  // An empty key never matches (the server refuses to start with one); the digest is still compared.
  if (!timingSafeEqual(sha256(given), digest) || given.trim() === "")
    throw new HttpError(401, "invalid API key", "UNAUTHORIZED", null, challenge);
}

/**
 * Read a JSON request body: content-type check (415), byte limit (413, before reading when
 * Content-Length already says so), a deadline for slow senders (408), parse errors (400), and a
 * client that goes away mid-body (499, CLIENT_CLOSED: logged as one line, not as an error).
 * drainBody discards the rest of a body we answered early (see its contract).
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.js";
import type { Json } from "./request.js";

export interface BodyLimits {
  bodyLimit: number;
  bodyTimeoutMs: number;
}

/** application/json or any +json type, with any parameters. A missing Content-Type is taken as JSON. */
function isJsonType(header: string | undefined): boolean {
  if (header === undefined) return true;
  const type = header.split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[\w.+-]+\+json$/.test(type);
}

/** The client went away before its request was complete: nobody is left to answer (nginx's 499). */
export function clientClosed(): HttpError {
  return new HttpError(499, "the client closed the connection before sending the whole body", "CLIENT_CLOSED");
}

export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<Json> {
  const ctype = req.headers["content-type"];
  if (!isJsonType(ctype)) throw new HttpError(415, `Content-Type must be application/json, got ${ctype}`, "UNSUPPORTED_MEDIA_TYPE");
  const tooLarge = () => new HttpError(413, `request body is larger than the limit of ${limits.bodyLimit} bytes`, "BODY_TOO_LARGE");
  const declared = Number(req.headers["content-length"]);
  if (declared > limits.bodyLimit) throw tooLarge();

  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let nBytes = 0;
    let settled = false;
    const finish = (err: Error | undefined, value = "") => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(value);
    };
    const onData = (c: Buffer) => {
      nBytes += c.length;
      if (nBytes > limits.bodyLimit) finish(tooLarge());
      else chunks.push(c);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks).toString("utf8"));
    // Node reports a client that disconnects mid-body as an "aborted" error, then close.
    const onError = () => finish(clientClosed());
    const onClose = () => finish(clientClosed());
    // The timer fires in the timers phase, possibly right after a long batch that blocked the
    // event loop while the body's bytes were already waiting in the socket. setImmediate runs after
    // the next poll phase, which reads them, so a body that did arrive is not refused.
    const timer = setTimeout(
      () =>
        setImmediate(() => finish(new HttpError(408, `the request body did not arrive within ${limits.bodyTimeoutMs} ms`, "BODY_TIMEOUT"))),
      limits.bodyTimeoutMs,
    );
    req.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });

  if (text.trim() === "") throw new HttpError(400, "the request body is empty; send a JSON object", "INVALID_JSON");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`, "INVALID_JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new HttpError(400, "the request body must be a JSON object", "INVALID_JSON");
  return body as Json;
}

/**
 * Discard the rest of a body we answered without reading (413, 401, 415, ...), so the client can
 * read the answer: closing with unread bytes arriving makes the kernel reset the connection
 * (RFC 9112 section 9.6). At most max(16 MiB, 4 x bodyLimit) bytes within the body deadline; past
 * either the connection is cut. Returns false (the caller closes the connection) when the declared
 * length is over that cap. Guarded by test/server/abuse.test.ts ("a 10 MB body: 413 that the
 * client gets to read").
 */
export function drainBody(req: IncomingMessage, limits: BodyLimits): boolean {
  const cap = Math.max(16 * 1024 * 1024, 4 * limits.bodyLimit);
  if (req.destroyed || Number(req.headers["content-length"]) > cap) return false;
  let n = 0;
  const cut = setTimeout(() => setImmediate(() => req.complete || req.socket.destroy()), limits.bodyTimeoutMs); // after a poll, as above
  const done = () => clearTimeout(cut);
  req.on("data", (c: Buffer) => {
    if ((n += c.length) > cap) req.socket.destroy();
  });
  req.once("end", done).once("close", done).once("error", done);
  req.resume();
  return true;
}

/**
 * The node:http server: routing (404/405), API key (401), CORS, JSON bodies with a byte limit
 * (413), a content-type check (415) and a deadline (408), errors as JSON, metrics, and graceful
 * shutdown. Route semantics live in openai.ts and llama.ts; batching lives in queue.ts.
 *
 * The JS compute path blocks the event loop while a batch runs, so no request is read meanwhile;
 * requests that arrive during a batch are parsed right after it and join the next one together.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Task } from "../embed/prompts.js";
import type { Handler, Reply, ServedModel, ServerContext } from "./context.js";
import { errorBody, HttpError, toHttpError } from "./errors.js";
import { detokenize, health, llamaEmbeddings, models, tokenize } from "./llama.js";
import { Metrics } from "./metrics.js";
import { openaiEmbeddings } from "./openai.js";
import { EmbedQueue } from "./queue.js";
import { readJsonBody } from "./body.js";

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Require `Authorization: Bearer <key>` (or `X-Api-Key: <key>`) except on /health and the model list. */
  apiKey?: string;
  /** "*" or a comma-separated list of allowed origins. Default: no CORS headers. */
  cors?: string;
  maxBatchTokens?: number;
  /** Requests that may wait for the model; one more gets 503 + Retry-After. Default 64. */
  maxQueue?: number;
  /** Largest request body in bytes. Default 2 MiB. */
  bodyLimit?: number;
  /** Most prompts in one embedding request; more get 400 before anything is tokenized. Default 2048 (OpenAI's limit). */
  maxInputs?: number;
  defaultTask?: Task;
  defaultDimensions?: number;
  modelId?: string;
  /** Time to receive the request headers (Node's headersTimeout). Default 30 s. */
  headersTimeoutMs?: number;
  /** Time to receive the body once the headers are in. Default 60 s. */
  bodyTimeoutMs?: number;
  /** An idle kept-alive connection is closed after this long (Node's keepAliveTimeout). Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** After close(), connections still open after this long are cut. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** One line per request and per warning. Default: none. */
  log?: (line: string) => void;
}

export interface EmbeddingServer {
  url: string;
  port: number;
  queue: EmbedQueue;
  metrics: Metrics;
  /** Stop accepting, finish the requests in flight, then resolve. Idempotent. */
  close(): Promise<void>;
  /** Cut every connection now (a second Ctrl-C). */
  closeNow(): void;
}

const ROUTES: Record<string, { GET?: Handler; POST?: Handler }> = {
  "/v1/embeddings": { POST: openaiEmbeddings },
  "/embeddings": { POST: llamaEmbeddings },
  "/embedding": { POST: llamaEmbeddings },
  "/tokenize": { POST: tokenize },
  "/detokenize": { POST: detokenize },
  "/health": { GET: health },
  "/v1/health": { GET: health },
  "/v1/models": { GET: models },
  "/models": { GET: models },
  "/metrics": { GET: (_b, ctx) => ({ text: ctx.metrics.render(ctx.queue.depth), contentType: "text/plain; version=0.0.4; charset=utf-8" }) },
};

/** Reachable without the API key, as in llama-server (health checks, model discovery). */
const PUBLIC_ROUTES = new Set(["/health", "/v1/health", "/v1/models", "/models"]);

export async function startServer(model: ServedModel, opts: ServerOptions = {}): Promise<EmbeddingServer> {
  const log = opts.log ?? (() => {});
  const metrics = new Metrics();
  // Reliability fix (load test): Node's header-timeout check runs in the timers phase, which comes
  // right after a forward pass that blocked the event loop and before the poll phase that reads what
  // arrived meanwhile. A connection accepted just before a pass longer than the header timeout, whose
  // request came during the pass, got Node's bare 408. The check is off while a pass runs and back
  // on one poll phase later; a real slow sender is cut at the first check after that.
  let passes = 0;
  const queue = new EmbedQueue({
    embedPrepared: (prepared, o) => {
      if (passes++ === 0) server.headersTimeout = 0;
      try {
        return model.embedPrepared(prepared, o);
      } finally {
        setImmediate(() => --passes === 0 && (server.headersTimeout = headersTimeout));
      }
    },
  }, {
    maxBatchTokens: opts.maxBatchTokens ?? 4096,
    maxQueue: opts.maxQueue ?? 64,
    onBatch: (b) => metrics.batch(b.inputs, b.tokens),
  });
  const warned = new Set<string>();
  const ctx: ServerContext = {
    model,
    queue,
    metrics,
    defaults: { task: opts.defaultTask, dimensions: opts.defaultDimensions },
    modelId: opts.modelId ?? model.info.name ?? "gguf-embed",
    maxInputs: opts.maxInputs ?? 2048,
    created: Math.floor(Date.now() / 1000),
    warn: (m) => {
      if (!warned.has(m)) log(`warning: ${m}`);
      warned.add(m);
    },
  };
  const limits = { bodyLimit: opts.bodyLimit ?? 2 * 1024 * 1024, bodyTimeoutMs: opts.bodyTimeoutMs ?? 60_000 };
  const apiKeyDigest = opts.apiKey !== undefined ? sha256(opts.apiKey) : undefined;
  const origins = opts.cors?.split(",").map((s) => s.trim()).filter(Boolean);
  let shuttingDown = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    metrics.inFlight++;
    // Reliability fix (server abuse tests): `new URL` throws on an absolute-form target such as
    // "GET http://[ HTTP/1.1", which Node's parser accepts. It ran outside the try, so the rejection
    // went unhandled and killed the process. An unparsable target is now a 400 (below).
    const path = requestPath(req.url);
    const route = path !== undefined && Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    const method = req.method ?? "GET";
    let status = 500;
    try {
      if (origins) cors(req, res, origins);
      if (shuttingDown) throw new HttpError(503, "the server is shutting down", "SHUTTING_DOWN");
      if (path === undefined) throw new HttpError(400, "the request target is not a valid URL", "BAD_REQUEST_TARGET");
      if (!route) throw new HttpError(404, `no route ${method} ${path}; see GET /v1/models, POST /v1/embeddings, /embeddings, /tokenize, /detokenize`, "NOT_FOUND");
      const allow = [...Object.keys(route), "OPTIONS"].join(", ");
      if (method === "OPTIONS") {
        res.writeHead((status = 204), { allow, ...connection() }).end();
        return;
      }
      const handler = route[method as "GET" | "POST"];
      if (!handler) throw new HttpError(405, `${path} does not take ${method}; use ${Object.keys(route).join(" or ")}`, "METHOD_NOT_ALLOWED", null, { allow });
      if (apiKeyDigest && !PUBLIC_ROUTES.has(path)) checkApiKey(req, apiKeyDigest);
      const body = method === "POST" ? await readJsonBody(req, limits) : {};
      status = send(res, await handler(body, ctx));
    } catch (e) {
      const he = toHttpError(e);
      status = he.status;
      if (he.code === "INTERNAL") log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (res.headersSent || res.destroyed) return;
      // A body we did not read (or stopped reading) is discarded so the client can read this answer
      // (see drainBody); a stalled one (408), or one too large to discard, closes the connection.
      const unread = !req.complete && (he.code === "BODY_TIMEOUT" || !drainBody(req, limits));
      const text = JSON.stringify(errorBody(he, path?.startsWith("/v1/") ? "openai" : "llama"));
      res.writeHead(he.status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...he.headers, ...connection(unread) });
      res.end(text);
    } finally {
      metrics.inFlight--;
      const seconds = (performance.now() - t0) / 1000;
      metrics.observe(route && path !== undefined ? path : "other", ["GET", "POST", "OPTIONS"].includes(method) ? method : "other", status, seconds);
      log(`${method} ${path ?? "(invalid target)"} ${status} ${(seconds * 1000).toFixed(0)}ms`);
    }
  }

  /** During shutdown every response closes its connection, so keep-alive sockets drain. */
  function connection(force = false): Record<string, string> {
    return shuttingDown || force ? { connection: "close" } : {};
  }

  function send(res: ServerResponse, reply: Reply): number {
    const status = reply.status ?? 200;
    const text = reply.text ?? JSON.stringify(reply.json);
    const type = reply.contentType ?? "application/json; charset=utf-8";
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text), ...connection() });
    res.end(text);
    return status;
  }

  const headersTimeout = opts.headersTimeoutMs ?? 30_000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: 0, // the body deadline is ours (body.ts), robust to a busy event loop
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
    },
    // handle() answers every error itself; this catch is the last resort (a throw while writing the
    // error response), so that no request can end the process with an unhandled rejection.
    (req, res) =>
      void handle(req, res).catch((e: unknown) => {
        log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        res.destroy();
      }),
  );
  // Reliability fix (load test): a kept-alive connection's idle timeout (keepAliveTimeout) can expire
  // while a batch blocks the event loop; the timers phase then ran before the poll phase that would
  // have read the next request already waiting on that socket, so Node closed it and the client got
  // ECONNRESET for a request sent well within the keep-alive window. With a 'timeout' listener Node
  // leaves the socket to us: close it only if no byte arrived by the next check phase (after a poll).
  // The socket timeout is used by Node for keep-alive only here (server.timeout is 0).
  server.on("timeout", (socket: Socket) => {
    const seen = socket.bytesRead;
    setImmediate(() => {
      if (socket.bytesRead === seen) socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    queue,
    metrics,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shuttingDown = true;
        const cut = setTimeout(() => server.closeAllConnections(), opts.shutdownTimeoutMs ?? 30_000);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
    closeNow() {
      shuttingDown = true;
      server.close();
      server.closeAllConnections();
    },
  };
}

/**
 * Reliability fix (server abuse tests): an error answered before the request body was read (413,
 * 401, 415, ...) used to close the connection at once, with the body paused. The body bytes still
 * arriving then made the kernel reset the connection (RFC 9112 §9.6, the "TCP reset problem"), and
 * a client still sending, e.g. fetch or a raw socket with a 10 MB body, often got EPIPE/ECONNRESET
 * instead of the 413. Now the rest is read and discarded, at most max(16 MiB, 4 x bodyLimit) bytes
 * within the body deadline (past either the connection is cut), and the connection stays usable.
 * Returns false (the caller closes the connection) when the declared length is over that cap.
 */
function drainBody(req: IncomingMessage, limits: { bodyLimit: number; bodyTimeoutMs: number }): boolean {
  const cap = Math.max(16 * 1024 * 1024, 4 * limits.bodyLimit);
  if (req.destroyed || Number(req.headers["content-length"]) > cap) return false;
  let n = 0;
  const cut = setTimeout(() => setImmediate(() => req.complete || req.socket.destroy()), limits.bodyTimeoutMs); // after a poll, as in body.ts
  const done = () => clearTimeout(cut);
  req.on("data", (c: Buffer) => {
    if ((n += c.length) > cap) req.socket.destroy();
  });
  req.once("end", done).once("close", done).once("error", done);
  req.resume();
  return true;
}

/** The path of a request target, or undefined when it does not parse as a URL. */
function requestPath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? "/", "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Compare digests, not the strings, so the comparison time does not depend on the key's length or content. */
function checkApiKey(req: IncomingMessage, digest: Buffer): void {
  const auth = req.headers.authorization;
  const m = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth.trim());
  const given = m ? m[1] : typeof req.headers["x-api-key"] === "string" ? req.headers["x-api-key"] : undefined;
  const challenge = { "www-authenticate": 'Bearer realm="gguf-embed"' };
  if (given === undefined) throw new HttpError(401, "missing API key: send the header Authorization: Bearer <key>", "UNAUTHORIZED", null, challenge);
  if (!timingSafeEqual(sha256(given), digest)) throw new HttpError(401, "invalid API key", "UNAUTHORIZED", null, challenge);
}

function cors(req: IncomingMessage, res: ServerResponse, origins: string[]): void {
  const origin = req.headers.origin;
  if (origins.includes("*")) res.setHeader("access-control-allow-origin", "*");
  else if (origin !== undefined && origins.includes(origin)) res.setHeader("access-control-allow-origin", origin);
  else return;
  res.setHeader("vary", "Origin");
  res.setHeader("access-control-expose-headers", "Retry-After");
  if (req.method === "OPTIONS") {
    res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
    res.setHeader("access-control-allow-headers", req.headers["access-control-request-headers"] ?? "authorization, content-type");
    res.setHeader("access-control-max-age", "600");
  }
}

/**
 * The node:http server: routing (404/405), API key (401, auth.ts), CORS, JSON bodies (body.ts:
 * 413, 415, 408, 499), errors as JSON, metrics, responses written as the client reads (send.ts),
 * and graceful shutdown (connections.ts). Route semantics live in openai.ts, llama.ts, ollama.ts
 * (Ollama's /api/*) and tei.ts (text-embeddings-inference); batching
 * in queue.ts; tokenizing (on a worker thread for large bodies) in tokenize.ts. docs/server.md
 * describes the routes, limits and timeouts; RELIABILITY.md what was found under load and abuse.
 *
 * The forward pass blocks the event loop while a batch runs, so no request is read meanwhile;
 * requests that arrive during a batch are parsed right after it and join the next one together.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Pooling } from "../embed/pooling.js";
import type { Task } from "../embed/prompts.js";
import { apiKeyDigest, checkApiKey } from "./auth.js";
import { cors } from "./cors.js";
import { drainBody, readJsonBody } from "./body.js";
import { Connections } from "./connections.js";
import type { Handler, ServedModel, ServerContext } from "./context.js";
import { errorBody, HttpError, toHttpError, type ErrorFlavor } from "./errors.js";
import { detokenize, health, llamaEmbeddings, modelById, models, props, tokenize } from "./llama.js";
import { Metrics } from "./metrics.js";
import { ollamaEmbed, ollamaEmbeddings, ollamaTags, ollamaVersion } from "./ollama.js";
import { openaiEmbeddings } from "./openai.js";
import { teiDecode, teiEmbed, teiEmbedAll, teiInfo, teiTokenize } from "./tei.js";
import { EmbedQueue } from "./queue.js";
import { SendBudget, sendReply } from "./send.js";
import { DEFAULT_OFFLOAD_CHARS, TokenizeService } from "./tokenize.js";

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /**
   * Require `Authorization: Bearer <key>` (or `X-Api-Key: <key>`) except on /health and the model
   * list. Empty or blank: a start-up error.
   */
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
  /** Pooling when a request names none, over the GGUF's (llama-server's --pooling). */
  defaultPooling?: Pooling;
  modelId?: string;
  /** The model file, reported by /props (path) and /api/tags (size in bytes). */
  modelPath?: string;
  modelSize?: number;
  /** Time to receive the request headers (Node's headersTimeout). Default 30 s. */
  headersTimeoutMs?: number;
  /** Time to receive the body once the headers are in. Default 60 s. */
  bodyTimeoutMs?: number;
  /** An idle kept-alive connection is closed after this long (Node's keepAliveTimeout). Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** A response the client stops reading is cut after this long without progress. Default 30 s. */
  sendTimeoutMs?: number;
  /** Response bytes buffered in this process over all connections; past it, writers wait. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Requests with more characters of text than this are tokenized on a worker thread. Default 65536. */
  tokenizeOffloadChars?: number;
  /** After close(), connections still busy after this long are cut. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** One line per request and per warning. Default: none. */
  log?: (line: string) => void;
}

export interface EmbeddingServer {
  url: string;
  port: number;
  /** The request queue; read it after `ready` (startServer given a model promise). */
  readonly queue: EmbedQueue;
  metrics: Metrics;
  /**
   * Resolves once the model is loaded and requests are served; until then every route answers
   * 503 "Loading model" (as llama-server). Rejects if the model promise rejects (the server keeps
   * listening: close() it).
   */
  ready: Promise<void>;
  /**
   * Stop accepting; answer every request already received (its result, or 503 with Connection:
   * close); close idle connections and ones still sending headers at once; cut the rest after
   * shutdownTimeoutMs; then resolve. Idempotent.
   */
  close(): Promise<void>;
  /** Cut every connection now (a second Ctrl-C). */
  closeNow(): void;
}

type Route = { GET?: Handler; POST?: Handler };

/** Errors of a TEI handler in TEI's shape (a route shared with llama-server picks it per request). */
function tei(h: Handler): Handler {
  return async (body, ctx) => {
    try {
      return await h(body, ctx);
    } catch (e) {
      const he = toHttpError(e, "inputs");
      he.flavor = "tei";
      throw he;
    }
  };
}

const ROUTES: Record<string, Route> = {
  "/v1/embeddings": { POST: openaiEmbeddings },
  "/embeddings": { POST: llamaEmbeddings },
  "/embedding": { POST: llamaEmbeddings },
  // llama-server's {content} or TEI's {inputs}
  "/tokenize": { POST: (b, ctx) => (b.inputs !== undefined && b.content === undefined ? tei(teiTokenize)(b, ctx) : tokenize(b, ctx)) },
  "/detokenize": { POST: detokenize },
  "/health": { GET: health },
  "/v1/health": { GET: health },
  "/v1/models": { GET: models },
  "/models": { GET: models },
  "/props": { GET: props },
  "/metrics": {
    GET: (_b, ctx) => ({ text: ctx.metrics.render(ctx.queue.depth), contentType: "text/plain; version=0.0.4; charset=utf-8" }),
  },
  "/api/embed": { POST: ollamaEmbed },
  "/api/embeddings": { POST: ollamaEmbeddings },
  "/api/tags": { GET: ollamaTags },
  "/api/version": { GET: ollamaVersion },
  "/embed": { POST: tei(teiEmbed) },
  "/embed_all": { POST: tei(teiEmbedAll) },
  "/decode": { POST: tei(teiDecode) },
  "/info": { GET: tei(teiInfo) },
};

/** Reachable without the API key, as in llama-server (health checks, model discovery). */
const PUBLIC_ROUTES = new Set(["/health", "/v1/health", "/v1/models", "/models", "/api/tags", "/api/version"]);
const TEI_ROUTES = new Set(["/embed", "/embed_all", "/decode", "/info"]);

/** The route of a path: a fixed one, or GET /v1/models/{id}. */
function findRoute(path: string | undefined): Route | undefined {
  if (path === undefined) return undefined;
  if (Object.hasOwn(ROUTES, path)) return ROUTES[path];
  if (path.startsWith("/v1/models/") && path.length > "/v1/models/".length) {
    const raw = path.slice("/v1/models/".length);
    return {
      GET: (_b, ctx) => {
        let id: string;
        try {
          id = decodeURIComponent(raw);
        } catch {
          throw new HttpError(400, "the model id in the path is not valid percent-encoding", "BAD_REQUEST_TARGET");
        }
        return modelById(id, ctx);
      },
    };
  }
  return undefined;
}

/** The error shape of a path: OpenAI's under /v1/ and for unknown paths, Ollama's, TEI's, else llama-server's. */
function flavorOf(path: string | undefined, route: Route | undefined): ErrorFlavor {
  if (path === undefined || !route || path.startsWith("/v1/")) return "openai";
  if (path.startsWith("/api/")) return "ollama";
  return TEI_ROUTES.has(path) ? "tei" : "llama";
}

export async function startServer(modelOrLoading: ServedModel | Promise<ServedModel>, opts: ServerOptions = {}): Promise<EmbeddingServer> {
  const log = opts.log ?? (() => {});
  const digest = apiKeyDigest(opts.apiKey); // a blank key is refused before anything listens
  const metrics = new Metrics();
  const headersTimeout = opts.headersTimeoutMs ?? 30_000;
  // Invariant: Node's header timeout is off while our own synchronous work holds the event loop (a
  // forward pass, tokenizing on the loop) and until one poll phase after it, so a request that
  // arrived meanwhile is read before its header clock is judged; a real slow sender is cut at the
  // first check after that. Guarded by test/server/abuse-conn.test.ts ("header timeout vs a long
  // forward pass") and test/server/header-timeout.test.ts (tokenizing). RELIABILITY.md section 5.
  // Two check phases: work done in a poll phase (tokenizing a body that just arrived) is followed by
  // that iteration's check phase before the next timers and poll; one more turn puts a poll between.
  let held = 0;
  const blocking = <T>(f: () => T): T => {
    if (held++ === 0) server.headersTimeout = 0;
    try {
      return f();
    } finally {
      setImmediate(() => setImmediate(() => --held === 0 && (server.headersTimeout = headersTimeout)));
    }
  };
  const limits0 = { maxBatchTokens: opts.maxBatchTokens ?? 4096, maxQueue: opts.maxQueue ?? 64 };
  const warned = new Set<string>();
  const created = Math.floor(Date.now() / 1000);
  let ctx: ServerContext | undefined; // undefined while the model loads
  let tokenizer: TokenizeService | undefined;
  const makeContext = (model: ServedModel): ServerContext => {
    const queue = new EmbedQueue(
      { embedPrepared: (prepared, o) => blocking(() => model.embedPrepared(prepared, o)) },
      {
        ...limits0,
        onBatch: (b) => metrics.batch(b.inputs, b.tokens),
      },
    );
    tokenizer = new TokenizeService(model, { offloadChars: opts.tokenizeOffloadChars ?? DEFAULT_OFFLOAD_CHARS, blocking });
    return {
      model,
      queue,
      tokenize: tokenizer,
      metrics,
      defaults: { task: opts.defaultTask, dimensions: opts.defaultDimensions, pooling: opts.defaultPooling },
      modelId: opts.modelId ?? model.info.name ?? "gguf-embed",
      maxInputs: opts.maxInputs ?? 2048,
      limits: limits0,
      modelPath: opts.modelPath ?? "",
      modelSize: opts.modelSize ?? 0,
      created,
      warn: (m) => {
        if (!warned.has(m)) log(`warning: ${m}`);
        warned.add(m);
      },
    };
  };
  let ready: Promise<void>;
  if (modelOrLoading instanceof Promise) {
    ready = modelOrLoading.then((m) => {
      ctx = makeContext(m);
    });
    ready.catch(() => {}); // the caller handles it through `ready`
  } else {
    ctx = makeContext(modelOrLoading);
    ready = Promise.resolve();
  }
  const limits = { bodyLimit: opts.bodyLimit ?? 2 * 1024 * 1024, bodyTimeoutMs: opts.bodyTimeoutMs ?? 60_000 };
  const sending = { sendTimeoutMs: opts.sendTimeoutMs ?? 30_000, budget: new SendBudget(opts.maxBufferedBytes ?? 64 * 1024 * 1024) };
  const origins = opts.cors
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  let shuttingDown = false;

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const t0 = performance.now();
    metrics.inFlight++;
    conns.begin(req.socket, res);
    // An unparsable absolute-form target ("GET http://[ HTTP/1.1", which Node's parser accepts) is a
    // 400 here, never a throw outside the try (test/server/abuse.test.ts, "... 400 for an
    // unparsable target").
    const path = requestPath(req.url);
    const route = findRoute(path);
    const method = req.method ?? "GET";
    let status = 500;
    let note = "";
    let continued = false;
    try {
      if (origins) cors(req, res, origins);
      if (shuttingDown) throw new HttpError(503, "the server is shutting down", "SHUTTING_DOWN");
      if (path === undefined) throw new HttpError(400, "the request target is not a valid URL", "BAD_REQUEST_TARGET");
      if (!route) {
        throw new HttpError(
          404,
          `no route ${method} ${path}; see GET /v1/models, POST /v1/embeddings, /embeddings, /api/embed, /embed, ... (docs/server.md)`,
          "NOT_FOUND",
        );
      }
      const allow = [...Object.keys(route), "OPTIONS"].join(", ");
      if (method === "OPTIONS") {
        res.writeHead((status = 204), { allow, ...connection() }).end();
        return;
      }
      const handler = route[method as "GET" | "POST"];
      if (!handler)
        throw new HttpError(405, `${path} does not take ${method}; use ${Object.keys(route).join(" or ")}`, "METHOD_NOT_ALLOWED", null, {
          allow,
        });
      if (digest && !PUBLIC_ROUTES.has(path) && !path.startsWith("/v1/models/")) checkApiKey(req, digest);
      // `Expect: 100-continue`: every refusal above comes before the client uploads its body.
      if (expectsContinue) {
        res.writeContinue();
        continued = true;
      }
      if (!ctx) throw new HttpError(503, "Loading model", "LOADING");
      const body = method === "POST" ? await readJsonBody(req, limits) : {};
      const reply = await handler(body, ctx);
      status = reply.status ?? 200;
      const outcome = await sendReply(res, reply, { ...sending, headers: connection() });
      if (outcome === "timeout") metrics.sendTimeouts++;
      if (outcome !== "sent")
        [status, note] = [
          499,
          outcome === "timeout" ? `cut: the client read nothing for ${sending.sendTimeoutMs} ms` : "the client closed the connection",
        ];
    } catch (e) {
      const he = toHttpError(e);
      status = he.status;
      if (he.code === "INTERNAL") log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (he.status === 499 || res.destroyed) {
        // The client went away: one log line, counted as 499, nobody to answer.
        [status, note] = [499, "the client closed the connection"];
        return;
      }
      if (res.headersSent) {
        res.destroy(); // a failure mid-answer: the client sees a cut, never a silent truncation
        return;
      }
      // A body we did not read (or stopped reading) is discarded so the client can read this answer
      // (drainBody); a stalled one (408), one too large to discard, or one the client was told not
      // to send yet (100-continue) closes the connection instead.
      const unread = !req.complete && ((expectsContinue && !continued) || he.code === "BODY_TIMEOUT" || !drainBody(req, limits));
      const flavor = he.flavor ?? flavorOf(path, route);
      const outcome = await sendReply(
        res,
        { status: he.status, json: errorBody(he, flavor) },
        { ...sending, headers: { ...he.headers, ...connection(unread) } },
      );
      if (outcome !== "sent") [status, note] = [499, "the client closed the connection"];
    } finally {
      metrics.inFlight--;
      const seconds = (performance.now() - t0) / 1000;
      const label = route && path !== undefined ? (path.startsWith("/v1/models/") ? "/v1/models/{id}" : path) : "other";
      metrics.observe(label, ["GET", "POST", "OPTIONS"].includes(method) ? method : "other", status, seconds);
      log(`${method} ${path ?? "(invalid target)"} ${status} ${(seconds * 1000).toFixed(0)}ms${note ? ` (${note})` : ""}`);
    }
  }

  /** During shutdown every response closes its connection, so keep-alive sockets drain. */
  function connection(force = false): Record<string, string> {
    return shuttingDown || force ? { connection: "close" } : {};
  }

  const server = createServer(
    {
      headersTimeout,
      requestTimeout: 0, // the body deadline is ours (body.ts), robust to a busy event loop
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
    },
    // handle() answers every error itself; this catch is the last resort (a throw while writing the
    // error response), so that no request can end the process with an unhandled rejection.
    (req, res) => run(req, res, false),
  );
  const run = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) =>
    void handle(req, res, expectsContinue).catch((e: unknown) => {
      log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      res.destroy();
    });
  // With a listener, Node leaves `Expect: 100-continue` to us: handle() sends 100 Continue only
  // after the checks that need no body (test/server/auth.test.ts).
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => run(req, res, true));
  const conns = new Connections(server);
  // Invariant: a kept-alive socket is closed for idleness only if no byte arrived by the next check
  // phase (after a poll): its keep-alive timer can expire while a batch blocks the loop, with the
  // next request already waiting unread. Node leaves the socket to this 'timeout' listener (it uses
  // the socket timeout for keep-alive only here: server.timeout is 0). Guarded by
  // test/server/abuse-conn.test.ts ("keep-alive: a request sent while the event loop is blocked").
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
    get queue(): EmbedQueue {
      if (!ctx) throw new Error("the model is still loading: await server.ready");
      return ctx.queue;
    },
    metrics,
    ready,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await conns.drain(); // requests already in the kernel's buffers are read (and answered) first
        await new Promise<void>((resolve) => {
          const cut = setTimeout(() => server.closeAllConnections(), opts.shutdownTimeoutMs ?? 30_000);
          server.close(() => {
            clearTimeout(cut);
            resolve();
          });
        });
        await ready.catch(() => {});
        await tokenizer?.close();
      })();
      return closing;
    },
    closeNow() {
      shuttingDown = true;
      server.close();
      server.closeAllConnections();
      void tokenizer?.close();
    },
  };
}

/** The path of a request target, or undefined when it does not parse as a URL. */
function requestPath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? "/", "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

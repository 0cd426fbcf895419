/** What route handlers see: the model, the shared queue, tokenization, metrics and server-side defaults. */
import type { EmbedInput, EmbedOptions, EmbeddingModel, PreparedInput } from "../embed/embedder.js";
import type { GGUFMetadata } from "../gguf/keys.js";
import { HttpError, toHttpError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { QueueFullError, type EmbedQueue } from "./queue.js";
import type { Json, RequestDefaults } from "./request.js";
import type { TokenizeService } from "./tokenize.js";

/**
 * The parts of EmbeddingModel the server uses (tests may wrap a model to pace its forward calls).
 * `file` (the GGUF metadata) lets large bodies be tokenized on a worker thread; without it they are
 * tokenized on the event loop.
 */
export type ServedModel = Pick<EmbeddingModel, "info" | "tokenizer" | "prepare" | "embedPrepared"> & { file?: { metadata: GGUFMetadata } };

export interface ServerContext {
  model: ServedModel;
  queue: EmbedQueue;
  tokenize: TokenizeService;
  metrics: Metrics;
  defaults: RequestDefaults;
  /** Name reported by /v1/models and echoed as `model` when a request names none. */
  modelId: string;
  /** Unix seconds when the server started (the `created` of /v1/models). */
  created: number;
  /** Most prompts in one embedding request (ServerOptions.maxInputs). */
  maxInputs: number;
  /** The queue's limits, reported by TEI's /info. */
  limits: { maxQueue: number; maxBatchTokens: number };
  /** The model file's path and size in bytes when known (/props, /api/tags), else "" and 0. */
  modelPath: string;
  modelSize: number;
  warn: (message: string) => void;
}

export interface Reply {
  status?: number;
  /** A small JSON value, serialized at once. */
  json?: unknown;
  text?: string;
  contentType?: string;
  /** A large answer's JSON text in pieces, produced only as fast as the client reads (send.ts). */
  body?: Iterable<string>;
}

export type Handler = (body: Json, ctx: ServerContext) => Reply | Promise<Reply>;

/** Seconds a client is told to wait (Retry-After) when the queue is full. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Tokenize and length-check on the request's own turn (so errors come back without waiting), then
 * queue the inputs for a shared forward pass. `field` names the prompt field in error params.
 * The prompt count is refused before anything is tokenized (test/server/abuse.test.ts, "100,000
 * prompts"); large texts are tokenized off the event loop (tokenize.ts).
 */
export async function embedAll(
  ctx: ServerContext,
  inputs: EmbedInput[],
  opts: EmbedOptions,
  field: string,
): Promise<{ vectors: Float32Array[]; prepared: PreparedInput[] }> {
  if (inputs.length > ctx.maxInputs)
    throw new HttpError(
      400,
      `"${field}" has ${inputs.length} prompts, more than the limit of ${ctx.maxInputs} per request; split it into several requests`,
      "TOO_MANY_INPUTS",
      field,
    );
  let prepared: PreparedInput[];
  try {
    prepared = await ctx.tokenize.prepare(inputs, opts);
  } catch (e) {
    throw toHttpError(e, field);
  }
  try {
    const vectors = await ctx.queue.submit(prepared, { ...opts, onWarning: ctx.warn });
    return { vectors, prepared };
  } catch (e) {
    if (e instanceof QueueFullError)
      throw new HttpError(503, e.message, "QUEUE_FULL", null, { "retry-after": String(RETRY_AFTER_SECONDS) });
    throw toHttpError(e, field);
  }
}

/**
 * Request fields shared by the embedding routes (/v1/embeddings, /embeddings, /embedding): the
 * prompt forms llama-server's tokenize_input_prompts accepts, `embd_normalize`, and our extensions
 * `task`, `title`, `dimensions`, `truncate`, `pooling`. Every rejection names the field. The option
 * values are checked by the library's own validator (embed/options.ts); docs/server.md lists them.
 * ref: llama.cpp tools/server/server-common.cpp tokenize_input_prompts; tools/server/server-context.cpp
 * server_routes::handle_embeddings_impl.
 */
import type { EmbedInput, EmbedOptions } from "../embed/embedder.js";
import { checkBool, checkDimensions, checkPooling, checkString, checkTask, normalizeFromLlama, show } from "../embed/options.js";
import type { Pooling } from "../embed/pooling.js";
import type { Task } from "../embed/prompts.js";
import { EmbedError } from "../errors.js";
import { badField } from "./errors.js";

export { show };

/** Server-side defaults, used when a request omits the field. */
export interface RequestDefaults {
  task?: Task;
  dimensions?: number;
  /** The server's pooling (llama-server's --pooling), when it overrides the GGUF's. */
  pooling?: Pooling;
}

export type Json = Record<string, unknown>;

const isTokenId = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x);

/**
 * `"text"` -> one prompt; `["a", "b"]` -> two; `[12, 34]` -> one pre-tokenized prompt used verbatim;
 * `[[12, 34], [56]]` -> two. llama-server also takes mixed `[12, "text"]` arrays as one prompt; its
 * BOS/EOS rule there is unclear, so we reject them rather than guess.
 */
export function parseInputs(v: unknown, field: string): EmbedInput[] {
  if (typeof v === "string") return [v];
  if (!Array.isArray(v))
    throw badField(field, `"${field}" must be a string, an array of strings, an array of token ids or an array of arrays of token ids`);
  if (v.length === 0) throw badField(field, `"${field}" must not be empty`);
  if (v.every((x) => typeof x === "string")) return v as string[];
  if (v.every((x) => typeof x === "number")) return [tokenIds(v, `${field}`)];
  if (v.every((x) => Array.isArray(x))) return v.map((x: unknown[], i) => tokenIds(x, `${field}[${i}]`));
  const bad = v.findIndex((x) => typeof x !== "string" && typeof x !== "number" && !Array.isArray(x));
  if (bad >= 0)
    throw badField(`${field}[${bad}]`, `${field}[${bad}] must be a string, a token id or an array of token ids, got ${describe(v[bad])}`);
  const i = v.findIndex((x) => typeof x !== typeof v[0] || Array.isArray(x) !== Array.isArray(v[0]));
  throw badField(
    `${field}[${i}]`,
    `"${field}" mixes types (element 0 is ${describe(v[0])}, element ${i} is ${describe(v[i])}); send all strings, all token ids, or all arrays of token ids`,
  );
}

function tokenIds(a: unknown[], param: string): number[] {
  if (a.length === 0) throw badField(param, `${param} is an empty array of token ids`);
  const j = a.findIndex((x) => !isTokenId(x));
  if (j >= 0) throw badField(`${param}[${j}]`, `${param}[${j}] must be an integer token id, got ${describe(a[j])}`);
  return a as number[];
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return "an array";
  if (x === null) return "null";
  return typeof x === "string" ? "a string" : typeof x === "number" ? `the number ${x}` : `a ${typeof x}`;
}

/** The library's check, with the server's error: 400 BAD_INPUT whose param is the field. */
function field<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof EmbedError && e.code === "BAD_OPTION") throw badField(String(e.detail.option), e.message);
    throw e;
  }
}

/** Options common to every embedding route. `nEmbdOut` bounds `dimensions`. */
export function parseEmbedOptions(body: Json, defaults: RequestDefaults, nEmbdOut: number): EmbedOptions {
  const opts: EmbedOptions = {};
  // An explicit null turns a server default off (e.g. "task": null embeds the raw text).
  const task = "task" in body ? body.task : defaults.task;
  if (task !== undefined && task !== null) opts.task = field(() => checkTask(task));
  if (body.title !== undefined) opts.title = field(() => checkString(body.title, "title"));
  const dims = "dimensions" in body ? body.dimensions : defaults.dimensions;
  if (dims !== undefined && dims !== null) opts.dimensions = field(() => checkDimensions(dims, nEmbdOut));
  if (body.truncate !== undefined) opts.truncate = field(() => checkBool(body.truncate, "truncate"));
  if (body.embd_normalize !== undefined) opts.normalize = field(() => normalizeFromLlama(body.embd_normalize));
  const pooling = body.pooling ?? defaults.pooling;
  if (pooling !== undefined) opts.pooling = field(() => checkPooling(pooling));
  return opts;
}

/** `encoding_format`: "float" (default) or "base64". llama-server checks it on every embedding route. */
export function parseEncodingFormat(body: Json): "float" | "base64" {
  const f = body.encoding_format ?? "float";
  if (f !== "float" && f !== "base64")
    throw badField("encoding_format", `"encoding_format" must be "float" or "base64", got ${show(body.encoding_format)}`);
  return f;
}

export function optionalBool(body: Json, key: string, dflt: boolean): boolean {
  const v = body[key];
  return v === undefined ? dflt : field(() => checkBool(v, key));
}

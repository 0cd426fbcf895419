/**
 * Request fields shared by the embedding routes (/v1/embeddings, /embeddings, /embedding): the
 * prompt forms llama-server's tokenize_input_prompts accepts, `embd_normalize`, and our extensions
 * `task`, `title`, `dimensions`, `truncate`, `pooling`. Every rejection names the field.
 * ref: spec llama-server-embeddings.md §2.3.
 */
import type { EmbedInput, EmbedOptions } from "../embed/embedder.js";
import type { Normalize, Pooling } from "../embed/pooling.js";
import { isTask, TASKS, type Task } from "../embed/prompts.js";
import { badField } from "./errors.js";

/** Server-side defaults, used when a request omits the field. */
export interface RequestDefaults {
  task?: Task;
  dimensions?: number;
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
  if (!Array.isArray(v)) throw badField(field, `"${field}" must be a string, an array of strings, an array of token ids or an array of arrays of token ids`);
  if (v.length === 0) throw badField(field, `"${field}" must not be empty`);
  if (v.every((x) => typeof x === "string")) return v as string[];
  if (v.every((x) => typeof x === "number")) return [tokenIds(v, `${field}`)];
  if (v.every((x) => Array.isArray(x))) return v.map((x: unknown[], i) => tokenIds(x, `${field}[${i}]`));
  const bad = v.findIndex((x) => typeof x !== "string" && typeof x !== "number" && !Array.isArray(x));
  if (bad >= 0) throw badField(`${field}[${bad}]`, `${field}[${bad}] must be a string, a token id or an array of token ids, got ${describe(v[bad])}`);
  const i = v.findIndex((x) => typeof x !== typeof v[0] || Array.isArray(x) !== Array.isArray(v[0]));
  throw badField(`${field}[${i}]`, `"${field}" mixes types (element 0 is ${describe(v[0])}, element ${i} is ${describe(v[i])}); send all strings, all token ids, or all arrays of token ids`);
}

function tokenIds(a: unknown[], param: string): number[] {
  if (a.length === 0) throw badField(param, `${param} is an empty array of token ids`);
  const j = a.findIndex((x) => !isTokenId(x));
  if (j >= 0) throw badField(`${param}[${j}]`, `${param}[${j}] must be an integer token id, got ${describe(a[j])}`);
  return a as number[];
}

/**
 * A request value quoted in an error message. Reliability fix (server abuse tests): these messages
 * used JSON.stringify(value), which recurses, so a 100,000-deep `[[[...]]]` in e.g. "task" overflowed
 * the stack (500 instead of 400), and a 1 MB string was echoed back whole. Containers are described,
 * primitives quoted and cut to 80 characters.
 */
export function show(x: unknown): string {
  if (x !== null && typeof x === "object") return Array.isArray(x) ? "an array" : "an object";
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return "an array";
  if (x === null) return "null";
  return typeof x === "string" ? "a string" : typeof x === "number" ? `the number ${x}` : `a ${typeof x}`;
}

/** llama.cpp embd_normalize: -1 none, 0 max-abs (int16 range), 1 taxicab, 2 euclidean, >2 p-norm. */
export function normalizeFromLlama(v: unknown): Normalize {
  // Reliability fix (server abuse tests): an integer such as 1e308 passed here as "p1e+308", which the
  // library refused only after the request had waited in the queue, naming "normalize". Safe integers only.
  if (!isTokenId(v) || v < -1 || !Number.isSafeInteger(v)) throw badField("embd_normalize", `"embd_normalize" must be an integer >= -1 (-1 none, 0 max-abs, 1 taxicab, 2 euclidean, >2 p-norm), got ${show(v)}`);
  return v === -1 ? "none" : v === 0 ? "maxabs" : v === 1 ? "taxicab" : v === 2 ? "l2" : `p${v}`;
}

/** Options common to every embedding route. `nEmbdOut` bounds `dimensions`. */
export function parseEmbedOptions(body: Json, defaults: RequestDefaults, nEmbdOut: number): EmbedOptions {
  const opts: EmbedOptions = {};
  // An explicit null turns a server default off (e.g. "task": null embeds the raw text).
  const task = "task" in body ? body.task : defaults.task;
  if (task !== undefined && task !== null) {
    if (typeof task !== "string" || !isTask(task)) throw badField("task", `"task" must be one of ${TASKS.join(", ")}, got ${show(task)}`);
    opts.task = task;
  }
  if (body.title !== undefined) {
    if (typeof body.title !== "string") throw badField("title", `"title" must be a string`);
    opts.title = body.title;
  }
  const dims = "dimensions" in body ? body.dimensions : defaults.dimensions;
  if (dims !== undefined && dims !== null) {
    if (!isTokenId(dims) || dims < 1 || dims > nEmbdOut) throw badField("dimensions", `"dimensions" must be an integer from 1 to ${nEmbdOut}, got ${show(dims)}`);
    opts.dimensions = dims;
  }
  if (body.truncate !== undefined) {
    if (typeof body.truncate !== "boolean") throw badField("truncate", `"truncate" must be a boolean`);
    opts.truncate = body.truncate;
  }
  if (body.embd_normalize !== undefined) opts.normalize = normalizeFromLlama(body.embd_normalize);
  if (body.pooling !== undefined) {
    const p = body.pooling;
    if (p !== "mean" && p !== "cls" && p !== "last" && p !== "none") throw badField("pooling", `"pooling" must be mean, cls, last or none, got ${show(p)}`);
    opts.pooling = p as Pooling;
  }
  return opts;
}

/** `encoding_format`: "float" (default) or "base64". llama-server checks it on every embedding route. */
export function parseEncodingFormat(body: Json): "float" | "base64" {
  const f = body.encoding_format ?? "float";
  if (f !== "float" && f !== "base64") throw badField("encoding_format", `"encoding_format" must be "float" or "base64", got ${show(body.encoding_format)}`);
  return f;
}

export function optionalBool(body: Json, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw badField(key, `"${key}" must be a boolean`);
  return v;
}

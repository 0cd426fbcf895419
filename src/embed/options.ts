/**
 * Embedding options and their one validator, shared by the library (EmbeddingModel.prepare and
 * embedPrepared) and the HTTP server (server/request.ts reads the same options from JSON).
 * Each check takes an untrusted value and the name the caller knows the option by ("dimensions",
 * "embd_normalize", "--dim"), and returns the value typed, or throws EmbedError BAD_OPTION with
 * `detail.option` = that name. Normalization modes follow llama.cpp common/common.cpp
 * `common_embd_normalize` (the `embd_normalize` integer of llama-server and llama-embedding).
 */
import { EmbedError } from "../errors.js";
import type { Normalize, Pooling } from "./pooling.js";
import { TASKS, isTask, type Task } from "./prompts.js";

export interface EmbedOptions {
  task?: Task;
  /** Document title, with task "document" ("title: {title} | text: ..."). */
  title?: string;
  /** Matryoshka: keep the first N components, then re-normalize. */
  dimensions?: number;
  /** Default "l2" (true); false = "none". */
  normalize?: boolean | Normalize;
  /** Default: the model's GGUF pooling_type. "none" returns (nTokens x dim) row-major per input. */
  pooling?: Pooling;
  /** Cut inputs longer than the context to fit, keeping BOS and EOS. Default: INPUT_TOO_LONG error. */
  truncate?: boolean;
  /** With `truncate`: "right" (default) drops the end of the text, "left" its beginning (TEI's truncation_direction). */
  truncationDirection?: "left" | "right";
  /** Aborting it makes embed() reject with EmbedError ABORTED before the next batch starts (work not yet begun is dropped). */
  signal?: AbortSignal;
  /** Token budget of one forward pass (several inputs are packed up to it; a longer input runs alone). Default DEFAULT_BATCH_TOKENS. */
  maxBatchTokens?: number;
  /** Called once per warning (e.g. an untrained Matryoshka size). Default: console.warn. */
  onWarning?: (message: string) => void;
}

export const POOLINGS: readonly Pooling[] = ["mean", "cls", "last", "none"];

/**
 * A value quoted in an error message. Containers are only described and primitives cut to 80
 * characters, so a 100,000-deep array or a 1 MB string neither overflows the stack nor is echoed
 * back whole (test/server/abuse.test.ts, "100,000-deep nesting").
 */
export function show(x: unknown): string {
  if (x !== null && typeof x === "object") return Array.isArray(x) ? "an array" : "an object";
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function bad(name: string, message: string): EmbedError {
  return new EmbedError("BAD_OPTION", message, { option: name });
}

export function checkTask(v: unknown, name = "task"): Task {
  if (typeof v !== "string" || !isTask(v)) throw bad(name, `"${name}" must be one of ${TASKS.join(", ")}, got ${show(v)}`);
  return v;
}

export function checkString(v: unknown, name: string): string {
  if (typeof v !== "string") throw bad(name, `"${name}" must be a string, got ${show(v)}`);
  return v;
}

export function checkBool(v: unknown, name: string): boolean {
  if (typeof v !== "boolean") throw bad(name, `"${name}" must be a boolean, got ${show(v)}`);
  return v;
}

/** An integer from 1 to nEmbdOut. */
export function checkDimensions(v: unknown, nEmbdOut: number, name = "dimensions"): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > nEmbdOut) {
    throw bad(name, `"${name}" must be an integer from 1 to ${nEmbdOut}, got ${show(v)}`);
  }
  return v;
}

export function checkPooling(v: unknown, name = "pooling"): Pooling {
  if (!(POOLINGS as readonly unknown[]).includes(v)) throw bad(name, `"${name}" must be mean, cls, last or none, got ${show(v)}`);
  return v as Pooling;
}

/** The library's form: true / undefined (l2), false (none), "none", "l2", "maxabs", "taxicab" or "pN" (N > 0). */
export function checkNormalize(v: unknown, name = "normalize"): Normalize {
  if (v === undefined || v === true) return "l2";
  if (v === false) return "none";
  if (v === "none" || v === "l2" || v === "maxabs" || v === "taxicab") return v;
  if (typeof v === "string" && /^p\d+(\.\d+)?$/.test(v) && Number(v.slice(1)) > 0) return v as Normalize;
  throw bad(name, `"${name}" must be none, l2, maxabs, taxicab or pN (N > 0), got ${show(v)}`);
}

/**
 * llama.cpp's integer form (`embd_normalize`): -1 none, 0 max-abs (int16 range), 1 taxicab,
 * 2 euclidean, > 2 p-norm. Safe integers only, so 1e308 is refused here, naming the field, and
 * never becomes the mode "p1e+308" (test/server/abuse.test.ts, "negative, fractional, non-finite
 * and huge numbers").
 */
export function normalizeFromLlama(v: unknown, name = "embd_normalize"): Normalize {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < -1) {
    throw bad(name, `"${name}" must be an integer >= -1 (-1 none, 0 max-abs, 1 taxicab, 2 euclidean, >2 p-norm), got ${show(v)}`);
  }
  return v === -1 ? "none" : v === 0 ? "maxabs" : v === 1 ? "taxicab" : v === 2 ? "l2" : `p${v}`;
}

/** What embedPrepared needs from EmbedOptions, checked. */
export interface OutputOptions {
  pooling: Pooling | undefined;
  normalize: Normalize;
  dimensions: number;
}

/** Check every option of a library call; throws BAD_OPTION naming the first bad one. */
export function checkEmbedOptions(opts: EmbedOptions, nEmbdOut: number): OutputOptions {
  if (opts === null || typeof opts !== "object") throw bad("options", `the options must be an object, got ${show(opts)}`);
  if (opts.task !== undefined) checkTask(opts.task);
  if (opts.title !== undefined) checkString(opts.title, "title");
  if (opts.truncate !== undefined) checkBool(opts.truncate, "truncate");
  if (opts.truncationDirection !== undefined && opts.truncationDirection !== "left" && opts.truncationDirection !== "right") {
    throw bad("truncationDirection", `"truncationDirection" must be "left" or "right", got ${show(opts.truncationDirection)}`);
  }
  if (opts.signal !== undefined && (opts.signal === null || typeof opts.signal !== "object" || typeof opts.signal.aborted !== "boolean")) {
    throw bad("signal", `"signal" must be an AbortSignal, got ${show(opts.signal)}`);
  }
  if (opts.maxBatchTokens !== undefined && (!Number.isSafeInteger(opts.maxBatchTokens) || opts.maxBatchTokens < 1)) {
    throw bad("maxBatchTokens", `"maxBatchTokens" must be a positive integer, got ${show(opts.maxBatchTokens)}`);
  }
  return {
    pooling: opts.pooling === undefined ? undefined : checkPooling(opts.pooling),
    normalize: checkNormalize(opts.normalize),
    dimensions: opts.dimensions === undefined ? nEmbdOut : checkDimensions(opts.dimensions, nEmbdOut),
  };
}

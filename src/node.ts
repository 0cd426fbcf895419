/**
 * gguf-embed for Node: everything in the browser-safe entry, plus file paths (and split files) and
 * cached Hub models ("embeddinggemma", "hf:owner/repo:QUANT", "hf:owner/repo/file.gguf").
 */
import "./node/relaxed-simd.js"; // first: V8's relaxed-SIMD flag before any wasm is compiled
import "./runtime/node-worker.js"; // registers worker_threads and the CPU count (runtime/platform.ts)
import { fileURLToPath } from "node:url";
import { loadFromSources, type LoadOptions } from "./embed/load.js";
import type { EmbeddingModel } from "./embed/embedder.js";
import { loadTokenizer as loadTokenizerFromSources, toByteSources, type ModelSource } from "./index.js";
import { readCpuFlags } from "./node/cpu-flags.js";
import type { Tokenizer } from "./tokenizer/index.js";
import { FileSource, openModelFiles } from "./node/fs-source.js";
import { resolveModel } from "./node/resolve.js";

export * from "./index.js";
export { FileSource, openModelFiles };
export { resolveModel, pullModel, type ResolveOptions, type PullResult } from "./node/resolve.js";
export { DEFAULT_MODEL, MODEL_ALIASES } from "./node/hub.js";
export { cacheDir } from "./node/cache.js";
export { readCpuFlags } from "./node/cpu-flags.js";

/**
 * Like the browser loadModel, but a string that is not an http(s) URL is a file path, or a model
 * spec resolved through the cache (downloaded on first use; see resolveModel).
 */
export async function loadModel(src: ModelSource, opts: LoadOptions = {}): Promise<EmbeddingModel> {
  if (src instanceof URL && src.protocol === "file:") src = fileURLToPath(src);
  const env = { cpuFlags: await readCpuFlags() }; // numerics "auto": the variant llama.cpp loads on this CPU
  if (typeof src === "string" && !/^https?:\/\//.test(src))
    return loadFromSources(await openModelFiles(await resolveModel(src)), opts, env);
  return loadFromSources(await toByteSources(src), opts, env);
}

/** Like the browser loadTokenizer, but a string that is not an http(s) URL is a file path or a model spec (as in loadModel). */
export async function loadTokenizer(src: ModelSource): Promise<Tokenizer> {
  if (src instanceof URL && src.protocol === "file:") src = fileURLToPath(src);
  if (typeof src !== "string" || /^https?:\/\//.test(src)) return loadTokenizerFromSources(src);
  const files = await openModelFiles(await resolveModel(src));
  try {
    return await loadTokenizerFromSources(files);
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
}

/**
 * Load a model from byte sources (browser-safe): parse, build the tokenizer, plan (every refusal
 * that metadata alone decides, before any tensor data is read), create the backend, read the
 * tensors the model uses, bind. On any error the sources and the backend (its worker threads and
 * WebAssembly memory) are released before the error reaches the caller.
 */
import { EmbedError } from "../errors.js";
import { GGUFValueType } from "../gguf/keys.js";
import { readGGUFParts } from "../gguf/split.js";
import type { ByteSource } from "../gguf/source.js";
import type { Backend } from "../kernels/backend.js";
import { jsBackend } from "../kernels/js-backend.js";
import { createWasmBackend } from "../kernels/wasm.js";
import { hasWasmSimd } from "../kernels/wasm-module.js";
import { buildModel, planModel, readTensors } from "../models/loader.js";
import { createTokenizer } from "../tokenizer/index.js";
import { EmbeddingModel } from "./embedder.js";
import { poolingFromGGUF } from "./pooling.js";

export interface LoadOptions {
  /**
   * "wasm": WebAssembly SIMD kernels on worker threads. "js": the plain TypeScript reference path
   * (the oracle the wasm path is tested against; 20-30x slower). Both give identical vectors, bit
   * for bit. Default "auto": wasm where the runtime has WebAssembly SIMD (Node >= 20 and current
   * browsers), else js; `model.info.backend` says which one runs. An explicit "wasm" fails with
   * BAD_OPTION where SIMD is missing.
   */
  backend?: "auto" | "js" | "wasm";
  /** Threads for the wasm backend (default: available parallelism). */
  threads?: number;
  /**
   * wasm backend: false keeps to the baseline-SIMD kernels even where relaxed SIMD is available
   * (default: relaxed kernels when the runtime has them and their self-check passes; the vectors
   * are the same either way).
   */
  relaxedSimd?: boolean;
  /** Progress while reading weights, in bytes. */
  onProgress?: (loaded: number, total: number) => void;
}

/** Which backend `opts` asks for, validated, without creating it. */
export function backendKind(opts: LoadOptions): "js" | "wasm" {
  if (opts.backend === "js" || opts.backend === "wasm") return opts.backend;
  if (opts.backend === undefined || opts.backend === "auto") return hasWasmSimd() ? "wasm" : "js";
  throw new EmbedError("BAD_OPTION", `backend must be "auto", "js" or "wasm", got ${JSON.stringify(opts.backend)}`, { option: "backend" });
}

export async function pickBackend(opts: LoadOptions): Promise<Backend> {
  if (backendKind(opts) === "js") return jsBackend;
  return createWasmBackend({ threads: opts.threads, relaxedSimd: opts.relaxedSimd === false ? false : "auto" });
}

export async function loadFromSources(sources: ByteSource[], opts: LoadOptions = {}): Promise<EmbeddingModel> {
  const closeSources = async () => { await Promise.all(sources.map((s) => s.close?.())); };
  let backend: Backend | undefined;
  try {
    const kind = backendKind(opts);
    const file = await readGGUFParts(sources);
    // Plan first (cheap) with the vocabulary's size; a missing or malformed vocabulary is left to
    // createTokenizer, which names the problem.
    const tokens = file.metadata.get("tokenizer.ggml.tokens");
    const nTokens = tokens?.type === GGUFValueType.ARRAY && tokens.itemType === GGUFValueType.STRING ? tokens.value.length : 0;
    const plan = nTokens > 0 ? planModel(file, nTokens, kind) : undefined;
    const tokenizer = createTokenizer(file.metadata);
    const { hp, tensors: used } = plan ?? planModel(file, tokenizer.nVocab, kind);
    poolingFromGGUF(hp.poolingType); // refuses rank pooling before anything is read
    const be = (backend = await pickBackend(opts));
    const tensors = await readTensors(used, (n) => be.alloc(n), opts.onProgress);
    const model = buildModel(file, tensors, be, tokenizer.nVocab);
    await closeSources(); // every tensor is in memory now
    return new EmbeddingModel(file, model, tokenizer, () => be.close());
  } catch (e) {
    await closeSources().catch(() => {});
    await backend?.close().catch(() => {});
    throw e;
  }
}

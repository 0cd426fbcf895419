/** Load a model from byte sources (browser-safe): parse, build the tokenizer, read weights, bind. */
import { EmbedError } from "../errors.js";
import { readGGUFParts } from "../gguf/split.js";
import type { ByteSource } from "../gguf/source.js";
import type { Backend } from "../kernels/backend.js";
import { jsBackend } from "../kernels/js-backend.js";
import { createWasmBackend } from "../kernels/wasm.js";
import { hasWasmSimd } from "../kernels/wasm-module.js";
import { buildModel, readAllTensors } from "../models/loader.js";
import { createTokenizer } from "../tokenizer/index.js";
import { EmbeddingModel } from "./embedder.js";

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

export async function pickBackend(opts: LoadOptions): Promise<Backend> {
  if (opts.backend === "js") return jsBackend;
  const wasm = () => createWasmBackend({ threads: opts.threads, relaxedSimd: opts.relaxedSimd === false ? false : "auto" });
  if (opts.backend === "wasm") return wasm();
  if (opts.backend === undefined || opts.backend === "auto") return hasWasmSimd() ? wasm() : jsBackend;
  throw new EmbedError("BAD_OPTION", `backend must be "auto", "js" or "wasm", got ${JSON.stringify(opts.backend)}`, { option: "backend" });
}

export async function loadFromSources(sources: ByteSource[], opts: LoadOptions = {}): Promise<EmbeddingModel> {
  const backend = await pickBackend(opts);
  const close = async () => { await Promise.all(sources.map((s) => s.close?.())); };
  try {
    const file = await readGGUFParts(sources);
    const tokenizer = createTokenizer(file.metadata);
    const tensors = await readAllTensors(file, (n) => backend.alloc(n), opts.onProgress);
    const model = buildModel(file, tensors, backend, tokenizer.nVocab);
    await close(); // every tensor is in memory now
    return new EmbeddingModel(file, model, tokenizer, () => backend.close());
  } catch (e) {
    await close();
    throw e;
  }
}

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
import { createJsBackend } from "../kernels/js-backend.js";
import { chooseNumerics, type NumericsChoice } from "../kernels/numerics.js";
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
  /**
   * wasm backend: false keeps off the relaxed unsigned × signed dot kernels even where their
   * start-up probe passes (default: used where the probe passes, e.g. Node 24 on a CPU with
   * AVX-VNNI; same vectors either way). GGUF_EMBED_USDOT=0 does the same.
   */
  usdot?: boolean;
  /**
   * Which llama.cpp CPU variant's bits to reproduce (docs/numerics.md): "auto" (default) picks the
   * variant llama.cpp itself loads on this CPU where the CPU's features can be read (Node on
   * Linux), else "avx512"; or a profile ("amx", "avx512", "avx512-nobf16", "avx2") or a llama.cpp
   * variant name ("zen4", "icelake", "haswell", …). `model.info.numerics` says which is in use.
   */
  numerics?: string;
  /**
   * Most tokens in one input (llama.cpp's n_ctx, llama-server's -c): longer inputs are refused or,
   * with `truncate`, cut to it. Default (or 0): the trained context, n_ctx_train.
   */
  contextLength?: number;
  /** Called once per load warning (also in model.info.warnings). Default: console.warn. */
  onWarning?: (message: string) => void;
  /** Progress while reading weights, in bytes. */
  onProgress?: (loaded: number, total: number) => void;
}

function envOff(name: string): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[name] === "0";
}

/** What the runtime can tell about the machine (the Node entry reads the CPU's feature flags). */
export interface LoadEnv {
  cpuFlags?: ReadonlySet<string>;
}

/** Which backend `opts` asks for, validated, without creating it. */
export function backendKind(opts: LoadOptions): "js" | "wasm" {
  if (opts.backend === "js" || opts.backend === "wasm") return opts.backend;
  if (opts.backend === undefined || opts.backend === "auto") return hasWasmSimd() ? "wasm" : "js";
  throw new EmbedError("BAD_OPTION", `backend must be "auto", "js" or "wasm", got ${JSON.stringify(opts.backend)}`, { option: "backend" });
}

export async function pickBackend(opts: LoadOptions, choice: NumericsChoice): Promise<Backend> {
  const numerics = choice.numerics;
  if (backendKind(opts) === "js") return createJsBackend(numerics);
  const usdot = opts.usdot === false || envOff("GGUF_EMBED_USDOT") ? false : "auto";
  return createWasmBackend({ numerics, threads: opts.threads, relaxedSimd: opts.relaxedSimd === false ? false : "auto", usdot });
}

export async function loadFromSources(sources: ByteSource[], opts: LoadOptions = {}, env: LoadEnv = {}): Promise<EmbeddingModel> {
  const closeSources = async () => {
    await Promise.all(sources.map((s) => s.close?.()));
  };
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
    if (opts.numerics !== undefined && typeof opts.numerics !== "string") {
      throw new EmbedError("BAD_OPTION", `numerics must be a string, got ${JSON.stringify(opts.numerics)}`, { option: "numerics" });
    }
    if (opts.contextLength !== undefined && (!Number.isSafeInteger(opts.contextLength) || opts.contextLength < 0)) {
      throw new EmbedError("BAD_OPTION", `contextLength must be a non-negative integer, got ${JSON.stringify(opts.contextLength)}`, {
        option: "contextLength",
      });
    }
    const choice = chooseNumerics(opts.numerics, env.cpuFlags);
    const be = (backend = await pickBackend(opts, choice));
    const tensors = await readTensors(used, (n) => be.alloc(n), opts.onProgress);
    const model = buildModel(file, tensors, be, tokenizer.nVocab);
    await closeSources(); // every tensor is in memory now
    const m = new EmbeddingModel(file, model, tokenizer, choice, () => be.close(), opts.contextLength);
    for (const w of m.info.warnings) (opts.onWarning ?? ((x: string) => console.warn(`gguf-embed: ${x}`)))(w);
    return m;
  } catch (e) {
    await closeSources().catch(() => {});
    await backend?.close().catch(() => {});
    throw e;
  }
}

/**
 * The user-facing model: text in, Float32Array out. Orchestrates tokenize -> prompt -> length
 * check -> pack into batches -> forward -> pool -> dense -> truncate -> normalize, and owns the
 * semantics users see (task prompts, pooling, normalization, Matryoshka dims, long inputs).
 */
import { EmbedError } from "../errors.js";
import type { GGUFModelFile } from "../gguf/split.js";
import type { WasmBackend } from "../kernels/wasm.js";
import type { NumericsChoice, NumericsName } from "../kernels/numerics.js";
import type { EmbeddingGraph } from "../models/arch.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { countByType, ggmlTypeName } from "../tensor/ggml-type.js";
import { checkEmbedOptions, type EmbedOptions } from "./options.js";
import { isTrainedDims, normalize, pool, poolingFromGGUF, TRAINED_DIMS, truncateDims, type Pooling } from "./pooling.js";
import { prepareInputs, type EmbedInput, type PreparedInput } from "./prepare.js";
import { applyPrompt, type Task } from "./prompts.js";

export type { EmbedOptions } from "./options.js";
export { truncateTokens, type EmbedInput, type PreparedInput } from "./prepare.js";

/**
 * Default token budget of one forward pass (EmbedOptions.maxBatchTokens). Small enough that a
 * batch's activations stay in the CPU caches between the element-wise ops (measured: 512 tokens
 * 4% faster than 4096 on 100 short texts, BENCHMARKS.md); matmul efficiency is the same.
 */
export const DEFAULT_BATCH_TOKENS = 512;

export interface ModelInfo {
  architecture: string;
  name?: string;
  nEmbd: number;
  nEmbdOut: number;
  nLayer: number;
  contextLength: number;
  nVocab: number;
  pooling: Pooling;
  dense: boolean;
  /** Tensor count per ggml type name. */
  tensorTypes: Record<string, number>;
  backend: string;
  /**
   * wasm backend: which kernels run: "relaxed-usdot" (relaxed SIMD with the exact unsigned × signed
   * dot, after its probe), "relaxed" (after its self-check), else "baseline"; and threads.
   */
  simd?: "relaxed-usdot" | "relaxed" | "baseline";
  threads?: number;
  /** Whose bits the vectors are: a llama.cpp CPU variant family (docs/numerics.md). */
  numerics: {
    /** the profile in use */
    name: NumericsName;
    /** llama.cpp CPU variants that compute these bits */
    variants: readonly string[];
    /** "cpu": detected (the variant llama.cpp loads here); "option": asked for; "default": no CPU flags readable */
    source: "cpu" | "option" | "default";
    /** the variant detected on this CPU, when detected */
    detected?: string;
    /** wasm backend: ops this profile runs in the plain TypeScript reference for lack of a kernel (slower, same bits) */
    reference?: string[];
  };
  /** Things the user should know about this model or setup (also sent to console.warn at load unless onWarning is given). */
  warnings: string[];
}

export class EmbeddingModel {
  private closed = false;
  readonly info: ModelInfo;
  private readonly defaultPooling: Pooling;

  /**
   * `contextLength` caps the tokens of one input below the trained context (llama.cpp's n_ctx, the
   * `-c` of llama-server); 0 or undefined keeps n_ctx_train.
   */
  constructor(
    readonly file: GGUFModelFile,
    readonly model: EmbeddingGraph,
    readonly tokenizer: Tokenizer,
    numerics: NumericsChoice,
    private readonly onClose: () => Promise<void>,
    contextLength?: number,
  ) {
    this.defaultPooling = poolingFromGGUF(model.hp.poolingType);
    const types = countByType(file.tensors.map((t) => t.type));
    const name = file.metadata.get("general.name");
    this.info = {
      architecture: model.arch,
      name: name?.type === 8 ? (name.value as string) : undefined,
      nEmbd: model.hp.nEmbd,
      nEmbdOut: model.hp.nEmbdOut,
      nLayer: model.hp.nLayer,
      contextLength: contextLength ? Math.min(contextLength, model.hp.nCtxTrain) : model.hp.nCtxTrain,
      nVocab: tokenizer.nVocab,
      pooling: this.defaultPooling,
      dense: model.hasDenseOut,
      tensorTypes: types,
      backend: model.backend.name,
      ...(model.backend.name === "wasm" ? wasmInfo(model.backend as WasmBackend) : {}),
      numerics: {
        name: numerics.numerics.name,
        variants: numerics.numerics.variants,
        source: numerics.source,
        ...(numerics.variant ? { detected: numerics.variant } : {}),
        ...(model.backend.name === "wasm" ? { reference: referenceOps(model.backend as WasmBackend, model) } : {}),
      },
      warnings: [...(model.warnings ?? []), ...(numerics.warning ? [numerics.warning] : [])],
    };
  }

  /** Tokens the model sees for each input: prompt applied, BOS/EOS added, length checked (prepare.ts). */
  prepare(inputs: readonly EmbedInput[], opts: EmbedOptions = {}): PreparedInput[] {
    this.checkOpen();
    const c = {
      tokenizer: this.tokenizer,
      architecture: this.info.architecture,
      nCtx: this.info.contextLength,
      nEmbdOut: this.model.hp.nEmbdOut,
    };
    return prepareInputs(c, inputs, opts);
  }

  /** One text gives one vector; an array of inputs gives one vector per input, in order. */
  embed(input: string, opts?: EmbedOptions): Promise<Float32Array>;
  embed(inputs: readonly EmbedInput[], opts?: EmbedOptions): Promise<Float32Array[]>;
  async embed(inputs: string | readonly EmbedInput[], opts: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    if (typeof inputs === "string") return (await this.embed([inputs], opts))[0];
    throwIfAborted(opts.signal);
    const prepared = this.prepare(inputs, opts);
    return this.embedPrepared(prepared, opts);
  }

  /**
   * Tokens the model would see for `text` (task prompt, BOS and EOS included), counted in full:
   * a text longer than the context is counted, not refused.
   */
  countTokens(text: string, opts: { task?: Task; title?: string } = {}): number {
    this.checkOpen();
    if (typeof text !== "string") throw new EmbedError("BAD_INPUT", "countTokens() takes a string", {});
    const prompted = applyPrompt(this.info.architecture, text, opts.task, opts.title);
    return this.tokenizer.encode(prompted, { addSpecial: true, parseSpecial: true }).length;
  }

  /** Embed already-tokenized inputs (from prepare()). Results in input order. */
  async embedPrepared(prepared: readonly PreparedInput[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    this.checkOpen();
    const nOut = this.model.hp.nEmbdOut;
    const checked = checkEmbedOptions(opts, nOut);
    const pooling = checked.pooling ?? this.defaultPooling;
    const norm = checked.normalize;
    const dims = checked.dimensions;
    if (dims !== nOut && !isTrainedDims(this.info.architecture, dims)) {
      const sizes = this.info.architecture === "qwen3" ? "32 or more" : TRAINED_DIMS.join(", ");
      (opts.onWarning ?? console.warn)(`gguf-embed: ${dims} dimensions is not a trained Matryoshka size (${sizes}); quality may suffer`);
    }
    const budget = Math.max(1, opts.maxBatchTokens ?? DEFAULT_BATCH_TOKENS); // an input longer than this runs alone

    const results = new Array<Float32Array>(prepared.length);
    const signal = opts.signal;
    // Pack inputs in order into batches of at most `budget` tokens (no padding: sequences are
    // concatenated and isolated by the attention mask).
    let i = 0;
    while (i < prepared.length) {
      if (signal) {
        // Give an abort a chance to land between batches (a batch itself runs to its end).
        throwIfAborted(signal);
        if (i > 0) await new Promise((r) => setTimeout(r, 0));
        throwIfAborted(signal);
      }
      const seqStart: number[] = [],
        seqLen: number[] = [],
        members: PreparedInput[] = [];
      let nTok = 0;
      while (i < prepared.length && (members.length === 0 || nTok + prepared[i].tokens.length <= budget)) {
        seqStart.push(nTok);
        seqLen.push(prepared[i].tokens.length);
        nTok += prepared[i].tokens.length;
        members.push(prepared[i++]);
      }
      const tokens = new Int32Array(nTok);
      members.forEach((m, s) => tokens.set(m.tokens, seqStart[s]));
      const h = this.model.forward({ tokens, seqStart, seqLen }); // (nTok, nEmbd)
      const nEmbd = this.model.hp.nEmbd;
      members.forEach((m, s) => {
        let v: Float32Array;
        if (pooling === "none") {
          const rows = this.model.denseOut(h.slice(seqStart[s] * nEmbd, (seqStart[s] + seqLen[s]) * nEmbd), seqLen[s]); // (T, nOut)
          v = dims === nOut ? rows : takeColumns(rows, seqLen[s], nOut, dims);
          // llama-server returns per-token vectors unnormalized; llama-embedding normalizes each
          // row. We normalize each row when asked (default l2), like llama-embedding.
          for (let t = 0; t < seqLen[s]; t++) normalize(v.subarray(t * dims, (t + 1) * dims), norm);
        } else {
          const pooled = new Float32Array(nEmbd); // (nEmbd)
          pool(this.model.backend.numerics, h, nEmbd, seqStart[s], seqLen[s], pooling, pooled);
          v = truncateDims(this.model.denseOut(pooled, 1), dims); // (dims)
          normalize(v, norm);
        }
        for (let j = 0; j < v.length; j++) {
          if (!Number.isFinite(v[j])) {
            throw new EmbedError(
              "NON_FINITE_OUTPUT",
              `input ${m.index}: the embedding contains ${String(v[j])} at component ${j % dims}; the model weights or input produce non-finite values`,
              { index: m.index, component: j % dims },
            );
          }
        }
        results[m.index] = v;
      });
    }
    return results;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.onClose();
  }

  private checkOpen(): void {
    if (this.closed) throw new EmbedError("MODEL_CLOSED", "the model has been closed", {});
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EmbedError("ABORTED", "the embedding was aborted (its AbortSignal fired)", { reason: String(signal.reason) });
  }
}

function takeColumns(rows: Float32Array, n: number, width: number, dims: number): Float32Array {
  const out = new Float32Array(n * dims);
  for (let t = 0; t < n; t++) out.set(rows.subarray(t * width, t * width + dims), t * dims);
  return out;
}

function wasmInfo(be: WasmBackend): Pick<ModelInfo, "simd" | "threads"> {
  return { simd: be.usdot ? "relaxed-usdot" : be.relaxedSimd ? "relaxed" : "baseline", threads: be.threads };
}

/** Ops the wasm backend runs in the reference for this model, e.g. "attention", "F16 matmul (1 token)". */
function referenceOps(be: WasmBackend, model: EmbeddingGraph): string[] {
  const out = new Set<string>();
  if (be.attentionKernel === "reference") out.add("attention");
  for (const op of model.ops ?? []) if (be.referenceOnly.has(op)) out.add(op);
  for (const w of model.matrices()) {
    for (const [n, label] of [
      [1, "1 token"],
      [2, "2+ tokens"],
      [8, "8+ tokens"],
    ] as const) {
      if (be.kernelFor(w, n) === "reference") out.add(`${ggmlTypeName(w.type)} matmul (${label})`);
    }
  }
  return [...out];
}

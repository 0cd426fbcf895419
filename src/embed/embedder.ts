/**
 * The user-facing model: text in, Float32Array out. Orchestrates tokenize -> prompt -> length
 * check -> pack into batches -> forward -> pool -> dense -> truncate -> normalize, and owns the
 * semantics users see (task prompts, pooling, normalization, Matryoshka dims, long inputs).
 */
import { EmbedError } from "../errors.js";
import type { GGUFModelFile } from "../gguf/split.js";
import type { GemmaEmbedding } from "../models/gemma-embedding.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { ggmlTypeName } from "../tensor/ggml-type.js";
import { checkEmbedOptions, type EmbedOptions } from "./options.js";
import { normalize, pool, poolingFromGGUF, TRAINED_DIMS, truncateDims, type Pooling } from "./pooling.js";
import { prepareInputs, type EmbedInput, type PreparedInput } from "./prepare.js";

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
  /** wasm backend: which kernel module runs ("relaxed" after its self-check, else "baseline"); threads. */
  simd?: "relaxed" | "baseline";
  threads?: number;
}

export class EmbeddingModel {
  private closed = false;
  readonly info: ModelInfo;
  private readonly defaultPooling: Pooling;

  constructor(readonly file: GGUFModelFile, readonly model: GemmaEmbedding, readonly tokenizer: Tokenizer, private readonly onClose: () => Promise<void>) {
    this.defaultPooling = poolingFromGGUF(model.hp.poolingType);
    const types: Record<string, number> = {};
    for (const t of file.tensors) types[ggmlTypeName(t.type)] = (types[ggmlTypeName(t.type)] ?? 0) + 1;
    const name = file.metadata.get("general.name");
    this.info = {
      architecture: "gemma-embedding",
      name: name?.type === 8 ? (name.value as string) : undefined,
      nEmbd: model.hp.nEmbd,
      nEmbdOut: model.hp.nEmbdOut,
      nLayer: model.hp.nLayer,
      contextLength: model.hp.nCtxTrain,
      nVocab: tokenizer.nVocab,
      pooling: this.defaultPooling,
      dense: model.w.dense2 !== undefined,
      tensorTypes: types,
      backend: model.backend.name,
      ...(model.backend.name === "wasm" ? wasmInfo(model.backend as unknown as { relaxedSimd: boolean; threads: number }) : {}),
    };
  }

  /** Tokens the model sees for each input: prompt applied, BOS/EOS added, length checked (prepare.ts). */
  prepare(inputs: readonly EmbedInput[], opts: EmbedOptions = {}): PreparedInput[] {
    this.checkOpen();
    const c = { tokenizer: this.tokenizer, architecture: this.info.architecture, nCtx: this.model.hp.nCtxTrain,
      nEmbdOut: this.model.hp.nEmbdOut };
    return prepareInputs(c, inputs, opts);
  }

  async embed(inputs: readonly EmbedInput[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    const prepared = this.prepare(inputs, opts);
    return this.embedPrepared(prepared, opts);
  }

  /** Embed already-tokenized inputs (from prepare()). Results in input order. */
  async embedPrepared(prepared: readonly PreparedInput[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    this.checkOpen();
    const nOut = this.model.hp.nEmbdOut;
    const checked = checkEmbedOptions(opts, nOut);
    const pooling = checked.pooling ?? this.defaultPooling;
    const norm = checked.normalize;
    const dims = checked.dimensions;
    if (dims !== nOut && !TRAINED_DIMS.includes(dims)) (opts.onWarning ?? console.warn)(`gguf-embed: ${dims} dimensions is not a trained Matryoshka size (${TRAINED_DIMS.join(", ")}); quality may suffer`);
    const budget = Math.max(1, opts.maxBatchTokens ?? DEFAULT_BATCH_TOKENS); // an input longer than this runs alone

    const results = new Array<Float32Array>(prepared.length);
    // Pack inputs in order into batches of at most `budget` tokens (no padding: sequences are
    // concatenated and isolated by the attention mask).
    let i = 0;
    while (i < prepared.length) {
      const seqStart: number[] = [], seqLen: number[] = [], members: PreparedInput[] = [];
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
          const rows = this.model.dense(h.slice(seqStart[s] * nEmbd, (seqStart[s] + seqLen[s]) * nEmbd), seqLen[s]); // (T, nOut)
          v = dims === nOut ? rows : takeColumns(rows, seqLen[s], nOut, dims);
          // llama-server returns per-token vectors unnormalized; llama-embedding normalizes each
          // row. We normalize each row when asked (default l2), like llama-embedding.
          for (let t = 0; t < seqLen[s]; t++) normalize(v.subarray(t * dims, (t + 1) * dims), norm);
        } else {
          const pooled = new Float32Array(nEmbd); // (nEmbd)
          pool(h, nEmbd, seqStart[s], seqLen[s], pooling, pooled);
          v = truncateDims(this.model.dense(pooled, 1), dims); // (dims)
          normalize(v, norm);
        }
        for (let j = 0; j < v.length; j++) {
          if (!Number.isFinite(v[j])) {
            throw new EmbedError("NON_FINITE_OUTPUT", `input ${m.index}: the embedding contains ${String(v[j])} at component ${j % dims}; the model weights or input produce non-finite values`, { index: m.index, component: j % dims });
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

function takeColumns(rows: Float32Array, n: number, width: number, dims: number): Float32Array {
  const out = new Float32Array(n * dims);
  for (let t = 0; t < n; t++) out.set(rows.subarray(t * width, t * width + dims), t * dims);
  return out;
}

function wasmInfo(be: { relaxedSimd: boolean; threads: number }): Pick<ModelInfo, "simd" | "threads"> {
  return { simd: be.relaxedSimd ? "relaxed" : "baseline", threads: be.threads };
}

/**
 * EmbeddingGemma (`general.architecture = "gemma-embedding"`): a bidirectional Gemma 3 encoder.
 * Mirrors llama.cpp src/models/gemma-embedding.cpp; docs/architectures/gemma-embedding.md;
 * numerics per docs/numerics.md.
 * Hparams and weights are bound here by their GGUF names, once; forward() reads top to bottom.
 * Not here: tokenization, pooling choice, normalization (embed/), threads and SIMD (kernels/).
 */
import { EmbedError } from "../errors.js";
import { GGUFValueType, getPositiveFloat, getUint, type GGUFMetadata } from "../gguf/keys.js";
import type { Backend, Weight } from "../kernels/backend.js";
import type { Architecture, Batch, CommonHParams, Dim, EmbeddingGraph, Tap, TensorProvider } from "./arch.js";
import { addInPlace, blockActivations, buildAttn, buildFfn, buildInpEmbd, buildNorm, NeoxRope } from "./graph.js";
import { attnDims, checkNoExtraLayers, loadAttnShape, MAX_LAYERS, requireLayer } from "./hparams.js";

export const ARCH = "gemma-embedding";

export interface GemmaEmbeddingHParams extends CommonHParams {
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nEmbdHead: number; // key_length = value_length
  normRmsEps: number;
  ropeFreqBase: number; // global layers
  ropeFreqBaseSwa: number; // local (sliding-window) layers
  nSwa: number;
  /** isSwa[il]: layer il is local (attention.sliding_window_pattern; default il mod 6 < 5). */
  isSwa: boolean[];
  /** dense_2_feat_out when the key is present (the tensor's ne1 must agree). */
  dense2FeatOut?: number;
}

const k = (name: string) => `${ARCH}.${name}`;

export { MAX_LAYERS };

/**
 * llama_model_base::load_swa_pattern(ml, 6) (llama.cpp src/llama-model.cpp): a BOOL/INT32/UINT32
 * array `attention.sliding_window_pattern` gives each layer (non-zero: sliding-window; layers past
 * its end are dense), else a UINT32 period n (default 6) makes layer il local iff n == 0 or
 * il % n < n - 1 (llama_hparams::set_swa_pattern).
 */
function swaPattern(meta: GGUFMetadata, nLayer: number, arch: string): boolean[] {
  const key = `${arch}.attention.sliding_window_pattern`;
  const v = meta.get(key);
  if (v?.type === GGUFValueType.ARRAY) {
    const a = v.value;
    const ok = v.itemType === GGUFValueType.BOOL || v.itemType === GGUFValueType.INT32 || v.itemType === GGUFValueType.UINT32;
    if (!ok || typeof a === "string" || Array.isArray(a) || a instanceof BigInt64Array || a instanceof BigUint64Array) {
      throw new EmbedError("GGUF_KEY_TYPE", `metadata key "${key}" must be a BOOL, INT32 or UINT32 array, or a UINT32`, { key });
    }
    if (a.length > MAX_LAYERS)
      throw new EmbedError("BAD_HPARAMS", `${key}: ${a.length} entries exceed llama.cpp's maximum of ${MAX_LAYERS} layers`, { key });
    return Array.from({ length: nLayer }, (_, il) => il < a.length && Number(a[il]) !== 0);
  }
  const n = getUint(meta, key, 6);
  return Array.from({ length: nLayer }, (_, il) => n === 0 || il % n < n - 1);
}

/**
 * load_arch_hparams; docs/architectures/gemma-embedding.md (keys, defaults, hard-coded values).
 * `arch` is the key prefix (gemma3.ts reads Ollama's files through it).
 */
export function loadHParams(meta: GGUFMetadata, arch: string = ARCH): GemmaEmbeddingHParams {
  const k = (name: string) => `${arch}.${name}`;
  const { nEmbd, nLayer, nFf, nHead, nHeadKv, nEmbdHead } = loadAttnShape(meta, arch);
  const isSwa = swaPattern(meta, nLayer, arch);
  const poolingType = getUint(meta, k("pooling_type"), 1);
  // llama.cpp asserts both (GGML_ASSERT in load_arch_hparams: the process aborts); we refuse the file.
  const d3 = meta.has(k("dense_3_feat_out")) ? getUint(meta, k("dense_3_feat_out")) : nEmbd;
  const d2in = meta.has(k("dense_2_feat_in")) ? getUint(meta, k("dense_2_feat_in")) : nEmbd;
  if (d2in !== nEmbd)
    throw new EmbedError("BAD_HPARAMS", `${arch}: dense_2_feat_in ${d2in} must equal embedding_length ${nEmbd}`, {
      key: k("dense_2_feat_in"),
    });
  if (d3 !== nEmbd) {
    throw new EmbedError("BAD_HPARAMS", `${arch}: dense_3_feat_out ${d3} must equal embedding_length ${nEmbd} (llama.cpp asserts this)`, {
      key: k("dense_3_feat_out"),
    });
  }
  const dense2FeatOut = meta.has(k("dense_2_feat_out")) ? getUint(meta, k("dense_2_feat_out")) : undefined;
  return {
    nEmbd,
    nLayer,
    nFf,
    nHead,
    nHeadKv,
    nEmbdHead,
    nCtxTrain: getUint(meta, k("context_length")),
    // finite and > 0, or BAD_HPARAMS naming the key (a NaN or 0 base gave finite, wrong vectors)
    normRmsEps: getPositiveFloat(meta, k("attention.layer_norm_rms_epsilon")),
    ropeFreqBase: getPositiveFloat(meta, k("rope.freq_base"), 10000),
    ropeFreqBaseSwa: getPositiveFloat(meta, k("rope.freq_base_swa"), 10000),
    nSwa: getUint(meta, k("attention.sliding_window")),
    isSwa,
    poolingType,
    nEmbdOut: d3,
    dense2FeatOut,
  };
}

export interface LayerWeights {
  attnNorm: Float32Array; // (nEmbd)
  /** separate projections, or one fused blk.N.attn_qkv.weight whose output rows are [q | k | v] */
  qkv: { wq: Weight; wk: Weight; wv: Weight } | { wqkv: Weight };
  attnQNorm: Float32Array; // (nEmbdHead)
  attnKNorm: Float32Array; // (nEmbdHead)
  wo: Weight; // (nHead*nEmbdHead -> nEmbd)
  postAttnNorm: Float32Array; // (nEmbd)
  ffnNorm: Float32Array; // (nEmbd)
  ffnGate: Weight; // (nEmbd -> nFf)
  ffnUp: Weight; // (nEmbd -> nFf)
  ffnDown: Weight; // (nFf -> nEmbd)
  postFfwNorm: Float32Array; // (nEmbd)
}

export interface GemmaEmbeddingWeights {
  tokenEmbd: Weight; // (nEmbd) x nVocab rows
  layers: LayerWeights[];
  outputNorm: Float32Array; // (nEmbd)
  dense2?: Weight; // (nEmbd -> dense_2_feat_out)
  dense3?: Weight; // (dense_3_feat_in -> nEmbdOut)
}

/** load_arch_tensors: the one table binding GGUF tensor names to fields (docs/architectures/gemma-embedding.md). */
export function bindWeights(hp: GemmaEmbeddingHParams, t: TensorProvider, nVocab: number): GemmaEmbeddingWeights {
  const { E, HD, Q, KV, FF } = attnDims(ARCH, hp);
  checkNoExtraLayers(ARCH, hp.nLayer, t);
  const layers: LayerWeights[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const p = `blk.${il}.`;
    requireLayer(ARCH, hp.nLayer, t, il);
    // llama.cpp would add these biases (create_tensor_qkv loads them when present); no EmbeddingGemma has them
    for (const b of ["attn_qkv.bias", "attn_q.bias", "attn_k.bias", "attn_v.bias"]) {
      if (t.has(p + b)) {
        throw new EmbedError("UNSUPPORTED_ARCH", `${ARCH}: tensor "${p + b}" (a projection bias) is not supported`, { tensor: p + b });
      }
    }
    const attnNorm = t.vector(p + "attn_norm.weight", E); // bound first: a wrong embedding_length names it
    // create_tensor_qkv (llama.cpp src/llama-model.cpp): a fused attn_qkv.weight, when present, replaces attn_q/k/v
    const QKV: Dim = { n: Q.n + 2 * KV.n, from: `${Q.from} + 2 × ${KV.from}` };
    const qkv = t.has(p + "attn_qkv.weight")
      ? { wqkv: t.matrix(p + "attn_qkv.weight", E, QKV) }
      : { wq: t.matrix(p + "attn_q.weight", E, Q), wk: t.matrix(p + "attn_k.weight", E, KV), wv: t.matrix(p + "attn_v.weight", E, KV) };
    layers.push({
      attnNorm,
      qkv,
      attnQNorm: t.vector(p + "attn_q_norm.weight", HD),
      attnKNorm: t.vector(p + "attn_k_norm.weight", HD),
      wo: t.matrix(p + "attn_output.weight", Q, E),
      postAttnNorm: t.vector(p + "post_attention_norm.weight", E),
      ffnNorm: t.vector(p + "ffn_norm.weight", E),
      ffnGate: t.matrix(p + "ffn_gate.weight", E, FF),
      ffnUp: t.matrix(p + "ffn_up.weight", E, FF),
      ffnDown: t.matrix(p + "ffn_down.weight", FF, E),
      postFfwNorm: t.vector(p + "post_ffw_norm.weight", E),
    });
  }
  const w: GemmaEmbeddingWeights = {
    tokenEmbd: t.matrix("token_embd.weight", E, { n: nVocab, from: `the ${nVocab} entries of tokenizer.ggml.tokens` }),
    layers,
    outputNorm: t.vector("output_norm.weight", E),
  };
  const has2 = t.has("dense_2.weight"),
    has3 = t.has("dense_3.weight");
  if (has2 !== has3)
    throw new EmbedError("TENSOR_MISSING", `${ARCH}: dense_2.weight and dense_3.weight must both be present or both absent`, {
      tensor: has2 ? "dense_3.weight" : "dense_2.weight",
    });
  if (has2) {
    // dense_2: nEmbd -> mid; dense_3: mid -> nEmbdOut. llama.cpp asserts dense_2_feat_in == n_embd
    // and takes n_embd_out from dense_3_feat_out; mid comes from the key or the tensor itself.
    const mid: Dim =
      hp.dense2FeatOut !== undefined
        ? { n: hp.dense2FeatOut, from: `${k("dense_2_feat_out")} = ${hp.dense2FeatOut}` }
        : { n: t.ne("dense_2.weight")[1], from: `dense_2.weight's ne[1] (${t.ne("dense_2.weight")[1]})` };
    w.dense2 = t.matrix("dense_2.weight", E, mid);
    w.dense3 = t.matrix("dense_3.weight", mid, { n: hp.nEmbdOut, from: `${k("dense_3_feat_out")} (or embedding_length) = ${hp.nEmbdOut}` });
  }
  return w;
}

/** The load warning of a file without the Sentence-Transformers projections (the library, CLI and server all show it). */
export const NO_DENSE_WARNING =
  "the model has no Sentence-Transformers Dense layers (dense_2/dense_3, or Ollama's dense.0/dense.1): " +
  "its vectors are mean-pooled hidden states, not EmbeddingGemma's sentence embeddings; " +
  "re-convert with --sentence-transformers-dense-modules (see llama.cpp#18677)";

export class GemmaEmbedding implements EmbeddingGraph {
  private readonly rope: NeoxRope;
  readonly warnings: string[] = [];

  constructor(
    readonly hp: GemmaEmbeddingHParams,
    readonly w: GemmaEmbeddingWeights,
    readonly backend: Backend,
    readonly arch: string = ARCH,
  ) {
    this.rope = new NeoxRope(hp.nEmbdHead);
    if (!w.dense2) this.warnings.push(NO_DENSE_WARNING);
  }

  get hasDenseOut(): boolean {
    return this.w.dense2 !== undefined;
  }

  /**
   * Hidden states after output_norm: (nTokens, nEmbd), row i for batch token i (llama.cpp
   * src/models/gemma-embedding.cpp build). `tap` sees intermediate tensors under llama.cpp's cb()
   * names; they are views of the reused activation region, valid during the call.
   */
  forward(batch: Batch, tap?: Tap): Float32Array {
    const { nEmbd, nHead, nHeadKv, nEmbdHead: hd, nFf, normRmsEps: eps } = this.hp;
    const be = this.backend;
    const nTok = batch.tokens.length;
    const nQ = nHead * hd,
      nKV = nHeadKv * hd;
    const seqs = batch.seqLen; // matmul rows keep the order of their own sequence (Backend.matmul)

    const isFused = this.w.layers.some((L) => "wqkv" in L.qkv);
    const { x, xb, q, kk, v, o, ao, ffn, fused } = blockActivations(be, nTok, { nEmbd, nQ, nKV, nFf, fusedQkv: isFused });

    // 1. token embeddings scaled by sqrtf(n_embd)
    buildInpEmbd(be, this.w.tokenEmbd, batch.tokens, x, Math.fround(Math.sqrt(nEmbd)));
    tap?.("inp_scaled", -1, x);

    const qScale = Math.fround(1 / Math.sqrt(hd)); // f_attention_scale
    for (let il = 0; il < this.hp.nLayer; il++) {
      const L = this.w.layers[il]!;
      const swa = this.hp.isSwa[il]!;
      // 2.1 pre-attention norm, projections
      buildNorm(be, x, xb, nEmbd, nTok, { kind: "rms", weight: L.attnNorm, eps });
      tap?.("attn_norm", il, xb);
      if ("wqkv" in L.qkv) {
        // build_qkv, fused: one matmul, then the q, k, v views of each row, copied out
        be.matmul(L.qkv.wqkv, xb, nTok, fused, seqs);
        for (let i = 0; i < nTok; i++) {
          const r = fused.subarray(i * (nQ + 2 * nKV), (i + 1) * (nQ + 2 * nKV));
          q.set(r.subarray(0, nQ), i * nQ);
          kk.set(r.subarray(nQ, nQ + nKV), i * nKV);
          v.set(r.subarray(nQ + nKV), i * nKV);
        }
      } else {
        be.matmul(L.qkv.wq, xb, nTok, q, seqs);
        be.matmul(L.qkv.wk, xb, nTok, kk, seqs);
        be.matmul(L.qkv.wv, xb, nTok, v, seqs);
      }
      tap?.("Vcur", il, v);
      // 2.2 per-head Q/K norm, NEOX RoPE at the position within its sequence (base by layer kind), q *= 1/sqrt(hd)
      buildNorm(be, q, q, hd, nTok * nHead, { kind: "rms", weight: L.attnQNorm, eps });
      buildNorm(be, kk, kk, hd, nTok * nHeadKv, { kind: "rms", weight: L.attnKNorm, eps });
      const base = swa ? this.hp.ropeFreqBaseSwa : this.hp.ropeFreqBase;
      this.rope.apply(batch, q, nHead, base, (off) => {
        for (let d = 0; d < hd; d++) q[off + d] = Math.fround(q[off + d]! * qScale);
      });
      this.rope.apply(batch, kk, nHeadKv, base);
      tap?.("Qcur_scaled", il, q);
      tap?.("Kcur", il, kk);
      // 2.3 attention per sequence: bidirectional; local layers see only |Δp| <= nSwa/2
      buildAttn(be, batch, q, kk, v, o, nHead, nHeadKv, hd, swa ? Math.floor(this.hp.nSwa / 2) : Infinity);
      tap?.("kqv", il, o);
      // 2.4 output projection, post-attention norm, residual
      be.matmul(L.wo, o, nTok, ao, seqs);
      tap?.("kqv_out", il, ao);
      buildNorm(be, ao, ao, nEmbd, nTok, { kind: "rms", weight: L.postAttnNorm, eps });
      tap?.("attn_post_norm", il, ao);
      addInPlace(be, x, ao, nTok, nEmbd);
      tap?.("sa_out", il, x);
      // 2.5 FFN: GEGLU(gate) · up, down, post-FFN norm, residual
      buildNorm(be, x, xb, nEmbd, nTok, { kind: "rms", weight: L.ffnNorm, eps });
      buildFfn(be, xb, nTok, seqs, { kind: "geglu", gate: L.ffnGate, up: L.ffnUp, down: L.ffnDown }, ffn, ao, (name, d) =>
        tap?.(name, il, d),
      );
      tap?.("ffn_out", il, ao);
      buildNorm(be, ao, ao, nEmbd, nTok, { kind: "rms", weight: L.postFfwNorm, eps });
      addInPlace(be, x, ao, nTok, nEmbd);
      tap?.("l_out", il, x);
    }
    // 3. final norm; the result is copied out of the reusable region
    buildNorm(be, x, x, nEmbd, nTok, { kind: "rms", weight: this.w.outputNorm, eps });
    return x.slice();
  }

  /** Every matmul weight (for kernel coverage reports; token_embd is a row lookup and not included). */
  matrices(): Weight[] {
    const out: Weight[] = [];
    for (const L of this.w.layers) {
      out.push(...("wqkv" in L.qkv ? [L.qkv.wqkv] : [L.qkv.wq, L.qkv.wk, L.qkv.wv]), L.wo, L.ffnGate, L.ffnUp, L.ffnDown);
    }
    if (this.w.dense2 && this.w.dense3) out.push(this.w.dense2, this.w.dense3);
    return out;
  }

  /** build_dense_out: dense_2 then dense_3 (no activation, no bias) on n rows of nEmbd; identity when absent. */
  denseOut(rows: Float32Array, n: number): Float32Array {
    const { dense2, dense3 } = this.w;
    if (!dense2 || !dense3) return rows;
    const mid = new Float32Array(n * dense2.ne1); // (n, dense_2_feat_out)
    this.backend.matmul(dense2, rows, n, mid);
    const out = new Float32Array(n * dense3.ne1); // (n, nEmbdOut)
    this.backend.matmul(dense3, mid, n, out);
    return out;
  }
}

export const gemmaEmbedding: Architecture<GemmaEmbeddingHParams, GemmaEmbeddingWeights> = {
  name: ARCH,
  loadHParams,
  bindWeights,
  create: (hp, w, backend) => new GemmaEmbedding(hp, w, backend),
};

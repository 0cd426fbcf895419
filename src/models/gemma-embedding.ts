/**
 * EmbeddingGemma (`general.architecture = "gemma-embedding"`): a bidirectional Gemma 3 encoder.
 * Mirrors llama.cpp src/models/gemma-embedding.cpp; numerics per spec gemma-embedding.md §5-§7.
 * Hparams and weights are bound here by their GGUF names, once; forward() reads top to bottom.
 * Not here: tokenization, pooling choice, normalization (embed/), threads and SIMD (kernels/).
 */
import { EmbedError } from "../errors.js";
import { getPositiveFloat, getUint, type GGUFMetadata } from "../gguf/keys.js";
import type { Backend, Weight } from "../kernels/backend.js";
import { ropeCache, ropeNeox } from "../kernels/ops.js";
import { ggmlTypeName } from "../tensor/ggml-type.js";

export const ARCH = "gemma-embedding";

export interface GemmaEmbeddingHParams {
  nEmbd: number;
  nLayer: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nEmbdHead: number; // key_length = value_length
  nCtxTrain: number;
  normRmsEps: number;
  ropeFreqBase: number; // global layers
  ropeFreqBaseSwa: number; // local (sliding-window) layers
  nSwa: number;
  /** isSwa[il]: layer il is local (il mod 6 < 5; llama.cpp set_swa_pattern(6)). */
  isSwa: boolean[];
  poolingType: number; // llama_pooling_type: 0 none, 1 mean, 2 cls, 3 last
  nEmbdOut: number;
  /** dense_2_feat_out when the key is present (the tensor's ne1 must agree). */
  dense2FeatOut?: number;
}

const k = (name: string) => `${ARCH}.${name}`;

/** LLAMA_MAX_LAYERS. ref: llama.cpp src/llama-hparams.h */
export const MAX_LAYERS = 512;

/** ref: gemma-embedding.md §3 (keys, defaults, hard-coded values). */
export function loadHParams(meta: GGUFMetadata): GemmaEmbeddingHParams {
  const nEmbd = getUint(meta, k("embedding_length"));
  const nLayer = getUint(meta, k("block_count"));
  const nHead = getUint(meta, k("attention.head_count"));
  const nFf = getUint(meta, k("feed_forward_length"));
  if (nHead === 0 || nEmbd === 0 || nLayer === 0 || nFf === 0) {
    throw new EmbedError("BAD_HPARAMS", `${ARCH}: embedding_length, block_count, feed_forward_length and attention.head_count must be non-zero`, { nEmbd, nLayer, nFf, nHead });
  }
  const nHeadKv = getUint(meta, k("attention.head_count_kv"), nHead);
  const nEmbdHead = getUint(meta, k("attention.key_length"), Math.floor(nEmbd / nHead));
  const valueLength = getUint(meta, k("attention.value_length"), nEmbdHead);
  if (valueLength !== nEmbdHead) throw new EmbedError("BAD_HPARAMS", `${ARCH}: attention.value_length ${valueLength} differs from attention.key_length ${nEmbdHead}`, { key: k("attention.value_length") });
  if (nHeadKv === 0 || nHead % nHeadKv !== 0) throw new EmbedError("BAD_HPARAMS", `${ARCH}: attention.head_count ${nHead} is not a multiple of attention.head_count_kv ${nHeadKv}`, { key: k("attention.head_count_kv") });
  const nRot = getUint(meta, k("rope.dimension_count"), nEmbdHead);
  if (nRot !== nEmbdHead || nEmbdHead % 2 !== 0) throw new EmbedError("BAD_HPARAMS", `${ARCH}: rope.dimension_count ${nRot} must equal an even key_length ${nEmbdHead}`, { key: k("rope.dimension_count") });
  // Checked before isSwa is allocated from it: block_count comes from the file, and 2^32 - 1 would
  // build a huge array. llama.cpp's per-layer arrays hold LLAMA_MAX_LAYERS = 512 (src/llama-hparams.h).
  if (nLayer > MAX_LAYERS) throw new EmbedError("BAD_HPARAMS", `${ARCH}: block_count ${nLayer} exceeds llama.cpp's maximum of ${MAX_LAYERS} layers`, { key: k("block_count"), value: nLayer });
  const isSwa = Array.from({ length: nLayer }, (_, il) => il % 6 < 5);
  const poolingType = getUint(meta, k("pooling_type"), 1);
  const d3 = meta.has(k("dense_3_feat_out")) ? getUint(meta, k("dense_3_feat_out")) : nEmbd;
  const d2in = meta.has(k("dense_2_feat_in")) ? getUint(meta, k("dense_2_feat_in")) : nEmbd;
  if (d2in !== nEmbd) throw new EmbedError("BAD_HPARAMS", `${ARCH}: dense_2_feat_in ${d2in} must equal embedding_length ${nEmbd}`, { key: k("dense_2_feat_in") });
  const dense2FeatOut = meta.has(k("dense_2_feat_out")) ? getUint(meta, k("dense_2_feat_out")) : undefined;
  return {
    nEmbd, nLayer, nFf, nHead, nHeadKv, nEmbdHead,
    nCtxTrain: getUint(meta, k("context_length")),
    // finite and > 0, or BAD_HPARAMS naming the key (a NaN or 0 base gave finite, wrong vectors)
    normRmsEps: getPositiveFloat(meta, k("attention.layer_norm_rms_epsilon")),
    ropeFreqBase: getPositiveFloat(meta, k("rope.freq_base"), 10000),
    ropeFreqBaseSwa: getPositiveFloat(meta, k("rope.freq_base_swa"), 10000),
    nSwa: getUint(meta, k("attention.sliding_window")),
    isSwa, poolingType, nEmbdOut: d3, dense2FeatOut,
  };
}

export interface LayerWeights {
  attnNorm: Float32Array; // (nEmbd)
  wq: Weight; // (nEmbd -> nHead*nEmbdHead)
  wk: Weight; // (nEmbd -> nHeadKv*nEmbdHead)
  wv: Weight; // (nEmbd -> nHeadKv*nEmbdHead)
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

/** A dim's required size and its source, so shape errors name the tensor and the key(s): { n: 768, from: "….embedding_length = 768" }. */
export interface Dim { n: number; from: string }

/** Reads a tensor's bytes by name, checking its ne; provided by the loader. */
export interface TensorProvider {
  has(name: string): boolean;
  /** Every tensor name in the file. */
  names(): Iterable<string>;
  /** Matrix with ne = [ne0, ne1]. */
  matrix(name: string, ne0: Dim, ne1: Dim): Weight;
  /** ne of a tensor that exists. */
  ne(name: string): readonly number[];
  /** 1-D f32 vector of length n (norm weights). */
  vector(name: string, n: Dim): Float32Array;
}

/** The one table binding GGUF tensor names to fields. ref: gemma-embedding.md §4. */
export function bindWeights(hp: GemmaEmbeddingHParams, t: TensorProvider, nVocab: number): GemmaEmbeddingWeights {
  const { nEmbd, nFf, nHead, nHeadKv, nEmbdHead: hd } = hp;
  const hdKey = `${k("attention.key_length")} (${hd})`;
  const E: Dim = { n: nEmbd, from: `${k("embedding_length")} = ${nEmbd}` };
  const HD: Dim = { n: hd, from: `${k("attention.key_length")} = ${hd}` };
  const Q: Dim = { n: nHead * hd, from: `${k("attention.head_count")} (${nHead}) × ${hdKey}` };
  const KV: Dim = { n: nHeadKv * hd, from: `${k("attention.head_count_kv")} (${nHeadKv}) × ${hdKey}` };
  const FF: Dim = { n: nFf, from: `${k("feed_forward_length")} = ${nFf}` };
  // block_count must match the layers present: llama.cpp fails on a missing tensor and on an unused one.
  const blockCount = `${k("block_count")} = ${hp.nLayer}`;
  for (const name of t.names()) {
    const m = /^blk\.(\d+)\./.exec(name);
    if (m && Number(m[1]) >= hp.nLayer) throw new EmbedError("BAD_HPARAMS", `${blockCount}, but the file has tensor "${name}" of layer ${m[1]}`, { key: k("block_count"), tensor: name });
  }
  const layers: LayerWeights[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const p = `blk.${il}.`;
    if (!t.has(p + "attn_norm.weight")) throw new EmbedError("TENSOR_MISSING", `${blockCount}, but tensor "${p}attn_norm.weight" of layer ${il} is missing`, { key: k("block_count"), tensor: p + "attn_norm.weight" });
    layers.push({
      attnNorm: t.vector(p + "attn_norm.weight", E),
      wq: t.matrix(p + "attn_q.weight", E, Q),
      wk: t.matrix(p + "attn_k.weight", E, KV),
      wv: t.matrix(p + "attn_v.weight", E, KV),
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
  const has2 = t.has("dense_2.weight"), has3 = t.has("dense_3.weight");
  if (has2 !== has3) throw new EmbedError("TENSOR_MISSING", `${ARCH}: dense_2.weight and dense_3.weight must both be present or both absent`, { tensor: has2 ? "dense_3.weight" : "dense_2.weight" });
  if (has2) {
    // dense_2: nEmbd -> mid; dense_3: mid -> nEmbdOut. llama.cpp asserts dense_2_feat_in == n_embd
    // and takes n_embd_out from dense_3_feat_out; mid comes from the key or the tensor itself.
    const mid: Dim = hp.dense2FeatOut !== undefined
      ? { n: hp.dense2FeatOut, from: `${k("dense_2_feat_out")} = ${hp.dense2FeatOut}` }
      : { n: t.ne("dense_2.weight")[1], from: `dense_2.weight's ne[1] (${t.ne("dense_2.weight")[1]})` };
    w.dense2 = t.matrix("dense_2.weight", E, mid);
    w.dense3 = t.matrix("dense_3.weight", mid, { n: hp.nEmbdOut, from: `${k("dense_3_feat_out")} (or embedding_length) = ${hp.nEmbdOut}` });
  }
  return w;
}

/** A packed batch: tokens of several sequences back to back; seqStart[s]..seqStart[s]+seqLen[s]. */
export interface Batch {
  tokens: Int32Array;
  seqStart: number[];
  seqLen: number[];
}

export class GemmaEmbedding {
  constructor(readonly hp: GemmaEmbeddingHParams, readonly w: GemmaEmbeddingWeights, readonly backend: Backend) {}

  /**
   * Hidden states after output_norm: (nTokens, nEmbd), row i for batch token i. `tap`, for
   * debugging, sees intermediate tensors under llama.cpp's cb() names ("attn_norm", layer il);
   * they are views of the reused activation region, valid during the call.
   */
  forward(batch: Batch, tap?: (name: string, il: number, data: Float32Array) => void): Float32Array {
    const { nEmbd, nHead, nHeadKv, nEmbdHead: hd, nFf, normRmsEps: eps } = this.hp;
    const be = this.backend;
    const nTok = batch.tokens.length;
    const nQ = nHead * hd, nKV = nHeadKv * hd;
    const maxLen = Math.max(0, ...batch.seqLen);

    // Activations live in the backend's reusable region (WebAssembly memory for the wasm backend,
    // so its kernels work on them in place); every element is written before it is read.
    const arena = be.activations(nTok * (3 * nEmbd + 2 * nQ + 2 * nKV + 3 * nFf));
    let at = 0;
    const take = (n: number) => arena.subarray(at, (at += n));
    const x = take(nTok * nEmbd); // (nTok, nEmbd) residual stream
    const xb = take(nTok * nEmbd); // (nTok, nEmbd) normed input to a block
    const q = take(nTok * nQ); // (nTok, nHead*hd)
    const kk = take(nTok * nKV); // (nTok, nHeadKv*hd)
    const v = take(nTok * nKV); // (nTok, nHeadKv*hd)
    const o = take(nTok * nQ); // (nTok, nHead*hd) attention output, heads concatenated
    const ao = take(nTok * nEmbd); // (nTok, nEmbd) after attn_output
    const gate = take(nTok * nFf); // (nTok, nFf)
    const up = take(nTok * nFf); // (nTok, nFf)
    const hb = take(nTok * nFf); // (nTok, nFf) geglu output
    const rope = { swa: this.ropeTable(this.hp.ropeFreqBaseSwa, maxLen), full: this.ropeTable(this.hp.ropeFreqBase, maxLen) }; // (pos, hd/2) cos and sin

    // 1. token embeddings scaled by sqrtf(n_embd)
    const scale = Math.fround(Math.sqrt(nEmbd));
    const row = new Float32Array(nEmbd);
    for (let i = 0; i < nTok; i++) {
      be.getRow(this.w.tokenEmbd, batch.tokens[i], row);
      for (let j = 0; j < nEmbd; j++) x[i * nEmbd + j] = Math.fround(row[j] * scale);
    }
    tap?.("inp_scaled", -1, x);

    for (let il = 0; il < this.hp.nLayer; il++) {
      const L = this.w.layers[il];
      const swa = this.hp.isSwa[il];
      // 2.1 pre-attention norm
      be.rmsNormRows(x, 0, xb, 0, nEmbd, nTok, L.attnNorm, eps);
      tap?.("attn_norm", il, xb);
      // 2.2 projections
      be.matmul(L.wq, xb, nTok, q);
      be.matmul(L.wk, xb, nTok, kk);
      be.matmul(L.wv, xb, nTok, v);
      tap?.("Vcur", il, v);
      // 2.3-2.5 per-head Q/K norm (q: nTok·nHead rows of hd, k: nTok·nHeadKv), NEOX RoPE at the
      // position within its sequence, q *= 1/sqrt(hd)
      be.rmsNormRows(q, 0, q, 0, hd, nTok * nHead, L.attnQNorm, eps);
      be.rmsNormRows(kk, 0, kk, 0, hd, nTok * nHeadKv, L.attnKNorm, eps);
      const { cos: cosT, sin: sinT } = swa ? rope.swa : rope.full;
      const qScale = Math.fround(1 / Math.sqrt(hd));
      for (let s = 0; s < batch.seqStart.length; s++) {
        for (let p = 0; p < batch.seqLen[s]; p++) {
          const i = batch.seqStart[s] + p;
          const cs = p * (hd / 2); // this position's row of the cos/sin tables
          for (let h = 0; h < nHead; h++) {
            const off = i * nQ + h * hd;
            ropeNeox(q, off, hd, cosT, sinT, cs);
            for (let d = 0; d < hd; d++) q[off + d] = Math.fround(q[off + d] * qScale);
          }
          for (let h = 0; h < nHeadKv; h++) ropeNeox(kk, i * nKV + h * hd, hd, cosT, sinT, cs);
        }
      }
      tap?.("Qcur_scaled", il, q);
      tap?.("Kcur", il, kk);
      // 2.6 attention per sequence: bidirectional; local layers see only |Δp| <= nSwa/2
      const window = swa ? Math.floor(this.hp.nSwa / 2) : Infinity;
      for (let s = 0; s < batch.seqStart.length; s++) {
        const a = batch.seqStart[s], b = a + batch.seqLen[s];
        be.attention(q.subarray(a * nQ, b * nQ), kk.subarray(a * nKV, b * nKV), v.subarray(a * nKV, b * nKV), o.subarray(a * nQ, b * nQ), batch.seqLen[s], nHead, nHeadKv, hd, window);
      }
      // 2.7-2.8 output projection, post-attention norm, residual
      tap?.("kqv", il, o);
      be.matmul(L.wo, o, nTok, ao);
      tap?.("kqv_out", il, ao);
      be.rmsNormRows(ao, 0, ao, 0, nEmbd, nTok, L.postAttnNorm, eps);
      tap?.("attn_post_norm", il, ao);
      for (let j = 0; j < x.length; j++) x[j] = Math.fround(x[j] + ao[j]);
      tap?.("sa_out", il, x);
      // 2.9-2.11 FFN: GeGLU(gate) * up, down, post-FFN norm, residual
      be.rmsNormRows(x, 0, xb, 0, nEmbd, nTok, L.ffnNorm, eps);
      be.matmul(L.ffnGate, xb, nTok, gate);
      be.matmul(L.ffnUp, xb, nTok, up);
      tap?.("ffn_gate", il, gate);
      tap?.("ffn_up", il, up);
      be.geglu(gate, up, hb, nTok * nFf);
      tap?.("ffn_geglu", il, hb);
      be.matmul(L.ffnDown, hb, nTok, ao);
      tap?.("ffn_out", il, ao);
      be.rmsNormRows(ao, 0, ao, 0, nEmbd, nTok, L.postFfwNorm, eps);
      for (let j = 0; j < x.length; j++) x[j] = Math.fround(x[j] + ao[j]);
      tap?.("l_out", il, x);
    }
    // 3. final norm; the result is copied out of the reusable region
    be.rmsNormRows(x, 0, x, 0, nEmbd, nTok, this.w.outputNorm, eps);
    return x.slice();
  }

  private readonly ropeTables = new Map<number, { cos: Float32Array; sin: Float32Array }>();

  /** cos/sin of every RoPE angle for positions 0..nPos-1 at `base`, (nPos, hd/2), cached and grown on demand. */
  private ropeTable(base: number, nPos: number): { cos: Float32Array; sin: Float32Array } {
    const half = this.hp.nEmbdHead / 2;
    const have = this.ropeTables.get(base);
    if (have && have.cos.length >= nPos * half) return have;
    const t = { cos: new Float32Array(nPos * half), sin: new Float32Array(nPos * half) };
    for (let p = 0; p < nPos; p++) ropeCache(p, half * 2, base, t.cos.subarray(p * half, (p + 1) * half), t.sin.subarray(p * half, (p + 1) * half));
    this.ropeTables.set(base, t);
    return t;
  }

  /** dense_2 then dense_3 (no activation, no bias) on n rows of nEmbd; identity when absent. */
  dense(rows: Float32Array, n: number): Float32Array {
    const { dense2, dense3 } = this.w;
    if (!dense2 || !dense3) return rows;
    const mid = new Float32Array(n * dense2.ne1); // (n, dense_2_feat_out)
    this.backend.matmul(dense2, rows, n, mid);
    const out = new Float32Array(n * dense3.ne1); // (n, nEmbdOut)
    this.backend.matmul(dense3, mid, n, out);
    return out;
  }
}

export function describeWeightTypes(w: GemmaEmbeddingWeights): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (x: Weight) => { const n = ggmlTypeName(x.type); counts[n] = (counts[n] ?? 0) + 1; };
  add(w.tokenEmbd);
  for (const L of w.layers) [L.wq, L.wk, L.wv, L.wo, L.ffnGate, L.ffnUp, L.ffnDown].forEach(add);
  if (w.dense2) add(w.dense2);
  if (w.dense3) add(w.dense3);
  return counts;
}

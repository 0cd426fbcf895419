/**
 * Qwen3 (`general.architecture = "qwen3"`), as Qwen3-Embedding ships it: a causal decoder whose
 * attention runs through llama.cpp's f16 KV cache; the embedding is the last token's row (LAST
 * pooling, the appended <|endoftext|>). Mirrors llama.cpp src/models/qwen3.cpp;
 * docs/architectures/qwen3.md; numerics per docs/numerics.md.
 * Hparams and weights are bound here by their GGUF names, once; forward() reads top to bottom.
 * Not here: tokenization, pooling choice, normalization (embed/), threads and SIMD (kernels/).
 */
import { EmbedError } from "../errors.js";
import { getBool, getPositiveFloat, getUint, type GGUFMetadata } from "../gguf/keys.js";
import type { Backend, Weight } from "../kernels/backend.js";
import type { Architecture, Batch, CommonHParams, EmbeddingGraph, Tap, TensorProvider } from "./arch.js";
import {
  activationFloats,
  type BlockWidths,
  addInPlace,
  blockActivations,
  buildAttnKvF16,
  buildFfn,
  buildInpEmbd,
  buildNorm,
  NeoxRope,
} from "./graph.js";
import { attnDims, checkNoExtraLayers, loadAttnShape, requireLayer } from "./hparams.js";

export const ARCH = "qwen3";

export interface Qwen3HParams extends CommonHParams {
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nEmbdHead: number; // key_length = value_length = rope.dimension_count
  normRmsEps: number;
  ropeFreqBase: number;
}

const k = (name: string) => `${ARCH}.${name}`;

/**
 * llama_model_base::load_hparams (the generic keys, llama.cpp src/llama-model.cpp) and
 * llama_model_qwen3::load_arch_hparams (rms epsilon); docs/architectures/qwen3.md "Keys".
 */
export function loadHParams(meta: GGUFMetadata): Qwen3HParams {
  const { nEmbd, nLayer, nFf, nHead, nHeadKv, nEmbdHead } = loadAttnShape(meta, ARCH);
  // attention.causal = false would make llama.cpp attend both ways through the cache: not implemented
  if (!getBool(meta, k("attention.causal"), true))
    throw new EmbedError("BAD_HPARAMS", `${ARCH}: attention.causal = false is not supported`, { key: k("attention.causal") });
  return {
    nEmbd,
    nEmbdOut: nEmbd,
    nLayer,
    nFf,
    nHead,
    nHeadKv,
    nEmbdHead,
    nCtxTrain: getUint(meta, k("context_length")),
    normRmsEps: getPositiveFloat(meta, k("attention.layer_norm_rms_epsilon")),
    ropeFreqBase: getPositiveFloat(meta, k("rope.freq_base"), 10000),
    poolingType: getUint(meta, k("pooling_type"), 0), // LLAMA_POOLING_TYPE_NONE unless the file says (Qwen3-Embedding: 3, LAST)
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
  ffnNorm: Float32Array; // (nEmbd)
  ffnGate: Weight; // (nEmbd -> nFf)
  ffnUp: Weight; // (nEmbd -> nFf)
  ffnDown: Weight; // (nFf -> nEmbd)
}

export interface Qwen3Weights {
  tokenEmbd: Weight; // (nEmbd) x nVocab rows
  layers: LayerWeights[];
  outputNorm: Float32Array; // (nEmbd)
}

/** Tensors llama.cpp would apply that this file does not implement: refused rather than ignored. */
const UNSUPPORTED = [/^blk\.\d+\.attn_qkv\./, /^blk\.\d+\.attn_[qkv]\.bias$/, /^blk\.\d+\.attn_output\.bias$/];

/** llama_model_qwen3::load_arch_tensors: the one table binding GGUF tensor names to fields (output.weight, the LM head, is not used). */
export function bindWeights(hp: Qwen3HParams, t: TensorProvider, nVocab: number): Qwen3Weights {
  const { E, HD, Q, KV, FF } = attnDims(ARCH, hp);
  checkNoExtraLayers(ARCH, hp.nLayer, t);
  for (const name of t.names()) {
    if (UNSUPPORTED.some((re) => re.test(name)))
      throw new EmbedError("UNSUPPORTED_TYPE", `${ARCH}: tensor "${name}" (fused QKV or attention bias) is not supported`, {
        tensor: name,
      });
  }
  const layers: LayerWeights[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const p = `blk.${il}.`;
    requireLayer(ARCH, hp.nLayer, t, il);
    layers.push({
      attnNorm: t.vector(p + "attn_norm.weight", E),
      wq: t.matrix(p + "attn_q.weight", E, Q),
      wk: t.matrix(p + "attn_k.weight", E, KV),
      wv: t.matrix(p + "attn_v.weight", E, KV),
      attnQNorm: t.vector(p + "attn_q_norm.weight", HD),
      attnKNorm: t.vector(p + "attn_k_norm.weight", HD),
      wo: t.matrix(p + "attn_output.weight", Q, E),
      ffnNorm: t.vector(p + "ffn_norm.weight", E),
      ffnGate: t.matrix(p + "ffn_gate.weight", E, FF),
      ffnUp: t.matrix(p + "ffn_up.weight", E, FF),
      ffnDown: t.matrix(p + "ffn_down.weight", FF, E),
    });
  }
  return {
    tokenEmbd: t.matrix("token_embd.weight", E, { n: nVocab, from: `the ${nVocab} entries of tokenizer.ggml.tokens` }),
    layers,
    outputNorm: t.vector("output_norm.weight", E),
  };
}

/** forward()'s activation widths: no fused q|k|v row. */
const widths = (hp: Qwen3HParams): BlockWidths => ({
  nEmbd: hp.nEmbd,
  nQ: hp.nHead * hp.nEmbdHead,
  nKV: hp.nHeadKv * hp.nEmbdHead,
  nFf: hp.nFf,
  fusedQkv: false,
});

export class Qwen3 implements EmbeddingGraph {
  readonly arch = ARCH;
  readonly hasDenseOut = false;
  private readonly rope: NeoxRope;

  constructor(
    readonly hp: Qwen3HParams,
    readonly w: Qwen3Weights,
    readonly backend: Backend,
  ) {
    this.rope = new NeoxRope(hp.nEmbdHead);
  }

  /**
   * Hidden states after output_norm: (nTokens, nEmbd), row i for batch token i (llama.cpp
   * src/models/qwen3.cpp graph). `tap` sees intermediate tensors under llama.cpp's cb() names;
   * they are views of the reused activation region, valid during the call.
   */
  forward(batch: Batch, tap?: Tap): Float32Array {
    const { nEmbd, nHead, nHeadKv, nEmbdHead: hd, normRmsEps: eps } = this.hp;
    const be = this.backend;
    const nTok = batch.tokens.length;
    const seqs = batch.seqLen; // matmul rows keep the order of their own sequence (Backend.matmul)

    const { x, xb, q, kk, v, o, ao, ffn } = blockActivations(be, nTok, widths(this.hp));

    // 1. token embeddings (no scale)
    buildInpEmbd(be, this.w.tokenEmbd, batch.tokens, x);
    const kqScale = Math.fround(1 / Math.sqrt(hd)); // 1.0f/sqrtf(float(n_embd_head)), applied inside soft_max_ext
    for (let il = 0; il < this.hp.nLayer; il++) {
      const L = this.w.layers[il]!;
      // 2.1 pre-attention norm, projections
      buildNorm(be, x, xb, nEmbd, nTok, { kind: "rms", weight: L.attnNorm, eps });
      tap?.("attn_norm", il, xb);
      be.matmul(L.wq, xb, nTok, q, seqs);
      be.matmul(L.wk, xb, nTok, kk, seqs);
      be.matmul(L.wv, xb, nTok, v, seqs);
      tap?.("Vcur", il, v);
      // 2.2 per-head Q/K RMSNorm, NEOX RoPE at the position within its sequence
      buildNorm(be, q, q, hd, nTok * nHead, { kind: "rms", weight: L.attnQNorm, eps });
      tap?.("Qcur_normed", il, q);
      buildNorm(be, kk, kk, hd, nTok * nHeadKv, { kind: "rms", weight: L.attnKNorm, eps });
      tap?.("Kcur_normed", il, kk);
      this.rope.apply(batch, q, nHead, this.hp.ropeFreqBase);
      this.rope.apply(batch, kk, nHeadKv, this.hp.ropeFreqBase);
      tap?.("Qcur", il, q);
      tap?.("Kcur", il, kk);
      // 2.3 causal attention through the f16 KV cache, per sequence
      buildAttnKvF16(be, batch, q, kk, v, o, nHead, nHeadKv, hd, kqScale);
      tap?.("kqv_out", il, o);
      // 2.4 output projection, residual
      be.matmul(L.wo, o, nTok, ao, seqs);
      tap?.("attn_out", il, ao);
      addInPlace(be, x, ao, nTok, nEmbd);
      tap?.("ffn_inp", il, x);
      // 2.5 FFN: SwiGLU(gate) · up, down, residual
      buildNorm(be, x, xb, nEmbd, nTok, { kind: "rms", weight: L.ffnNorm, eps });
      tap?.("ffn_norm", il, xb);
      buildFfn(be, xb, nTok, seqs, { kind: "swiglu", gate: L.ffnGate, up: L.ffnUp, down: L.ffnDown }, ffn, ao, (name, d) =>
        tap?.(name, il, d),
      );
      tap?.("ffn_out", il, ao);
      addInPlace(be, x, ao, nTok, nEmbd);
      tap?.("l_out", il, x);
    }
    // 3. final norm (result_norm); the result is copied out of the reusable region
    buildNorm(be, x, x, nEmbd, nTok, { kind: "rms", weight: this.w.outputNorm, eps });
    tap?.("result_norm", -1, x);
    return x.slice();
  }

  /** Every matmul weight (for kernel coverage reports; token_embd is a row lookup and not included). */
  matrices(): Weight[] {
    const out: Weight[] = [];
    for (const L of this.w.layers) out.push(L.wq, L.wk, L.wv, L.wo, L.ffnGate, L.ffnUp, L.ffnDown);
    return out;
  }

  /** No post-pooling projection. */
  denseOut(rows: Float32Array): Float32Array {
    return rows;
  }
}

export const qwen3: Architecture<Qwen3HParams, Qwen3Weights> = {
  name: ARCH,
  loadHParams,
  bindWeights,
  create: (hp, w, backend) => new Qwen3(hp, w, backend),
  activationFloatsPerToken: (hp) => activationFloats(widths(hp)),
};

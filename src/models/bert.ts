/**
 * BERT encoders (`general.architecture = "bert"`): MiniLM, bge-*, mxbai-embed-large, arctic-embed,
 * and XLM-R models (bge-m3) with the unigram tokenizer. Mirrors llama.cpp src/models/bert.cpp
 * (load_arch_hparams, load_arch_tensors, graph); nomic-bert.ts binds its own tensors to the same
 * graph (BertGraph), as llama.cpp's llama_model_nomic_bert uses llama_model_bert::graph.
 * docs/architectures/bert.md; numerics per docs/numerics.md.
 * Not here: tokenization, pooling choice, normalization (embed/), threads and SIMD (kernels/).
 */
import { EmbedError } from "../errors.js";
import { getBool, getPositiveFloat, getUint, type GGUFMetadata } from "../gguf/keys.js";
import type { Backend, Weight } from "../kernels/backend.js";
import type { Architecture, Batch, CommonHParams, Dim, EmbeddingGraph, Tap, TensorProvider } from "./arch.js";
import { loadAttnShape } from "./hparams.js";
import { addBias, addInPlace, blockActivations, buildAttn, buildFfn, buildNorm, NeoxRope, type Ffn, type LayerNorm } from "./graph.js";

export interface BertHParams extends CommonHParams {
  /** "bert" or "nomic-bert": which keys were read and which tensors bound */
  arch: string;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nEmbdHead: number;
  /** attention.layer_norm_epsilon (f_norm_eps) */
  normEps: number;
  /** tokenizer.ggml.token_type_count (llama_vocab n_token_types): > 0, or llama.cpp refuses the file */
  nTokenTypes: number;
  /** NEOX RoPE on Q and K (nomic-bert): rope.freq_base, default 10000 */
  ropeFreqBase?: number;
}

/**
 * The hyperparameters shared by bert and nomic-bert, under llama.cpp's names and defaults
 * (llama_model_base::load_hparams: context_length, embedding_length, block_count, pooling_type
 * default NONE, attention.causal default true, head counts, key_length = n_embd / n_head;
 * load_arch_hparams: attention.layer_norm_epsilon; llama_vocab::load: token_type_count).
 */
export function loadBertCommon(meta: GGUFMetadata, arch: string, rope: { rope: boolean }): BertHParams {
  const k = (name: string) => `${arch}.${name}`;
  const { nEmbd, nLayer, nFf, nHead, nHeadKv, nEmbdHead } = loadAttnShape(meta, arch, rope);
  // llama.cpp runs causal attention unless the file says otherwise; converted BERT files carry false.
  if (getBool(meta, k("attention.causal"), true)) {
    throw new EmbedError(
      "BAD_HPARAMS",
      `${arch}: causal attention is not supported (${k("attention.causal")} is missing or true; ` +
        "BERT GGUFs from convert_hf_to_gguf set it to false)",
      { key: k("attention.causal") },
    );
  }
  const nTokenTypes = getUint(meta, "tokenizer.ggml.token_type_count", 0);
  if (nTokenTypes === 0)
    throw new EmbedError("BAD_HPARAMS", `${arch} model needs to define token type count (tokenizer.ggml.token_type_count)`, {
      key: "tokenizer.ggml.token_type_count",
    });
  return {
    arch,
    nEmbd,
    nEmbdOut: nEmbd,
    nLayer,
    nFf,
    nHead,
    nHeadKv,
    nEmbdHead,
    nTokenTypes,
    nCtxTrain: getUint(meta, k("context_length")),
    poolingType: getUint(meta, k("pooling_type"), 0),
    normEps: getPositiveFloat(meta, k("attention.layer_norm_epsilon")),
  };
}

/** One block's weights; Q/K/V either fused (wqkv) or separate, biases optional (create_tensor_qkv). */
export interface BertLayer {
  wqkv?: Weight; // (nEmbd -> nQ + 2 nKV)
  bqkv?: Float32Array; // (nQ + 2 nKV): attn_qkv.bias, or attn_q/k/v.bias concatenated (build_qkv)
  wq?: Weight;
  wk?: Weight;
  wv?: Weight; // (nEmbd -> nQ), (nEmbd -> nKV) x2
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  wo: Weight; // (nQ -> nEmbd)
  bo?: Float32Array; // (nEmbd)
  attnOutNorm: LayerNorm; // attn_output_norm weight + bias (nEmbd)
  ffn: Ffn; // bert: gelu with biases; nomic-bert: swiglu
  layerOutNorm: LayerNorm; // layer_output_norm weight + bias (nEmbd)
}

export interface BertWeights {
  tokEmbd: Weight; // (nEmbd) x nVocab rows
  typeEmbd?: Weight; // (nEmbd) x nTokenTypes rows; row 0 is added ("Sentence A")
  posEmbd?: Weight; // (nEmbd) x nCtxTrain rows (bert only)
  tokNorm: LayerNorm; // token_embd_norm (nEmbd)
  layers: BertLayer[];
}

/** Dims named by their keys, for shape errors. */
export function bertDims(hp: BertHParams, nVocab: number) {
  const k = (name: string) => `${hp.arch}.${name}`;
  const hdKey = `${k("attention.key_length")} (${hp.nEmbdHead})`;
  const nQ = hp.nHead * hp.nEmbdHead,
    nKV = hp.nHeadKv * hp.nEmbdHead;
  return {
    E: { n: hp.nEmbd, from: `${k("embedding_length")} = ${hp.nEmbd}` } as Dim,
    Q: { n: nQ, from: `${k("attention.head_count")} (${hp.nHead}) × ${hdKey}` } as Dim,
    KV: { n: nKV, from: `${k("attention.head_count_kv")} (${hp.nHeadKv}) × ${hdKey}` } as Dim,
    QKV: { n: nQ + 2 * nKV, from: `head_count × key_length + 2 × head_count_kv × key_length = ${nQ + 2 * nKV}` } as Dim,
    FF: { n: hp.nFf, from: `${k("feed_forward_length")} = ${hp.nFf}` } as Dim,
    V: { n: nVocab, from: `the ${nVocab} entries of tokenizer.ggml.tokens` } as Dim,
    T: { n: hp.nTokenTypes, from: `tokenizer.ggml.token_type_count = ${hp.nTokenTypes}` } as Dim,
    C: { n: hp.nCtxTrain, from: `${k("context_length")} = ${hp.nCtxTrain}` } as Dim,
  };
}

/** block_count must match the layers present: llama.cpp fails on a missing tensor and on an unused one. */
export function checkLayerCount(hp: BertHParams, t: TensorProvider): void {
  for (const name of t.names()) {
    const m = /^blk\.(\d+)\./.exec(name);
    if (m && Number(m[1]) >= hp.nLayer) {
      throw new EmbedError("BAD_HPARAMS", `${hp.arch}.block_count = ${hp.nLayer}, but the file has tensor "${name}" of layer ${m[1]}`, {
        key: `${hp.arch}.block_count`,
        tensor: name,
      });
    }
  }
}

/** create_tensor_qkv + attn_output (+ bias), and the two LayerNorms of block il. */
export function bindAttention(hp: BertHParams, t: TensorProvider, il: number, d: ReturnType<typeof bertDims>): Omit<BertLayer, "ffn"> {
  const p = `blk.${il}.`;
  const opt = (name: string, n: Dim) => (t.has(p + name) ? t.vector(p + name, n) : undefined);
  const ln = (name: string): LayerNorm => ({
    kind: "layer",
    weight: t.vector(`${p}${name}.weight`, d.E),
    bias: t.vector(`${p}${name}.bias`, d.E),
    eps: hp.normEps,
  });
  const L: Omit<BertLayer, "ffn"> = {
    wo: t.matrix(p + "attn_output.weight", d.Q, d.E),
    bo: opt("attn_output.bias", d.E),
    attnOutNorm: ln("attn_output_norm"),
    layerOutNorm: ln("layer_output_norm"),
  };
  if (t.has(p + "attn_qkv.weight")) {
    L.wqkv = t.matrix(p + "attn_qkv.weight", d.E, d.QKV);
    L.bqkv = opt("attn_qkv.bias", d.QKV);
    const bq = opt("attn_q.bias", d.Q),
      bk = opt("attn_k.bias", d.KV),
      bv = opt("attn_v.bias", d.KV);
    if (!L.bqkv && bq && bk && bv) L.bqkv = Float32Array.from([...bq, ...bk, ...bv]); // ggml_concat of the three
  } else {
    if (!t.has(p + "attn_q.weight"))
      throw new EmbedError("TENSOR_MISSING", `${hp.arch}: layer ${il} has neither "${p}attn_qkv.weight" nor "${p}attn_q.weight"`, {
        tensor: p + "attn_qkv.weight",
      });
    Object.assign(L, {
      wq: t.matrix(p + "attn_q.weight", d.E, d.Q),
      wk: t.matrix(p + "attn_k.weight", d.E, d.KV),
      wv: t.matrix(p + "attn_v.weight", d.E, d.KV),
      bq: opt("attn_q.bias", d.Q),
      bk: opt("attn_k.bias", d.KV),
      bv: opt("attn_v.bias", d.KV),
    });
  }
  return L;
}

/**
 * The tensors both architectures share (embeddings, embedding norm, attention and norms of every
 * block), with the FFN of block il from `ffnOf(prefix, dims)`; position_embd when `positions`.
 */
export function bindBertWeights(
  hp: BertHParams,
  t: TensorProvider,
  nVocab: number,
  positions: boolean,
  ffnOf: (p: string, d: ReturnType<typeof bertDims>) => Ffn,
): BertWeights {
  const d = bertDims(hp, nVocab);
  checkLayerCount(hp, t);
  const layers: BertLayer[] = [];
  for (let il = 0; il < hp.nLayer; il++) layers.push({ ...bindAttention(hp, t, il, d), ffn: ffnOf(`blk.${il}.`, d) });
  return {
    tokEmbd: t.matrix("token_embd.weight", d.E, d.V),
    typeEmbd: t.has("token_types.weight") ? t.matrix("token_types.weight", d.E, d.T) : undefined,
    posEmbd: positions ? t.matrix("position_embd.weight", d.E, d.C) : undefined,
    tokNorm: {
      kind: "layer",
      weight: t.vector("token_embd_norm.weight", d.E),
      bias: t.vector("token_embd_norm.bias", d.E),
      eps: hp.normEps,
    },
    layers,
  };
}

/** llama_model_bert::load_arch_tensors (docs/architectures/bert.md §Tensors): GELU FFN with optional biases. */
export function bindWeights(hp: BertHParams, t: TensorProvider, nVocab: number): BertWeights {
  return bindBertWeights(hp, t, nVocab, true, (p, d) => {
    const opt = (name: string, n: Dim) => (t.has(p + name) ? t.vector(p + name, n) : undefined);
    return {
      kind: "gelu",
      up: t.matrix(p + "ffn_up.weight", d.E, d.FF),
      upB: opt("ffn_up.bias", d.FF),
      down: t.matrix(p + "ffn_down.weight", d.FF, d.E),
      downB: opt("ffn_down.bias", d.E),
    };
  });
}

/** llama_model_bert::graph, for bert and nomic-bert (the branches by architecture are by weights present). */
export class BertGraph implements EmbeddingGraph {
  readonly hasDenseOut = false;
  readonly ops: readonly string[];
  private readonly rope?: NeoxRope;

  constructor(
    readonly hp: BertHParams,
    readonly w: BertWeights,
    readonly backend: Backend,
  ) {
    if (hp.ropeFreqBase !== undefined) this.rope = new NeoxRope(hp.nEmbdHead);
    this.ops = ["norm", w.layers[0]?.ffn.kind === "swiglu" ? "swiglu" : "gelu"];
  }

  get arch(): string {
    return this.hp.arch;
  }

  /**
   * Hidden states after the last block: (nTokens, nEmbd), row i for batch token i (llama.cpp
   * src/models/bert.cpp graph). `tap` sees intermediate tensors under llama.cpp's cb() names.
   */
  forward(batch: Batch, tap?: Tap): Float32Array {
    const { nEmbd, nHead, nHeadKv, nEmbdHead: hd, nFf } = this.hp;
    const be = this.backend,
      W = this.w;
    const nTok = batch.tokens.length,
      seqs = batch.seqLen;
    const nQ = nHead * hd,
      nKV = nHeadKv * hd,
      nQKV = nQ + 2 * nKV;
    // xb is ffn_inp here; the fused q|k|v row is kept for bert's attn_qkv
    const { x, xb: h, q, kk, v, o, ao, ffn, fused: qkv } = blockActivations(be, nTok, { nEmbd, nQ, nKV, nFf, fusedQkv: true });

    // 1. input embeddings: (tok + type row 0) + pos, each add an f32 op; then the embedding LayerNorm
    this.embed(batch, x);
    tap?.("inp_embd", -1, x);
    buildNorm(be, x, x, nEmbd, nTok, W.tokNorm);
    tap?.("inp_norm", 0, x);

    const kqScale = Math.fround(1 / Math.fround(Math.sqrt(hd))); // 1.0f/sqrtf(float(n_embd_head))
    for (let il = 0; il < this.hp.nLayer; il++) {
      const L = W.layers[il]!;
      // 2.1 Q, K, V (build_qkv): fused matmul split into views, or three matmuls; biases as f32 adds
      if (L.wqkv) {
        be.matmul(L.wqkv, x, nTok, qkv, seqs);
        addBias(be, qkv, L.bqkv, nQKV, nTok);
        for (let i = 0; i < nTok; i++) {
          const r = i * nQKV;
          q.set(qkv.subarray(r, r + nQ), i * nQ);
          kk.set(qkv.subarray(r + nQ, r + nQ + nKV), i * nKV);
          v.set(qkv.subarray(r + nQ + nKV, r + nQKV), i * nKV);
        }
      } else {
        be.matmul(L.wq!, x, nTok, q, seqs);
        addBias(be, q, L.bq, nQ, nTok);
        be.matmul(L.wk!, x, nTok, kk, seqs);
        addBias(be, kk, L.bk, nKV, nTok);
        be.matmul(L.wv!, x, nTok, v, seqs);
        addBias(be, v, L.bv, nKV, nTok);
      }
      // 2.2 NEOX RoPE at each token's position in its sequence (nomic-bert)
      if (this.rope) {
        this.rope.apply(batch, q, nHead, this.hp.ropeFreqBase!);
        this.rope.apply(batch, kk, nHeadKv, this.hp.ropeFreqBase!);
      }
      tap?.("Qcur", il, q);
      tap?.("Kcur", il, kk);
      tap?.("Vcur", il, v);
      // 2.3 bidirectional attention per sequence, kq_scale inside the softmax; output projection + bias
      buildAttn(be, batch, q, kk, v, o, nHead, nHeadKv, hd, Infinity, kqScale);
      be.matmul(L.wo, o, nTok, ao, seqs);
      addBias(be, ao, L.bo, nEmbd, nTok);
      tap?.("kqv_out", il, ao);
      // 2.4 post-LN: residual, attn_output_norm
      addInPlace(be, ao, x, nTok, nEmbd);
      buildNorm(be, ao, h, nEmbd, nTok, L.attnOutNorm);
      tap?.("ffn_inp", il, h);
      // 2.5 FFN, residual, layer_output_norm -> the next block's input
      buildFfn(be, h, nTok, seqs, L.ffn, ffn, ao, (name, d) => tap?.(name, il, d));
      tap?.("ffn_out", il, ao);
      addInPlace(be, ao, h, nTok, nEmbd);
      buildNorm(be, ao, x, nEmbd, nTok, L.layerOutNorm);
      tap?.("l_out", il, x);
    }
    tap?.("result_embd", -1, x);
    return x.slice();
  }

  /** x (nTok, nEmbd) = (token_embd[tok] + token_types[0]) + position_embd[pos in sequence], in f32. */
  private embed(batch: Batch, x: Float32Array): void {
    const n = this.hp.nEmbd,
      be = this.backend,
      W = this.w;
    const type0 = new Float32Array(n); // (n) token type 0's row
    if (W.typeEmbd) be.getRow(W.typeEmbd, 0, type0);
    const row = new Float32Array(n); // (n) one dequantized row
    for (let s = 0; s < batch.seqStart.length; s++) {
      for (let p = 0; p < batch.seqLen[s]!; p++) {
        const i = batch.seqStart[s]! + p,
          o = i * n;
        be.getRow(W.tokEmbd, batch.tokens[i]!, row);
        for (let j = 0; j < n; j++) x[o + j] = W.typeEmbd ? Math.fround(row[j]! + type0[j]!) : row[j]!;
        if (W.posEmbd) {
          be.getRow(W.posEmbd, p, row);
          for (let j = 0; j < n; j++) x[o + j] = Math.fround(row[j]! + x[o + j]!);
        }
      }
    }
  }

  /** Every matmul weight (kernel coverage reports; the embedding tables are row lookups). */
  matrices(): Weight[] {
    const out: Weight[] = [];
    for (const L of this.w.layers) {
      for (const m of [L.wqkv, L.wq, L.wk, L.wv, L.wo]) if (m) out.push(m);
      if (L.ffn.kind === "gelu") out.push(L.ffn.up, L.ffn.down);
      else out.push(L.ffn.gate, L.ffn.up, L.ffn.down);
    }
    return out;
  }

  denseOut(rows: Float32Array): Float32Array {
    return rows;
  }
}

export const bert: Architecture<BertHParams, BertWeights> = {
  name: "bert",
  loadHParams: (meta) => loadBertCommon(meta, "bert", { rope: false }),
  bindWeights,
  create: (hp, w, backend) => new BertGraph(hp, w, backend),
};

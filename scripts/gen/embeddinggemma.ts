/**
 * Synthetic EmbeddingGemma generator: real architecture keys and tensor names/shapes, the real
 * Gemma 3 vocabulary, seeded random weights, any weight type. Used by the test setup and runnable
 * as `npm run gen:model -- --out x.gguf [--layers 6] [--type Q8_0] [--dense] ...`.
 * ref: spec gemma-embedding.md §3 (keys), §4 (tensors), gguf.md §6.4 (ffn_down fallback types).
 *
 * Weights are produced one tensor at a time, when the writer reaches them, so a 24-layer model
 * never exists as f32 in memory.
 */
import { kv } from "../../src/gguf/keys.js";
import type { GGUFToWrite, TensorToWrite } from "../../src/gguf/writer.js";
import { GGMLType, ggmlTypeByName, GGML_TYPES } from "../../src/tensor/ggml-type.js";
import { gemma3VocabMetadata, type Gemma3Conversion as VocabConversion } from "./gemma3-vocab.js";
import {
  attnHparamsMeta,
  decoderShape,
  encode,
  FILE_TYPE,
  generalMeta,
  randomMatrixData,
  type DecoderShape,
  type MetaEntry,
} from "./meta.js";
import { Rng, tensorSeed } from "./rng.js";

/** nLayer, nEmbd, nFf, nHead, nHeadKv, headDim (DecoderShape): unset ones take EmbeddingGemma-300m's (768 wide, 24 layers). */
export interface GemmaGenOptions extends Partial<DecoderShape> {
  contextLength?: number;
  nSwa?: number;
  /** attention.sliding_window_pattern: a UINT32 period, or per-layer BOOLs; absent by default (llama.cpp's period 6). */
  swaPattern?: number | boolean[];
  /** ggml type name of the matrices (token_embd and dense included), e.g. "Q8_0". */
  weightType?: string;
  /** Overrides the type of token_embd only. */
  embdType?: string;
  seed?: number;
  /** Multiplies the post-attention and post-FFN norm weights; ~0.1 makes a deep random model well-conditioned. */
  postNormScale?: number;
  dense?: boolean;
  conversion?: VocabConversion;
  /** Write rope.freq_base_swa (real newer files do); false leaves it to llama.cpp's default. */
  writeFreqBaseSwa?: boolean;
  /** Per-tensor type overrides: the first pattern matching a tensor name wins, e.g. { "ffn_down": "Q8_0" }. */
  typeOverrides?: Record<string, string>;
  name?: string;
  /**
   * "ollama": Ollama's embeddinggemma blob layout — `general.architecture = "gemma3"`, gemma3.* keys with
   * rope.local.freq_base and a BOOL-array sliding_window_pattern, no dense_*_feat keys, dense.0/dense.1
   * (BF16 unless typeOverrides say otherwise). The weights are the same numbers as in llama.cpp's layout.
   */
  layout?: "llama.cpp" | "ollama";
  /** One blk.N.attn_qkv.weight (rows q, then k, then v: the same numbers) instead of attn_q/k/v. */
  fusedQkv?: boolean;
}

/** llama-quantize's substitutes when a row is not a whole number of 256-blocks. ref: gguf.md §6.4 */
const FALLBACK: Partial<Record<GGMLType, GGMLType>> = {
  [GGMLType.Q2_K]: GGMLType.IQ4_NL,
  [GGMLType.Q3_K]: GGMLType.IQ4_NL,
  [GGMLType.IQ4_XS]: GGMLType.IQ4_NL,
  [GGMLType.Q4_K]: GGMLType.Q5_0,
  [GGMLType.Q5_K]: GGMLType.Q5_1,
  [GGMLType.Q6_K]: GGMLType.Q8_0,
  [GGMLType.Q8_K]: GGMLType.Q8_0,
};

export function typeForRow(type: GGMLType, ne0: number): GGMLType {
  const t = GGML_TYPES.get(type)!;
  if (ne0 % t.blockSize === 0) return type;
  const fb = FALLBACK[type];
  if (fb !== undefined && ne0 % GGML_TYPES.get(fb)!.blockSize === 0) return fb;
  return GGMLType.F16;
}

export function gemmaEmbeddingGGUF(o: GemmaGenOptions = {}): GGUFToWrite {
  const shape = decoderShape(o, { nLayer: 24, nEmbd: 768, nFf: 1152, nHead: 3, nHeadKv: 1, headDim: 256 });
  const { nLayer, nEmbd, nFf, nHead, nHeadKv, headDim } = shape;
  const seed = o.seed ?? 1234,
    postNormScale = o.postNormScale ?? 1;
  const wType = ggmlTypeByName(o.weightType ?? "Q8_0").id;
  const eType = o.embdType ? ggmlTypeByName(o.embdType).id : wType;
  const ollama = o.layout === "ollama";
  const arch = ollama ? "gemma3" : "gemma-embedding";
  const vocab = gemma3VocabMetadata({ conversion: o.conversion ?? "converter" });
  const nVocab = (vocab.find(([k]) => k === "tokenizer.ggml.tokens")![1] as { value: string[] }).value.length;

  const meta: MetaEntry[] = [
    ...generalMeta(arch, o.name ?? `synthetic-embeddinggemma-${nLayer}L-${GGML_TYPES.get(wType)!.name}`, FILE_TYPE[wType] ?? 7),
    ...attnHparamsMeta(arch, { ...shape, contextLength: o.contextLength ?? 2048 }),
    [`${arch}.attention.sliding_window`, kv.u32(o.nSwa ?? 512)],
    [`${arch}.pooling_type`, kv.u32(1)],
  ];
  if (ollama) {
    // ollama convert: rope.local.freq_base, and the pattern as one BOOL per layer (true = local)
    meta.push([`${arch}.rope.local.freq_base`, kv.f32(10000)]);
    const local = Array.isArray(o.swaPattern) ? o.swaPattern : Array.from({ length: nLayer }, (_, i) => (i + 1) % 6 !== 0);
    meta.push([`${arch}.attention.sliding_window_pattern`, kv.bools(Uint8Array.from(local, Number))]);
  } else {
    if (o.writeFreqBaseSwa ?? true) meta.push([`${arch}.rope.freq_base_swa`, kv.f32(10000)]);
    if (typeof o.swaPattern === "number") meta.push([`${arch}.attention.sliding_window_pattern`, kv.u32(o.swaPattern)]);
    else if (o.swaPattern) meta.push([`${arch}.attention.sliding_window_pattern`, kv.bools(Uint8Array.from(o.swaPattern, Number))]);
  }
  if (o.dense && !ollama) {
    meta.push([`${arch}.dense_2_feat_in`, kv.u32(nEmbd)], [`${arch}.dense_2_feat_out`, kv.u32(4 * nEmbd)]);
    meta.push([`${arch}.dense_3_feat_in`, kv.u32(4 * nEmbd)], [`${arch}.dense_3_feat_out`, kv.u32(nEmbd)]);
  }
  meta.push(...vocab);

  const tensors: TensorToWrite[] = [];
  const overrides = Object.entries(o.typeOverrides ?? {}).map(([re, t]) => [new RegExp(re), ggmlTypeByName(t).id] as const);
  const values = (name: string, n: number, std: number) => new Rng(tensorSeed(seed, name)).fill(new Float32Array(n), std);
  // `name` picks the seed (llama.cpp's name, so both layouts hold the same numbers); `fileName` is written
  const matrix = (name: string, ne0: number, ne1: number, std: number, type = wType, fileName = name) => {
    const t = typeForRow(overrides.find(([re]) => re.test(name))?.[1] ?? type, ne0);
    tensors.push({ name: fileName, type: t, ne: [ne0, ne1], data: randomMatrixData(seed, name, ne0, ne1, std, t) });
  };
  // fused q|k|v: the three matrices' rows stacked (row-wise quantization keeps each row's bytes)
  const fusedQkv = (p: string, ne1s: number[]) => {
    const t = typeForRow(overrides.find(([re]) => re.test(p + "attn_qkv.weight"))?.[1] ?? wType, nEmbd);
    const ne1 = ne1s.reduce((a, b) => a + b, 0);
    tensors.push({
      name: p + "attn_qkv.weight",
      type: t,
      ne: [nEmbd, ne1],
      data: () => {
        const all = new Float32Array(nEmbd * ne1);
        let at = 0;
        ["attn_q", "attn_k", "attn_v"].forEach((n, i) => {
          all.set(values(`${p}${n}.weight`, nEmbd * ne1s[i]!, 1 / Math.sqrt(nEmbd)), at);
          at += nEmbd * ne1s[i]!;
        });
        return encode(t, all, nEmbd);
      },
    });
  };
  const norm = (name: string, n: number, scale: number) => {
    tensors.push({
      name,
      type: GGMLType.F32,
      ne: [n],
      data: () => {
        const v = new Rng(tensorSeed(seed, name)).fill(new Float32Array(n), 0.1, 1);
        for (let i = 0; i < n; i++) v[i] *= scale;
        return new Uint8Array(v.buffer);
      },
    });
  };

  matrix("token_embd.weight", nEmbd, nVocab, 0.03, eType);
  for (let il = 0; il < nLayer; il++) {
    const p = `blk.${il}.`;
    norm(p + "attn_norm.weight", nEmbd, 1);
    if (o.fusedQkv) fusedQkv(p, [nHead * headDim, nHeadKv * headDim, nHeadKv * headDim]);
    else {
      matrix(p + "attn_q.weight", nEmbd, nHead * headDim, 1 / Math.sqrt(nEmbd));
      matrix(p + "attn_k.weight", nEmbd, nHeadKv * headDim, 1 / Math.sqrt(nEmbd));
      matrix(p + "attn_v.weight", nEmbd, nHeadKv * headDim, 1 / Math.sqrt(nEmbd));
    }
    norm(p + "attn_q_norm.weight", headDim, 1);
    norm(p + "attn_k_norm.weight", headDim, 1);
    matrix(p + "attn_output.weight", nHead * headDim, nEmbd, 1 / Math.sqrt(nHead * headDim));
    norm(p + "post_attention_norm.weight", nEmbd, postNormScale);
    norm(p + "ffn_norm.weight", nEmbd, 1);
    matrix(p + "ffn_gate.weight", nEmbd, nFf, 1 / Math.sqrt(nEmbd));
    matrix(p + "ffn_up.weight", nEmbd, nFf, 1 / Math.sqrt(nEmbd));
    matrix(p + "ffn_down.weight", nFf, nEmbd, 1 / Math.sqrt(nFf));
    norm(p + "post_ffw_norm.weight", nEmbd, postNormScale);
  }
  norm("output_norm.weight", nEmbd, 1);
  if (o.dense) {
    const dType = ollama ? GGMLType.BF16 : wType; // Ollama ships its dense layers in BF16
    matrix("dense_2.weight", nEmbd, 4 * nEmbd, 1 / Math.sqrt(nEmbd), dType, ollama ? "dense.0.weight" : "dense_2.weight");
    matrix("dense_3.weight", 4 * nEmbd, nEmbd, 1 / Math.sqrt(4 * nEmbd), dType, ollama ? "dense.1.weight" : "dense_3.weight");
  }
  return { metadata: meta, tensors };
}

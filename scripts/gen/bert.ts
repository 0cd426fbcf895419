/**
 * Synthetic BERT-family generator (`bert`, `nomic-bert`): llama.cpp's keys and tensor names
 * (src/llama-arch.cpp, src/models/bert.cpp / nomic-bert.cpp load_arch_tensors), a real vocabulary
 * (the tokenizer.* keys of a vocabulary GGUF, e.g. llama.cpp's models/ggml-vocab-bert-bge.gguf or
 * ggml-vocab-nomic-bert-moe.gguf), seeded random weights in any type, shapes of the real models.
 * Runnable as `npm run gen:model -- --arch bert --vocab v.gguf --out x.gguf [--shape minilm] ...`.
 * docs/architectures/bert.md §Generator.
 */
import { kv, type GGUFMetadata } from "../../src/gguf/keys.js";
import type { GGUFToWrite, TensorToWrite } from "../../src/gguf/writer.js";
import { GGMLType, ggmlTypeByName, GGML_TYPES } from "../../src/tensor/ggml-type.js";
import { FILE_TYPE, generalMeta, type MetaEntry, seededTensors } from "./meta.js";

/** Shapes of the real models (their config.json): layers, width, FF, heads, context. */
export const BERT_SHAPES = {
  minilm: { nLayer: 6, nEmbd: 384, nFf: 1536, nHead: 12, contextLength: 512 }, // all-MiniLM-L6-v2
  nomic: { nLayer: 12, nEmbd: 768, nFf: 3072, nHead: 12, contextLength: 2048 }, // nomic-embed-text-v1.5
  xlmr: { nLayer: 24, nEmbd: 1024, nFf: 4096, nHead: 16, contextLength: 8192 }, // bge-m3 (XLM-R large)
} as const;

export interface BertGenOptions {
  arch?: "bert" | "nomic-bert";
  /** the vocabulary GGUF's metadata: every tokenizer.* key is copied */
  vocab: GGUFMetadata;
  nLayer?: number;
  nEmbd?: number;
  nFf?: number;
  nHead?: number;
  contextLength?: number;
  /** ggml type name of the matrices (token_embd included), e.g. "Q8_0"; K-quants fall back per row as llama-quantize does */
  weightType?: string;
  /** llama_pooling_type: 1 mean (default), 2 cls */
  pooling?: number;
  /** bert: one attn_qkv tensor instead of attn_q/k/v (nomic-bert always fuses) */
  fusedQkv?: boolean;
  /** attention.layer_norm_epsilon: 1e-12 (BERT, nomic), 1e-5 (XLM-R) */
  normEps?: number;
  /** type of token_embd only (K-quant embedding tables are slow to quantize in JS) */
  embdType?: string;
  /** nomic-bert rope.freq_base (1000 for v1.5) */
  ropeFreqBase?: number;
  seed?: number;
  name?: string;
}

/**
 * llama-quantize's substitute for a K/IQ type when a row is not whole 256-blocks, and F16 when
 * even that does not fit. ref: llama.cpp src/llama-quant.cpp tensor_type_fallback (at the shipped tag).
 */
const FALLBACK: Partial<Record<GGMLType, GGMLType>> = {
  [GGMLType.IQ4_XS]: GGMLType.IQ4_NL,
  [GGMLType.Q2_K]: GGMLType.Q4_0,
  [GGMLType.Q3_K]: GGMLType.Q4_0,
  [GGMLType.Q4_K]: GGMLType.Q5_0,
  [GGMLType.Q5_K]: GGMLType.Q5_1,
  [GGMLType.Q6_K]: GGMLType.Q8_0,
};

export function quantizeTypeForRow(type: GGMLType, ne0: number): GGMLType {
  const bs = (t: GGMLType) => GGML_TYPES.get(t)!.blockSize;
  if (ne0 % bs(type) === 0) return type;
  const fb = FALLBACK[type] ?? type;
  return ne0 % bs(fb) === 0 ? fb : GGMLType.F16;
}

export function bertGGUF(o: BertGenOptions): GGUFToWrite {
  const arch = o.arch ?? "bert";
  const base = arch === "nomic-bert" ? BERT_SHAPES.nomic : BERT_SHAPES.minilm;
  const nLayer = o.nLayer ?? base.nLayer,
    nEmbd = o.nEmbd ?? base.nEmbd,
    nFf = o.nFf ?? base.nFf,
    nHead = o.nHead ?? base.nHead;
  const nCtx = o.contextLength ?? base.contextLength,
    seed = o.seed ?? 1234;
  const wType = ggmlTypeByName(o.weightType ?? "Q8_0").id;
  const tokens = o.vocab.get("tokenizer.ggml.tokens");
  if (!tokens || !Array.isArray(tokens.value)) throw new Error("the vocabulary has no tokenizer.ggml.tokens");
  const nVocab = tokens.value.length;
  const typeCount = o.vocab.get("tokenizer.ggml.token_type_count");
  const nTypes = typeCount && typeof typeCount.value === "number" ? typeCount.value : 2;

  const meta: MetaEntry[] = [
    ...generalMeta(arch, o.name ?? `synthetic-${arch}-${nLayer}L-${nEmbd}-${GGML_TYPES.get(wType)!.name}`, FILE_TYPE[wType] ?? 7),
    [`${arch}.context_length`, kv.u32(nCtx)],
    [`${arch}.embedding_length`, kv.u32(nEmbd)],
    [`${arch}.feed_forward_length`, kv.u32(nFf)],
    [`${arch}.block_count`, kv.u32(nLayer)],
    [`${arch}.attention.head_count`, kv.u32(nHead)],
    [`${arch}.attention.layer_norm_epsilon`, kv.f32(o.normEps ?? 1e-12)],
    [`${arch}.attention.causal`, kv.bool(false)],
    [`${arch}.pooling_type`, kv.u32(o.pooling ?? 1)],
  ];
  if (arch === "nomic-bert") meta.push([`${arch}.rope.freq_base`, kv.f32(o.ropeFreqBase ?? 1000)]);
  for (const [k, v] of o.vocab) if (k.startsWith("tokenizer.") && k !== "tokenizer.ggml.token_type_count") meta.push([k, v]);
  meta.push(["tokenizer.ggml.token_type_count", kv.u32(nTypes)]);

  const tensors: TensorToWrite[] = [];
  const seeded = seededTensors(seed, tensors, quantizeTypeForRow);
  const matrix = (name: string, ne0: number, ne1: number, std: number, type = wType) => seeded.matrix(name, ne0, ne1, std, type);
  const vector = seeded.vector;
  const norm = (name: string) => {
    vector(`${name}.weight`, nEmbd, 0.1, 1);
    vector(`${name}.bias`, nEmbd, 0.05);
  };
  // position_embd and token_types are never quantized (llama-quant.cpp). position_embd: F32, or F16
  // in an F16 file (ggml_get_rows reads either); token_types stays F32 (llama.cpp adds its row 0 with
  // ggml_add, which the CPU backend has no f32 + f16 kernel for: an F16 table aborts llama.cpp).
  const embType = wType === GGMLType.F16 ? GGMLType.F16 : GGMLType.F32;

  matrix("token_embd.weight", nEmbd, nVocab, 0.05, o.embdType ? ggmlTypeByName(o.embdType).id : wType);
  matrix("token_types.weight", nEmbd, nTypes, 0.05, GGMLType.F32);
  if (arch === "bert") matrix("position_embd.weight", nEmbd, nCtx, 0.05, embType);
  norm("token_embd_norm");
  const s = 1 / Math.sqrt(nEmbd);
  for (let il = 0; il < nLayer; il++) {
    const p = `blk.${il}.`;
    if (arch === "nomic-bert" || o.fusedQkv) {
      matrix(p + "attn_qkv.weight", nEmbd, 3 * nEmbd, s);
      if (arch === "bert") vector(p + "attn_qkv.bias", 3 * nEmbd, 0.02);
    } else {
      for (const x of ["q", "k", "v"]) {
        matrix(`${p}attn_${x}.weight`, nEmbd, nEmbd, s);
        vector(`${p}attn_${x}.bias`, nEmbd, 0.02);
      }
    }
    matrix(p + "attn_output.weight", nEmbd, nEmbd, s);
    if (arch === "bert") vector(p + "attn_output.bias", nEmbd, 0.02);
    norm(p + "attn_output_norm");
    if (arch === "nomic-bert") matrix(p + "ffn_gate.weight", nEmbd, nFf, s);
    matrix(p + "ffn_up.weight", nEmbd, nFf, s);
    if (arch === "bert") vector(p + "ffn_up.bias", nFf, 0.02);
    matrix(p + "ffn_down.weight", nFf, nEmbd, 1 / Math.sqrt(nFf));
    if (arch === "bert") vector(p + "ffn_down.bias", nEmbd, 0.02);
    norm(p + "layer_output_norm");
  }
  return { metadata: meta, tensors };
}

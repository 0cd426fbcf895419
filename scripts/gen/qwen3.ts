/**
 * Synthetic Qwen3(-Embedding) generator: real `qwen3` keys and tensor names/shapes (llama.cpp
 * src/models/qwen3.cpp load_arch_tensors), the real Qwen3 vocabulary (qwen3-vocab.ts), seeded
 * random weights. Default shape: Qwen3-Embedding-0.6B (28 × 1024, 16 Q / 8 KV heads of 128,
 * FF 3072, ctx 32768, rope base 1e6, LAST pooling). Runnable as
 * `npm run gen:model -- --arch qwen3 --out x.gguf [--layers 4] [--type Q8_0|F16|Q4_K_M] [--down-scale 0.1]`.
 *
 * Types: any ggml type name for every matrix, or "Q4_K_M": Q4_K with Q6_K for attn_v and ffn_down
 * in the layers llama-quantize gives more bits (llama.cpp src/llama-quant.cpp use_more_bits:
 * the first and last eighth, and every third layer between). `downScale` multiplies the std of
 * attn_output and ffn_down: Qwen3 has no post-norms, so this keeps a deep random model
 * well-conditioned.
 */
import { kv } from "../../src/gguf/keys.js";
import type { GGUFToWrite, TensorToWrite } from "../../src/gguf/writer.js";
import { GGMLType, ggmlTypeByName } from "../../src/tensor/ggml-type.js";
import { typeForRow } from "./embeddinggemma.js";
import { attnHparamsMeta, decoderShape, FILE_TYPE, generalMeta, type DecoderShape, type MetaEntry, seededTensors } from "./meta.js";
import { qwen3VocabMetadata, QWEN3_N_VOCAB } from "./qwen3-vocab.js";

/** nLayer, nEmbd, nFf, nHead, nHeadKv, headDim (DecoderShape): unset ones take Qwen3-Embedding-0.6B's. */
export interface Qwen3GenOptions extends Partial<DecoderShape> {
  contextLength?: number;
  /** ggml type name of every matrix, or "Q4_K_M" (see the header). */
  weightType?: string;
  /** Overrides the type of token_embd only. */
  embdType?: string;
  /** Multiplies the std of attn_output and ffn_down (1 = plain random). */
  downScale?: number;
  seed?: number;
  name?: string;
}

/** llama-quantize's use_more_bits(i_layer, n_layers). ref: llama.cpp src/llama-quant.cpp */
export function useMoreBits(i: number, n: number): boolean {
  return i < n / 8 || i >= (7 * n) / 8 || (i - Math.floor(n / 8)) % 3 === 2;
}

export function qwen3GGUF(o: Qwen3GenOptions = {}): GGUFToWrite {
  const shape = decoderShape(o, { nLayer: 28, nEmbd: 1024, nFf: 3072, nHead: 16, nHeadKv: 8, headDim: 128 });
  const { nLayer, nEmbd, nFf, nHead, nHeadKv, headDim } = shape;
  const seed = o.seed ?? 1234,
    downScale = o.downScale ?? 1;
  const mix = o.weightType === "Q4_K_M";
  const wType = mix ? GGMLType.Q4_K : ggmlTypeByName(o.weightType ?? "Q8_0").id;
  const eType = o.embdType ? ggmlTypeByName(o.embdType).id : wType;
  const arch = "qwen3";
  const meta: MetaEntry[] = [
    ...generalMeta(arch, o.name ?? `synthetic-qwen3-embedding-${nLayer}L-${o.weightType ?? "Q8_0"}`, mix ? 15 : (FILE_TYPE[wType] ?? 7)),
    ...attnHparamsMeta(arch, { ...shape, contextLength: o.contextLength ?? 32768 }),
    [`${arch}.pooling_type`, kv.u32(3)],
    ...qwen3VocabMetadata(),
  ];

  const tensors: TensorToWrite[] = [];
  const seeded = seededTensors(seed, tensors, typeForRow);
  const matrix = (name: string, ne0: number, ne1: number, std: number, type = wType) => seeded.matrix(name, ne0, ne1, std, type);
  const norm = (name: string, n: number) => seeded.vector(name, n, 0.1, 1);
  const more = (il: number) => (mix && useMoreBits(il, nLayer) ? GGMLType.Q6_K : wType);

  matrix("token_embd.weight", nEmbd, QWEN3_N_VOCAB, 0.03, eType);
  for (let il = 0; il < nLayer; il++) {
    const p = `blk.${il}.`;
    norm(p + "attn_norm.weight", nEmbd);
    matrix(p + "attn_q.weight", nEmbd, nHead * headDim, 1 / Math.sqrt(nEmbd));
    matrix(p + "attn_k.weight", nEmbd, nHeadKv * headDim, 1 / Math.sqrt(nEmbd));
    matrix(p + "attn_v.weight", nEmbd, nHeadKv * headDim, 1 / Math.sqrt(nEmbd), more(il));
    matrix(p + "attn_output.weight", nHead * headDim, nEmbd, downScale / Math.sqrt(nHead * headDim));
    norm(p + "attn_k_norm.weight", headDim);
    norm(p + "attn_q_norm.weight", headDim);
    norm(p + "ffn_norm.weight", nEmbd);
    matrix(p + "ffn_gate.weight", nEmbd, nFf, 1 / Math.sqrt(nEmbd));
    matrix(p + "ffn_up.weight", nEmbd, nFf, 1 / Math.sqrt(nEmbd));
    matrix(p + "ffn_down.weight", nFf, nEmbd, downScale / Math.sqrt(nFf), more(il));
  }
  norm("output_norm.weight", nEmbd);
  return { metadata: meta, tensors };
}

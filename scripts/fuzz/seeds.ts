/**
 * Valid GGUF files written by our writer, the starting points of the GGUF fuzzer. Each is small
 * (< 64 KiB) so a mutated copy parses in well under a millisecond:
 *  - "kv-all-types": one key of every value type, arrays of every element type (strings, bools,
 *    64-bit ints, an empty array), empty and non-ASCII strings; no tensors.
 *  - "tensors": 1-D to 4-D tensors of float, integer and quantized types (legacy, k-quant, IQ4,
 *    ternary, MXFP4), a zero-element tensor, general.alignment = 64.
 *  - "gemma-tiny": a complete gemma-embedding model (1 layer, width 32, a 300-token SPM vocab with
 *    the Gemma special tokens and all 256 byte tokens) that loads and embeds, so mutations reach
 *    the tokenizer, hparams, weight binding and the forward pass.
 *  - "gemma-header": the first 64 KiB of a gemma-embedding file with dense_2/dense_3, 2 layers and a
 *    466-token vocab: realistic metadata and tensor infos whose data is cut off.
 * Seeded, so every run (and every fuzz campaign) starts from the same bytes.
 */
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { encodeGGUFToBuffer, type TensorToWrite } from "../../src/gguf/writer.js";
import { quantizeRows } from "../../src/quant/index.js";
import { GGMLType, GGML_TYPES, rowBytes } from "../../src/tensor/ggml-type.js";
import { LlamaTokenType } from "../../src/tokenizer/vocab.js";
import { attnHparamsMeta } from "../gen/meta.js";
import { Rng } from "../gen/rng.js";

export interface Seed {
  name: string;
  bytes: Uint8Array;
}

function randomBytes(n: number, rng: Rng): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng.next() * 256);
  return b;
}

function kvAllTypes(): Uint8Array {
  const rng = new Rng(1);
  const metadata: [string, GGUFValue][] = [
    ["general.architecture", kv.str("fuzz")],
    ["general.name", kv.str("héllo ▁ 🦙 \u0000 end")],
    ["a.empty_str", kv.str("")],
    ["a.u8", kv.u8(250)],
    ["a.i8", kv.i8(-5)],
    ["a.u16", kv.u16(65000)],
    ["a.i16", kv.i16(-30000)],
    ["a.u32", kv.u32(4000000000)],
    ["a.i32", kv.i32(-2000000000)],
    ["a.f32", kv.f32(1.5)],
    ["a.bool", kv.bool(true)],
    ["a.u64", kv.u64(2n ** 60n)],
    ["a.i64", kv.i64(-(2n ** 60n))],
    ["a.f64", kv.f64(Math.PI)],
    ["a.strs", kv.strs(["", "x", "yz", "▁▁", "<0x0A>", "日本"])],
    ["a.f32s", kv.f32s(Float32Array.from({ length: 9 }, () => rng.next() - 0.5))],
    ["a.i32s", kv.i32s(Int32Array.of(-1, 2, 3, 1 << 30))],
    ["a.u32s", kv.u32s(Uint32Array.of(0, 7, 0xffffffff))],
    ["a.bools", kv.bools(Uint8Array.of(1, 0, 1))],
    ["a.empty_arr", kv.i32s(new Int32Array(0))],
    ["a.u8s", { type: 9, itemType: 0, value: Uint8Array.of(1, 2, 3, 255) }],
    ["a.i16s", { type: 9, itemType: 3, value: Int16Array.of(-2, 2) }],
    ["a.u64s", { type: 9, itemType: 10, value: BigUint64Array.of(1n, 2n ** 63n) }],
    ["a.i64s", { type: 9, itemType: 11, value: BigInt64Array.of(-1n) }],
    ["a.f64s", { type: 9, itemType: 12, value: Float64Array.of(0.25, -1e300) }],
  ];
  return encodeGGUFToBuffer({ metadata, tensors: [] });
}

function tensorsOfManyTypes(): Uint8Array {
  const rng = new Rng(2);
  const t = (name: string, type: GGMLType, ne: number[]): TensorToWrite => {
    const n = ne.reduce((a, d) => a * d, 1);
    return { name, type, ne, data: randomBytes((n / ne[0]) * rowBytes(type, ne[0]), rng) };
  };
  const q = (name: string, type: GGMLType, ne0: number, ne1: number): TensorToWrite => {
    const v = rng.fill(new Float32Array(ne0 * ne1), 1);
    return { name, type, ne: [ne0, ne1], data: quantizeRows(type, v, ne0) };
  };
  const tensors: TensorToWrite[] = [
    t("f32.1d", GGMLType.F32, [7]),
    t("f16.2d", GGMLType.F16, [8, 3]),
    t("bf16.3d", GGMLType.BF16, [4, 2, 2]),
    t("i32.4d", GGMLType.I32, [2, 2, 2, 2]),
    t("i8", GGMLType.I8, [5]),
    t("f64", GGMLType.F64, [3]),
    q("q8_0", GGMLType.Q8_0, 64, 2),
    q("q4_0", GGMLType.Q4_0, 32, 2),
    q("q5_1", GGMLType.Q5_1, 32, 1),
    q("q4_k", GGMLType.Q4_K, 256, 1),
    q("q6_k", GGMLType.Q6_K, 256, 1),
    q("iq4_nl", GGMLType.IQ4_NL, 32, 3),
    t("iq2_xxs", GGMLType.IQ2_XXS, [256]),
    t("tq1_0", GGMLType.TQ1_0, [256]),
    t("mxfp4", GGMLType.MXFP4, [64]),
    t("empty", GGMLType.F32, [0, 4]),
  ];
  const metadata: [string, GGUFValue][] = [
    ["general.architecture", kv.str("fuzz")],
    ["general.alignment", kv.u32(64)],
    ["a.n", kv.u32(3)],
  ];
  return encodeGGUFToBuffer({ metadata, tensors });
}

/** A small SPM vocab shaped like Gemma's: specials, the 256 byte tokens, then scored pieces. */
export function tinyGemmaVocab(nPieces: number): [string, GGUFValue][] {
  const tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>", "<unused0>", "\n\n", "  "];
  const types = [3, 3, 3, 2, 4, 3, 3, 3, 4, 4].map((x) => x as LlamaTokenType);
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(LlamaTokenType.BYTE);
  }
  const base = [
    "▁",
    "e",
    "t",
    "a",
    "o",
    "i",
    "n",
    "s",
    "h",
    "r",
    "l",
    "d",
    "▁t",
    "he",
    "▁a",
    "in",
    "er",
    "▁the",
    "ll",
    "▁w",
    "or",
    "é",
    "東",
    "京",
    "🦙",
    "▁▁",
    ".",
  ];
  const pieces = new Set(base);
  const letters = "etaoinshrldcumwfgypbvkjxqz";
  // Two- then three-letter pieces (base 26), a third of them word-initial.
  for (let i = 0; pieces.size < nPieces; i++) {
    const j = i + 26;
    pieces.add(
      (i % 3 === 0 ? "▁" : "") + (j >= 676 ? letters[Math.floor(j / 676) % 26] : "") + letters[Math.floor(j / 26) % 26] + letters[j % 26],
    );
  }
  for (const p of pieces) {
    tokens.push(p);
    types.push(LlamaTokenType.NORMAL);
  }
  const scores = Float32Array.from(tokens, (_, i) =>
    types[i] === LlamaTokenType.NORMAL ? -i : types[i] === LlamaTokenType.BYTE ? 0 : -1000,
  );
  return [
    ["tokenizer.ggml.model", kv.str("llama")],
    ["tokenizer.ggml.pre", kv.str("default")],
    ["tokenizer.ggml.tokens", kv.strs(tokens)],
    ["tokenizer.ggml.scores", kv.f32s(scores)],
    ["tokenizer.ggml.token_type", kv.i32s(Int32Array.from(types))],
    ["tokenizer.ggml.bos_token_id", kv.u32(2)],
    ["tokenizer.ggml.eos_token_id", kv.u32(1)],
    ["tokenizer.ggml.unknown_token_id", kv.u32(3)],
    ["tokenizer.ggml.padding_token_id", kv.u32(0)],
    ["tokenizer.ggml.add_bos_token", kv.bool(true)],
    ["tokenizer.ggml.add_eos_token", kv.bool(true)],
    ["tokenizer.ggml.add_space_prefix", kv.bool(false)],
  ];
}

export interface TinyGemmaOptions {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nFf: number;
  nPieces: number;
  dense: boolean;
  weightType: GGMLType;
  embdType: GGMLType;
}

/** A gemma-embedding GGUF with the generator's keys and tensor names (scripts/gen/embeddinggemma.ts), at toy size. */
export function tinyGemma(o: TinyGemmaOptions): Uint8Array {
  const rng = new Rng(3);
  const A = "gemma-embedding";
  const vocab = tinyGemmaVocab(o.nPieces);
  const nVocab = (vocab[2][1].value as string[]).length;
  const metadata: [string, GGUFValue][] = [
    ["general.architecture", kv.str(A)],
    ["general.name", kv.str("fuzz-gemma")],
    ...attnHparamsMeta(A, { ...o, contextLength: 64 }),
    [`${A}.rope.freq_base_swa`, kv.f32(1e4)],
    [`${A}.attention.sliding_window`, kv.u32(8)],
    [`${A}.pooling_type`, kv.u32(1)],
  ];
  if (o.dense)
    metadata.push(
      [`${A}.dense_2_feat_in`, kv.u32(o.nEmbd)],
      [`${A}.dense_2_feat_out`, kv.u32(2 * o.nEmbd)],
      [`${A}.dense_3_feat_in`, kv.u32(2 * o.nEmbd)],
      [`${A}.dense_3_feat_out`, kv.u32(o.nEmbd)],
    );
  metadata.push(...vocab);
  const tensors: TensorToWrite[] = [];
  const matrix = (name: string, ne0: number, ne1: number, type = o.weightType) => {
    const v = rng.fill(new Float32Array(ne0 * ne1), 1 / Math.sqrt(ne0));
    tensors.push({ name, type, ne: [ne0, ne1], data: type === GGMLType.F32 ? new Uint8Array(v.buffer) : quantizeRows(type, v, ne0) });
  };
  const norm = (name: string, n: number) =>
    tensors.push({ name, type: GGMLType.F32, ne: [n], data: new Uint8Array(rng.fill(new Float32Array(n), 0.1, 1).buffer) });
  matrix("token_embd.weight", o.nEmbd, nVocab, o.embdType);
  const { nEmbd, nHead, nHeadKv, headDim: hd, nFf } = o;
  for (let il = 0; il < o.nLayer; il++) {
    const p = `blk.${il}.`;
    norm(p + "attn_norm.weight", nEmbd);
    matrix(p + "attn_q.weight", nEmbd, nHead * hd);
    matrix(p + "attn_k.weight", nEmbd, nHeadKv * hd);
    matrix(p + "attn_v.weight", nEmbd, nHeadKv * hd, GGMLType.F16);
    norm(p + "attn_q_norm.weight", hd);
    norm(p + "attn_k_norm.weight", hd);
    matrix(p + "attn_output.weight", nHead * hd, nEmbd);
    norm(p + "post_attention_norm.weight", nEmbd);
    norm(p + "ffn_norm.weight", nEmbd);
    matrix(p + "ffn_gate.weight", nEmbd, nFf);
    matrix(p + "ffn_up.weight", nEmbd, nFf);
    matrix(p + "ffn_down.weight", nFf, nEmbd);
    norm(p + "post_ffw_norm.weight", nEmbd);
  }
  norm("output_norm.weight", nEmbd);
  if (o.dense) {
    matrix("dense_2.weight", nEmbd, 2 * nEmbd);
    matrix("dense_3.weight", 2 * nEmbd, nEmbd);
  }
  return encodeGGUFToBuffer({ metadata, tensors });
}

let cache: Seed[] | undefined;

export function fuzzSeeds(): Seed[] {
  if (cache) return cache;
  const gemmaTiny = tinyGemma({
    nLayer: 1,
    nEmbd: 32,
    nHead: 2,
    nHeadKv: 1,
    headDim: 16,
    nFf: 64,
    nPieces: 60,
    dense: false,
    weightType: GGMLType.Q8_0,
    embdType: GGMLType.Q8_0,
  });
  const gemmaBig = tinyGemma({
    nLayer: 2,
    nEmbd: 64,
    nHead: 2,
    nHeadKv: 1,
    headDim: 32,
    nFf: 128,
    nPieces: 200,
    dense: true,
    weightType: GGMLType.Q8_0,
    embdType: GGMLType.Q4_0,
  });
  cache = [
    { name: "kv-all-types", bytes: kvAllTypes() },
    { name: "tensors", bytes: tensorsOfManyTypes() },
    { name: "gemma-tiny", bytes: gemmaTiny },
    { name: "gemma-header", bytes: gemmaBig.slice(0, Math.min(gemmaBig.length, 64 << 10)) },
  ];
  return cache;
}

/** Types whose block sizes differ, for swapping a tensor's type id. */
export const GGML_TYPE_IDS = [...GGML_TYPES.keys()];

/**
 * What the synthetic model generators (embeddinggemma.ts, qwen3.ts, bert.ts) write alike: the
 * general.* keys, llama_ftype numbers for general.file_type, the `<arch>.*` hyperparameter keys of a
 * decoder-style model in the order llama.cpp's converter writes them (convert_hf_to_gguf.py
 * set_gguf_parameters), a tensor's bytes in its ggml type, and seeded random tensors. Key order is part of the file's bytes:
 * the fixtures are cached by options, so changing it here changes every generated fixture.
 * Large random matrices (the token embeddings: 262144 x 768 for Gemma's vocabulary) cost most of a
 * fixture's generation time and are the same in every fixture of one seed, so randomMatrixData also
 * keeps their bytes in <fixtureDir>/tensors/ for the next fixture that needs them.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import type { TensorToWrite } from "../../src/gguf/writer.js";
import { quantizeRows } from "../../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../../src/tensor/ggml-type.js";
import { Rng, tensorSeed } from "./rng.js";
import { fixtureDir } from "./write.js";

/** One metadata entry, as GGUFToWrite.metadata holds them. */
export type MetaEntry = [string, GGUFValue];

/** llama_ftype for general.file_type (informational; llama.cpp src/llama-model-loader.cpp llama_model_ftype_name). */
export const FILE_TYPE: Partial<Record<GGMLType, number>> = {
  [GGMLType.F32]: 0,
  [GGMLType.F16]: 1,
  [GGMLType.Q4_0]: 2,
  [GGMLType.Q4_1]: 3,
  [GGMLType.Q8_0]: 7,
  [GGMLType.Q5_0]: 8,
  [GGMLType.Q5_1]: 9,
  [GGMLType.Q2_K]: 10,
  [GGMLType.Q3_K]: 12,
  [GGMLType.Q4_K]: 15,
  [GGMLType.Q5_K]: 17,
  [GGMLType.Q6_K]: 18,
  [GGMLType.IQ4_NL]: 25,
  [GGMLType.IQ4_XS]: 30,
  [GGMLType.BF16]: 32,
};

/** general.* -> [architecture, type "model", name, file_type, quantization_version 2]. */
export function generalMeta(arch: string, name: string, fileType: number): MetaEntry[] {
  return [
    ["general.architecture", kv.str(arch)],
    ["general.type", kv.str("model")],
    ["general.name", kv.str(name)],
    ["general.file_type", kv.u32(fileType)],
    ["general.quantization_version", kv.u32(2)],
  ];
}

/** A decoder-style model's shape: context, width, depth, FF width, Q / KV heads of headDim; RMS norm epsilon (1e-6), rope base (1e6). */
export interface AttnHparams {
  contextLength: number;
  nEmbd: number;
  nLayer: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  rmsEps?: number;
  ropeFreqBase?: number;
}

/** Width, depth and heads of a decoder-style model (AttnHparams without context, epsilon and rope base). */
export type DecoderShape = Pick<AttnHparams, "nLayer" | "nEmbd" | "nFf" | "nHead" | "nHeadKv" | "headDim">;

/** o's shape, each field it leaves unset taken from `defaults` (the real model's). */
export function decoderShape(o: Partial<DecoderShape>, defaults: DecoderShape): DecoderShape {
  const d = defaults;
  return {
    nLayer: o.nLayer ?? d.nLayer,
    nEmbd: o.nEmbd ?? d.nEmbd,
    nFf: o.nFf ?? d.nFf,
    nHead: o.nHead ?? d.nHead,
    nHeadKv: o.nHeadKv ?? d.nHeadKv,
    headDim: o.headDim ?? d.headDim,
  };
}

/** `${arch}.*` -> context_length, embedding_length, block_count, feed_forward_length, attention.{head_count, head_count_kv,
 *  key_length, value_length, layer_norm_rms_epsilon}, rope.freq_base (gemma-embedding and qwen3 alike). */
export function attnHparamsMeta(arch: string, h: AttnHparams): MetaEntry[] {
  return [
    [`${arch}.context_length`, kv.u32(h.contextLength)],
    [`${arch}.embedding_length`, kv.u32(h.nEmbd)],
    [`${arch}.block_count`, kv.u32(h.nLayer)],
    [`${arch}.feed_forward_length`, kv.u32(h.nFf)],
    [`${arch}.attention.head_count`, kv.u32(h.nHead)],
    [`${arch}.attention.head_count_kv`, kv.u32(h.nHeadKv)],
    [`${arch}.attention.key_length`, kv.u32(h.headDim)],
    [`${arch}.attention.value_length`, kv.u32(h.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, kv.f32(h.rmsEps ?? 1e-6)],
    [`${arch}.rope.freq_base`, kv.f32(h.ropeFreqBase ?? 1e6)],
  ];
}

/** values (ne1 rows of ne0) -> their bytes in `type`: F32 as is (no copy), any other type through quantizeRows. */
export function encode(type: GGMLType, values: Float32Array, ne0: number): Uint8Array {
  if (type === GGMLType.F32) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return quantizeRows(type, values, ne0);
}

/** Bump when the random numbers or a quantizer change their output: the key of a memoized matrix. */
const MEMO_VERSION = 1;
/** Matrices of at least this many elements are memoized on disk (the token embeddings). */
const MEMO_MIN_ELEMENTS = 1 << 24;

/** A thunk for the bytes of the seeded random (ne1 rows of ne0) matrix `name`, uniform of std `std`, in `type`. */
export function randomMatrixData(seed: number, name: string, ne0: number, ne1: number, std: number, type: GGMLType): () => Uint8Array {
  const make = () => encode(type, new Rng(tensorSeed(seed, name)).fill(new Float32Array(ne0 * ne1), std), ne0);
  if (ne0 * ne1 < MEMO_MIN_ELEMENTS) return make;
  const key = `v${MEMO_VERSION}-${tensorSeed(seed, name).toString(16)}-${ggmlTypeName(type)}-${ne0}x${ne1}-std${std}.bin`;
  return () => {
    const path = join(fixtureDir(), "tensors", key);
    try {
      return new Uint8Array(readFileSync(path));
    } catch {
      const bytes = make();
      mkdirSync(join(fixtureDir(), "tensors"), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
      return bytes;
    }
  };
}

/**
 * Appenders of seeded random tensors to `tensors`, each tensor's numbers drawn from Rng(tensorSeed(seed, name))
 * when the writer reaches it (so a large model never exists as f32 in memory):
 * matrix(name, ne0, ne1, std, type) -> (ne1 rows of ne0), uniform of mean 0 and std `std`, in typeFor(type, ne0);
 * vector(name, n, std, mean = 0) -> (n,) F32, uniform of mean `mean` and std `std`.
 */
export function seededTensors(seed: number, tensors: TensorToWrite[], typeFor: (type: GGMLType, ne0: number) => GGMLType) {
  return {
    matrix(name: string, ne0: number, ne1: number, std: number, type: GGMLType): void {
      const t = typeFor(type, ne0);
      tensors.push({
        name,
        type: t,
        ne: [ne0, ne1],
        data: randomMatrixData(seed, name, ne0, ne1, std, t),
      });
    },
    vector(name: string, n: number, std: number, mean = 0): void {
      tensors.push({
        name,
        type: GGMLType.F32,
        ne: [n],
        data: () => new Uint8Array(new Rng(tensorSeed(seed, name)).fill(new Float32Array(n), std, mean).buffer),
      });
    },
  };
}

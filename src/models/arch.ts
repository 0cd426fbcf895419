/**
 * What an architecture file provides, and what the rest of the runtime sees of a built model.
 * As llama.cpp's src/models/<arch>.cpp, one file per architecture holds its hyperparameters
 * (load_arch_hparams), its tensors by GGUF name (load_arch_tensors) and its graph; registry.ts maps
 * `general.architecture` to it. embed/ depends only on EmbeddingGraph, never on an architecture.
 */
import type { GGUFMetadata } from "../gguf/keys.js";
import type { Backend, Weight } from "../kernels/backend.js";

/** The hyperparameters every architecture has, under llama.cpp's names (llama_hparams). */
export interface CommonHParams {
  nEmbd: number;
  /** width of the model's output vectors (after any post-pooling projection) */
  nEmbdOut: number;
  nLayer: number;
  nCtxTrain: number;
  /** llama_pooling_type: 0 none, 1 mean, 2 cls, 3 last */
  poolingType: number;
}

/** A dim's required size and its source, so shape errors name the tensor and the key(s): { n: 768, from: "….embedding_length = 768" }. */
export interface Dim {
  n: number;
  from: string;
}

/** Reads a tensor by name, checking its ne; provided by the loader (models/loader.ts). */
export interface TensorProvider {
  has(name: string): boolean;
  /** Every tensor name in the file. */
  names(): Iterable<string>;
  /** Matrix with ne = [ne0, ne1]. */
  matrix(name: string, ne0: Dim, ne1: Dim): Weight;
  /** ne of a tensor that exists. */
  ne(name: string): readonly number[];
  /** 1-D f32 vector of length n (norm weights, biases). */
  vector(name: string, n: Dim): Float32Array;
}

/** A packed batch: tokens of several sequences back to back; seqStart[s]..seqStart[s]+seqLen[s]. */
export interface Batch {
  tokens: Int32Array;
  seqStart: number[];
  seqLen: number[];
}

/** Debug hook: intermediate tensors under llama.cpp's cb() names ("attn_norm", layer il; -1 outside layers). */
export type Tap = (name: string, il: number, data: Float32Array) => void;

/** A bound model, as embed/ uses it. */
export interface EmbeddingGraph {
  /** general.architecture */
  readonly arch: string;
  readonly hp: CommonHParams;
  readonly backend: Backend;
  /** whether a post-pooling projection exists (EmbeddingGemma's dense_2 / dense_3) */
  readonly hasDenseOut: boolean;
  /** What the user should know about this file (shown at load: model.info.warnings, onWarning). */
  readonly warnings?: readonly string[];
  /** Final hidden states (nTokens, nEmbd) of a packed batch; each sequence is isolated. */
  forward(batch: Batch, tap?: Tap): Float32Array;
  /** The post-pooling projection of n rows (n, nEmbd) -> (n, nEmbdOut) (llama.cpp build_dense_out); the rows as they are when absent. */
  denseOut(rows: Float32Array, n: number): Float32Array;
  /** Backend ops besides matmul and attention it calls, when a backend may lack a kernel for them ("swiglu"). */
  readonly ops?: readonly string[];
  /** Every matmul weight (kernel coverage reports). */
  matrices(): Weight[];
}

/** One architecture (llama.cpp src/models/<arch>.cpp). */
export interface Architecture<H extends CommonHParams = CommonHParams, W = unknown> {
  /** the `general.architecture` value it handles */
  readonly name: string;
  /** Hyperparameters from `<name>.*` keys: required keys, llama.cpp's defaults, validation. */
  loadHParams(meta: GGUFMetadata): H;
  /** The one table binding GGUF tensor names to weights, every shape checked. */
  bindWeights(hp: H, t: TensorProvider, nVocab: number): W;
  create(hp: H, w: W, backend: Backend): EmbeddingGraph;
  /** f32 activations forward() takes per token (its arena), so the loader can check what fits before allocating. */
  activationFloatsPerToken?(hp: H): number;
}

/**
 * Pooling, normalization and Matryoshka truncation, with llama.cpp's numerics.
 * ref: llama.cpp src/llama-graph.cpp llm_graph_context::build_pooling (mean, cls, last);
 * common/common.cpp common_embd_normalize (the modes and their arithmetic). docs/numerics.md §6.
 */
import { EmbedError } from "../errors.js";
import { f32Kernels } from "../kernels/f32-kernels.js";
import type { Numerics } from "../kernels/numerics.js";

export type Pooling = "mean" | "cls" | "last" | "none";
/** llama.cpp --embd-normalize: none (-1), maxabs (0, int16 range), taxicab (1), l2 (2), pN (p-norm, N > 2). */
export type Normalize = "none" | "l2" | "maxabs" | "taxicab" | `p${number}`;

/** llama_pooling_type ids as stored in GGUF `<arch>.pooling_type`. */
export function poolingFromGGUF(id: number): Pooling {
  switch (id) {
    case 0:
      return "none";
    case 1:
      return "mean";
    case 2:
      return "cls";
    case 3:
      return "last";
    default:
      throw new EmbedError("BAD_HPARAMS", `pooling_type ${id} is not supported (rank pooling needs a classifier head)`, {
        key: "pooling_type",
        value: id,
      });
  }
}

/**
 * Pool rows [start, start+len) of h (nTokens, n) into out (n). MEAN is llama.cpp's
 * mul_mat(cont(transpose(h)), inp_mean): per component, ggml_vec_dot_f32 (in profile nx's order) of
 * the token values with weights 1/T (one pooled column, so no sgemm). CLS takes the first token,
 * LAST the last.
 */
export function pool(
  nx: Numerics,
  h: Float32Array,
  n: number,
  start: number,
  len: number,
  pooling: Exclude<Pooling, "none">,
  out: Float32Array,
): void {
  if (pooling === "cls" || pooling === "last") {
    const r = pooling === "cls" ? start : start + len - 1;
    out.set(h.subarray(r * n, (r + 1) * n));
    return;
  }
  const { vecDot } = f32Kernels(nx);
  const w = new Float32Array(len).fill(1 / len); // (T) inp_mean column, 1.0f/T
  const col = new Float32Array(len); // (T) one component across tokens
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < len; t++) col[t] = h[(start + t) * n + j];
    out[j] = vecDot(col, 0, w, 0, len);
  }
}

/**
 * common_embd_normalize: the norm is accumulated in double over f32 values, then every element is
 * multiplied by the f32 factor 1/norm (0 when the norm is 0). maxabs scales the largest |x| to 32760.
 */
export function normalize(x: Float32Array, mode: Normalize): Float32Array {
  if (mode === "none") return x;
  let sum = 0;
  if (mode === "maxabs") {
    for (let i = 0; i < x.length; i++) sum = Math.max(sum, Math.abs(x[i]));
    sum /= 32760;
  } else if (mode === "l2") {
    for (let i = 0; i < x.length; i++) sum += Math.fround(x[i] * x[i]);
    sum = Math.sqrt(sum);
  } else {
    const p = mode === "taxicab" ? 1 : Number(mode.slice(1));
    for (let i = 0; i < x.length; i++) sum += Math.pow(Math.abs(x[i]), p);
    sum = Math.pow(sum, 1 / p);
  }
  const f = Math.fround(sum > 0 ? 1 / sum : 0);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i] * f);
  return x;
}

/** Matryoshka sizes EmbeddingGemma was trained for. Others are allowed but warned about. */
export const TRAINED_DIMS = [768, 512, 256, 128];

/**
 * Whether `dims` is a size the architecture was trained to truncate to: EmbeddingGemma's
 * TRAINED_DIMS; Qwen3-Embedding any size from 32 up (its model card: MRL, 32 to n_embd).
 */
export function isTrainedDims(arch: string, dims: number): boolean {
  return arch === "qwen3" ? dims >= 32 : TRAINED_DIMS.includes(dims);
}

/** Keep the first `dims` components (a copy), to be re-normalized by the caller. */
export function truncateDims(x: Float32Array, dims: number): Float32Array {
  return x.slice(0, dims);
}

/** Cosine similarity of two vectors of equal length (f64 accumulation). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new EmbedError("BAD_INPUT", `cosine: vectors have different lengths (${a.length} and ${b.length})`);
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

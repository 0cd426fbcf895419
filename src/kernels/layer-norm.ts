/**
 * ggml_norm (LayerNorm without affine) with ggml-cpu's f32 numerics per numerics profile.
 * ref: llama.cpp ggml/src/ggml-cpu/ops.cpp ggml_compute_forward_norm_f32; vec.h ggml_vec_sum_f32,
 * ggml_vec_scale_f32; vec.cpp ggml_vec_cvar_f32. docs/architectures/bert.md §Numerics.
 * Per row of n: sum of x in double, rounded to float, mean = sum/n in float; then cvar: y = x -
 * mean (f32) and the squares y·y are summed per block of GGML_F32_EPR lanes (AVX-512:
 * _mm512_reduce_add_ps of 16 squares; AVX2: (l_i + l_{i+4}), then (0 + 2) + (1 + 3) of 8), each
 * block's float sum added in double, then the scalar tail's squares in double; variance =
 * (float)(sum/n); scale = 1/sqrtf(variance + eps); y *= scale. The weight and bias are separate
 * ggml_mul / ggml_add ops (graph.ts buildNorm "layer").
 */
import { hsum8, reduceAdd16 } from "./ggml-order.js";
import type { Numerics } from "./numerics.js";

const fround = Math.fround;
const sq = new Float32Array(16); // (lanes) one block of squares

/** ggml_norm of `rows` rows of n: x (rows, n) from xOff -> out (rows, n) from outOff (may alias x). */
export function normRows(
  nx: Numerics,
  x: Float32Array,
  xOff: number,
  out: Float32Array,
  outOff: number,
  n: number,
  rows: number,
  eps: number,
): void {
  const lanes = nx.lanes;
  const body = n - (n % lanes);
  for (let r = 0; r < rows; r++) {
    const xo = xOff + r * n,
      yo = outOff + r * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[xo + i]!;
    const mean = fround(fround(s) / n);
    let sum = 0;
    for (let i = 0; i < body; i += lanes) {
      for (let j = 0; j < lanes; j++) {
        const v = fround(x[xo + i + j]! - mean);
        out[yo + i + j] = v;
        sq[j] = fround(v * v);
      }
      sum += lanes === 16 ? reduceAdd16(sq) : hsum8(sq);
    }
    for (let i = body; i < n; i++) {
      const v = fround(x[xo + i]! - mean);
      out[yo + i] = v;
      sum += fround(v * v);
    }
    const variance = fround(sum / n);
    const scale = fround(1 / fround(Math.sqrt(fround(variance + eps))));
    for (let i = 0; i < n; i++) out[yo + i] = fround(out[yo + i]! * scale);
  }
}

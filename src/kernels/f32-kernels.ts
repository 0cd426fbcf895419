/**
 * The f32 kernels of a numerics profile: ggml_vec_dot_f32, tinyBLAS<KN, f32> and
 * ggml_vec_soft_max_f32, in the AVX-512 (ggml-order.ts) or AVX2 (ggml-order-avx2.ts) order.
 */
import { softmaxGgml8, sgemmDotF32x8, vecDotF32x8 } from "./ggml-order-avx2.js";
import { type F32Dot, sgemmDotF32, softmaxGgml, vecDotF32 } from "./ggml-order.js";
import type { Numerics } from "./numerics.js";

export type { F32Dot } from "./ggml-order.js";

export interface F32Kernels {
  /** GGML_F32_EPR, and tinyBLAS's KN for f32 */
  readonly lanes: 16 | 8;
  /** ggml_vec_dot_f32: x[xo..xo+k) · y[yo..yo+k); elements outside [lo, hi) must have zero products */
  readonly vecDot: F32Dot;
  /** tinyBLAS<KN, f32> for one output (k % KN == 0) */
  readonly sgemmDot: F32Dot;
  /** ggml_vec_soft_max_f32 + the scale by (float)(1/sum), in place over row[o .. o+n) */
  readonly softmax: (row: Float32Array, o: number, n: number) => void;
}

const X16: F32Kernels = Object.freeze({ lanes: 16, vecDot: vecDotF32, sgemmDot: sgemmDotF32, softmax: softmaxGgml });
const X8: F32Kernels = Object.freeze({ lanes: 8, vecDot: vecDotF32x8, sgemmDot: sgemmDotF32x8, softmax: softmaxGgml8 });

export function f32Kernels(nx: Numerics): F32Kernels {
  return nx.lanes === 16 ? X16 : X8;
}

/**
 * How ggml multiplies two f32 matrices (ggml_compute_forward_mul_mat): tinyBLAS when src1 is
 * contiguous, has at least 2 columns, k % KN == 0 and m % 4 == 0 (tinyBLAS::matmul); otherwise
 * ggml_vec_dot_f32 per output. k: reduction length, m: src0 rows (outputs per column), n: columns.
 */
export function f32DotFor(nx: Numerics, k: number, m: number, n: number, src1Contiguous: boolean): F32Dot {
  const f = f32Kernels(nx);
  return src1Contiguous && n >= 2 && k % f.lanes === 0 && m % 4 === 0 ? f.sgemmDot : f.vecDot;
}

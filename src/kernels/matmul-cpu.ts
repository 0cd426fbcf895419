/**
 * Matmul as llama.cpp runs it when the weight is in the plain CPU buffer
 * (ggml-cpu.c ggml_compute_forward_mul_mat on an x86 AVX2 / AVX-512 variant; `nx` is the numerics
 * profile). That is Q5_0, Q5_1, Q3_K, BF16 and F32 always, K-quants and F16 without AMX, and any
 * other type whose shape the AMX / CPU_REPACK buffers refuse (reference.ts matmulPath).
 *
 *   1. llamafile_sgemm(src1 = f32): only F32 weights can match here (tinyBLAS<KN, f32>).
 *   2. Convert each activation row to the vec_dot_type (src/quant/activation.ts).
 *   3. llamafile_sgemm(src1 = vec_dot_type), which needs M (tokens) >= 2:
 *        BF16                         tinyBLAS<32, bf16> (AVX512-BF16), <16, f32> (AVX-512F) or
 *                                     <8, f32> (AVX2): K % KN == 0 && N % 4 == 0
 *        F16                          tinyBLAS<16 | 8, fp16>: K % KN == 0 && N % 4 == 0
 *        Q8_0, Q4_0, Q5_0, IQ4_NL     tinyBLAS_Q0_AVX: any shape. Its per-output order (one
 *                                     8-lane FMA accumulator per output, hsum8) is the same as
 *                                     ggml_vec_dot_<type> except for IQ4_NL, whose vec_dot
 *                                     splits even/odd blocks (vec-dot.ts sgemmDotIQ4_NLQ8_0).
 *   4. Otherwise ggml_vec_dot_<type> per output (vec-dot.ts, vec-dot-k.ts). Its threads split
 *      whole rows/columns, never K, so the thread count never matters here either.
 *   Exception, checked after the conversion: the IQ panel gemm (iqp.cpp,
 *   ggml_cpu_iqp_supports_mul_mat) takes IQ4_XS when M >= 8 and N % 8 == 0 (unless the env var
 *   GGML_NO_IQ_PANEL is set). Per output it does acc = fma(f32(isum_superblock), fround(d·da),
 *   acc), the AMX order (matmul-amx.ts amxDotIQ4_XS), in its gemm and gemv alike.
 *
 * tinyBLAS<KN, ...> keeps one KN-lane accumulator per output, advanced over k in steps of KN,
 * then hsum; its 4×6 / 4×(1..6) output tiling does not touch the order (vec-dot-float.ts).
 */
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
import type { VecDotFn } from "../quant/types.js";
import { cpuTraits, fromFloatFor } from "./cpu-traits.js";
import { f32Kernels } from "./f32-kernels.js";
import { amxDotIQ4_XS } from "./matmul-amx.js";
import type { Numerics } from "./numerics.js";
import { f32Row, sgemmDotBF16, sgemmDotF16, sgemmKnBF16 } from "./vec-dot-float.js";
import { sgemmDotIQ4_NLQ8_0 } from "./vec-dot.js";

/** Which llamafile sgemm (or IQ panel gemm) takes the converted activations, else null (vec_dot). */
function sgemmDot(nx: Numerics, type: GGMLType, k: number, n: number, m: number): VecDotFn | null {
  if (type === GGMLType.IQ4_XS) return m >= 8 && n % 8 === 0 ? amxDotIQ4_XS : null; // IQ panel gemm
  if (m < 2) return null;
  if (type === GGMLType.BF16) return k % sgemmKnBF16(nx) === 0 && n % 4 === 0 ? sgemmDotBF16(nx) : null;
  if (type === GGMLType.F16) return k % nx.lanes === 0 && n % 4 === 0 ? sgemmDotF16(nx) : null;
  if (type === GGMLType.IQ4_NL) return sgemmDotIQ4_NLQ8_0;
  return null; // Q8_0, Q4_0, Q5_0: tinyBLAS_Q0_AVX has the same order as their vec_dot
}

export function matmulCpu(
  nx: Numerics,
  type: GGMLType,
  data: Uint8Array,
  wo0: number,
  ne0: number,
  ne1: number,
  x: Float32Array,
  nTokens: number,
  out: Float32Array,
): void {
  const wrb = rowBytes(type, ne0);
  if (type === GGMLType.F32) {
    // tinyBLAS<KN, f32> when M >= 2, K % KN == 0, N % 4 == 0; else ggml_vec_dot_f32.
    const f = f32Kernels(nx);
    const dot = nTokens >= 2 && ne0 % f.lanes === 0 && ne1 % 4 === 0 ? f.sgemmDot : f.vecDot;
    for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
      const wr = f32Row(data, wo, ne0);
      for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = dot(wr, 0, x, t * ne0, ne0);
    }
    return;
  }
  const tr = cpuTraits(type, nx);
  const vdt = tr.vecDotType;
  const arb = rowBytes(vdt, ne0);
  const act = new Uint8Array(arb * nTokens);
  const fromFloat = fromFloatFor(vdt);
  for (let t = 0; t < nTokens; t++) fromFloat(x, t * ne0, act, t * arb, ne0);
  const dot = sgemmDot(nx, type, ne0, ne1, nTokens) ?? tr.vecDot!;
  for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
    for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = dot(ne0, data, wo, act, t * arb);
  }
}

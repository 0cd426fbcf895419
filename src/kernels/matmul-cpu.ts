/**
 * Matmul as llama.cpp runs it when the weight is in the plain CPU buffer
 * (ggml-cpu.c ggml_compute_forward_mul_mat on the shipped x86 AVX-512 build). On this machine
 * that is Q5_0, Q5_1, Q3_K, BF16 and F32 always, and any other type whose shape the AMX /
 * CPU_REPACK buffers refuse (reference.ts matmulPath).
 *
 *   1. llamafile_sgemm(src1 = f32): only F32 weights can match here (tinyBLAS<16, f32>).
 *   2. Convert each activation row to the vec_dot_type (src/quant/activation.ts).
 *   3. llamafile_sgemm(src1 = vec_dot_type), which needs M (tokens) >= 2:
 *        BF16 (AVX512-BF16)           tinyBLAS<32, bf16>: K % 32 == 0 && N % 4 == 0
 *        F16                          tinyBLAS<16, fp16>: K % 16 == 0 && N % 4 == 0
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
 * tinyBLAS<KN, ...> keeps one KN/… -lane accumulator per output, advanced over k in steps of
 * KN, then _mm512_reduce_add_ps; its 4×6 / 4×(1..6) output tiling does not touch the order.
 */
import { fp16Table32 } from "../quant/f16.js";
import { fromFloatFor, quantTraits, type VecDotFn } from "../quant/index.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
import { fma32, reduceAdd16, sgemmDotF32, vecDotF32 } from "./ggml-order.js";
import { amxDotIQ4_XS } from "./matmul-amx.js";
import { dpbf16Lane, f32Row, sgemmDotIQ4_NLQ8_0 } from "./vec-dot.js";

const lanes = new Float32Array(16);

/** tinyBLAS<16, __m512, __m512, ggml_fp16_t, ggml_fp16_t>: 16 FMA lanes over fp16·fp16 (both widened). k % 16 == 0. */
export function sgemmDotF16(k: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  for (let j = 0; j < 16; j++) {
    let acc = 0; // lane j: elements j, j + 16, ... in order
    for (let p = 2 * j; p < 2 * k; p += 32) acc = fma32(t[w[wo + p]! | (w[wo + p + 1]! << 8)]!, t[a[ao + p]! | (a[ao + p + 1]! << 8)]!, acc);
    lanes[j] = acc;
  }
  return reduceAdd16(lanes);
}

/** tinyBLAS<32, __m512, __m512bh, bf16, bf16> (AVX512-BF16): 16 VDPBF16PS lanes over steps of 32. k % 32 == 0. */
export function sgemmDotBF16(k: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  for (let j = 0; j < 16; j++) {
    let acc = 0; // lane j: pairs (2j, 2j+1) of every 32 elements, in order
    for (let e = 2 * j; e < k; e += 32) acc = dpbf16Lane(acc, w, wo, a, ao, e);
    lanes[j] = acc;
  }
  return reduceAdd16(lanes);
}

/** Which llamafile sgemm (or IQ panel gemm) takes the converted activations, else null (vec_dot). */
function sgemmDot(type: GGMLType, k: number, n: number, m: number): VecDotFn | null {
  if (type === GGMLType.IQ4_XS) return m >= 8 && n % 8 === 0 ? amxDotIQ4_XS : null; // IQ panel gemm
  if (m < 2) return null;
  if (type === GGMLType.BF16) return k % 32 === 0 && n % 4 === 0 ? sgemmDotBF16 : null;
  if (type === GGMLType.F16) return k % 16 === 0 && n % 4 === 0 ? sgemmDotF16 : null;
  if (type === GGMLType.IQ4_NL) return sgemmDotIQ4_NLQ8_0;
  return null; // Q8_0, Q4_0, Q5_0: tinyBLAS_Q0_AVX has the same order as their vec_dot
}

export function matmulCpu(type: GGMLType, data: Uint8Array, wo0: number, ne0: number, ne1: number, x: Float32Array, nTokens: number, out: Float32Array): void {
  const wrb = rowBytes(type, ne0);
  if (type === GGMLType.F32) {
    // tinyBLAS<16, f32> when M >= 2, K % 16 == 0, N % 4 == 0; else ggml_vec_dot_f32.
    const sgemm = nTokens >= 2 && ne0 % 16 === 0 && ne1 % 4 === 0;
    for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
      const wr = f32Row(data, wo, ne0);
      for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = sgemm ? sgemmDotF32(wr, 0, x, t * ne0, ne0) : vecDotF32(wr, 0, x, t * ne0, ne0);
    }
    return;
  }
  const tr = quantTraits(type);
  const vdt = tr.vecDotType;
  const arb = rowBytes(vdt, ne0);
  const act = new Uint8Array(arb * nTokens);
  const fromFloat = fromFloatFor(vdt);
  for (let t = 0; t < nTokens; t++) fromFloat(x, t * ne0, act, t * arb, ne0);
  const dot = sgemmDot(type, ne0, ne1, nTokens) ?? tr.vecDot!;
  for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
    for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = dot(ne0, data, wo, act, t * arb);
  }
}

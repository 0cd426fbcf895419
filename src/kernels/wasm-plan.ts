/**
 * Which wasm kernel reproduces the reference matmul (reference.ts) for a weight of this type and
 * shape at this token count, bit for bit, or null when none does (the backend then runs the
 * reference: slower, never different). The reference's code path (matmulPath: AMX buffer,
 * CPU_REPACK buffer, plain CPU buffer) and, on the CPU path, llamafile sgemm vs vec_dot decide
 * the f32 summation order; each kernel family in src/kernels/wasm/ implements one order:
 *
 *   chain*   one f32 fma chain per output over the blocks (matmul-amx.ts; the repack Q4_0 /
 *            IQ4_NL kernels and IQ4_XS's IQ panel gemm have the same order)
 *   lanes*   8 fma lanes per output + hsum8 (vec-dot.ts: ggml_vec_dot_*, tinyBLAS_Q0_AVX;
 *            vec-dot-k.ts: ggml_vec_dot_<k-quant>_q8_K, wasm/k-lanes.as)
 *   repack*  two chains (acc, accM) per output, one fma pair per group (matmul-repack.ts q4_K / q2_K
 *            8x8 gemm); the last M % 4 rows run the gemv (*V, groups of 256): KernelPlan.tailFn
 *   f16Sgemm 16 fma lanes + reduceAdd16 (AMX F16 with the f32 activation; tinyBLAS<fp16> with
 *            the activation rounded to fp16)
 *   f32Sgemm / f32VecDot / bf16Sgemm   tinyBLAS<f32>, ggml_vec_dot_f32, tinyBLAS<bf16>
 *
 * Not covered (reference fallback): IQ4_NL, F16 and BF16 at M == 1 on the plain CPU buffer (their
 * vec_dot orders); the float types' 8-lane orders (profile avx2); types without any kernel.
 */
import { GGML_TYPES, GGMLType } from "../tensor/ggml-type.js";
import type { Numerics } from "./numerics.js";
import { matmulPath } from "./reference.js";

/** Activation formats (quantize.as prepareActivations / prepareFloatActivations `kind`). */
export const enum Act {
  Q8_0 = 0,
  Q8_1 = 1,
  Q8_K = 2,
  F64 = 3,
  F16_F64 = 4,
  BF16 = 5,
}
/** Prepared activation bytes per 32-element A8 block and per 256-element AK super-block: wasm/common.as's constants. */
export const A8_BYTES = 112;
export const AK_BYTES = 576;
/** Per-thread scratch bytes per block of the relaxed panel kernels' widened 8 rows (chain*P): wasm/relaxed-panel.as's constant. */
export const PANEL_BLOCK_BYTES = 576;

export interface KernelPlan {
  /** wasm export name */
  readonly fn: string;
  readonly act: Act;
  /** the kernel's nb argument: blocks per row (quantized) or elements per row (float) */
  readonly nb: number;
  /** prepared activation bytes per token */
  readonly aStride: number;
  /** repack gemm kernels: the last nTokens % 4 token rows run this kernel instead (the gemv) */
  readonly tailFn?: string;
}

const T = GGMLType;
/** The weight types some kernel takes. */
const KERNEL_TYPES: ReadonlySet<GGMLType> = new Set([
  T.Q8_0,
  T.Q4_0,
  T.Q4_1,
  T.Q5_0,
  T.Q5_1,
  T.IQ4_NL,
  T.Q2_K,
  T.Q3_K,
  T.Q4_K,
  T.Q5_K,
  T.Q6_K,
  T.IQ4_XS,
  T.F16,
  T.F32,
  T.BF16,
]);

function quant(fn: string, act: Act, ne0: number): KernelPlan {
  const bs = act === Act.Q8_K ? 256 : 32;
  return { fn, act, nb: ne0 / bs, aStride: (ne0 / bs) * (act === Act.Q8_K ? AK_BYTES : A8_BYTES) };
}

function float(fn: string, act: Act, ne0: number): KernelPlan {
  return { fn, act, nb: ne0, aStride: (act === Act.BF16 ? 4 : 8) * ne0 };
}

/** The kernel for out(nTokens, ne1) = x · wᵀ in profile nx, or null (reference). */
export function planMatmul(nx: Numerics, type: GGMLType, ne0: number, ne1: number, nTokens: number): KernelPlan | null {
  if (!KERNEL_TYPES.has(type)) return null;
  const bs = GGML_TYPES.get(type)!.blockSize;
  if (ne0 <= 0 || ne0 % bs !== 0) return null;
  // the f32/f16/bf16 kernels implement 16 lanes (AVX-512F) and tinyBLAS<32, bf16> (AVX512-BF16)
  const x16 = nx.lanes === 16;
  const sgemm16 = x16 && nTokens >= 2 && ne0 % 16 === 0 && ne1 % 4 === 0;
  switch (matmulPath(nx, type, ne0, ne1)) {
    case "amx":
      switch (type) {
        case T.Q8_0:
          return quant("chainQ8_0", Act.Q8_0, ne0);
        case T.Q4_0:
          return quant("chainQ4_0", Act.Q8_0, ne0);
        case T.Q4_1:
          return quant("chainQ4_1", Act.Q8_1, ne0);
        case T.Q4_K:
          return quant("chainQ4_K", Act.Q8_K, ne0);
        case T.Q5_K:
          return quant("chainQ5_K", Act.Q8_K, ne0);
        case T.Q6_K:
          return quant("chainQ6_K", Act.Q8_K, ne0);
        case T.IQ4_XS:
          return quant("chainIQ4_XS", Act.Q8_K, ne0);
        case T.F16:
          return float("f16Sgemm", Act.F64, ne0);
        default:
          return null;
      }
    case "repack":
      switch (type) {
        case T.Q4_0:
          return quant("chainQ4_0", Act.Q8_0, ne0);
        case T.IQ4_NL:
          return quant("chainIQ4_NL", Act.Q8_0, ne0);
        case T.Q4_K:
          return { ...quant("repackQ4_K", Act.Q8_K, ne0), tailFn: "repackQ4_KV" };
        case T.Q2_K:
          return { ...quant("repackQ2_K", Act.Q8_K, ne0), tailFn: "repackQ2_KV" };
        default:
          return null;
      }
    case "cpu":
      switch (type) {
        case T.F32:
          return x16 ? float(sgemm16 ? "f32Sgemm" : "f32VecDot", Act.F64, ne0) : null;
        case T.F16:
          return sgemm16 ? float("f16Sgemm", Act.F16_F64, ne0) : null;
        case T.BF16:
          return nx.bf16 === "avx512bf16" && nTokens >= 2 && ne0 % 32 === 0 && ne1 % 4 === 0 ? float("bf16Sgemm", Act.BF16, ne0) : null;
        case T.Q8_0:
          return quant("lanesQ8_0", Act.Q8_0, ne0);
        case T.Q4_0:
          return quant("lanesQ4_0", Act.Q8_0, ne0);
        case T.Q5_0:
          return quant("lanesQ5_0", Act.Q8_0, ne0);
        case T.Q4_1:
          return quant("lanesQ4_1", Act.Q8_1, ne0);
        case T.Q5_1:
          return quant("lanesQ5_1", Act.Q8_1, ne0);
        case T.IQ4_NL:
          return nTokens >= 2 ? quant("lanesIQ4_NL", Act.Q8_0, ne0) : null;
        case T.Q2_K:
          return quant("lanesQ2_K", Act.Q8_K, ne0);
        case T.Q3_K:
          return quant("lanesQ3_K", Act.Q8_K, ne0);
        case T.Q4_K:
          return quant("lanesQ4_K", Act.Q8_K, ne0);
        case T.Q5_K:
          return quant("lanesQ5_K", Act.Q8_K, ne0);
        case T.Q6_K:
          return quant("lanesQ6_K", Act.Q8_K, ne0);
        case T.IQ4_XS:
          return quant(nTokens >= 8 && ne1 % 8 === 0 ? "chainIQ4_XS" : "lanesIQ4_XS", Act.Q8_K, ne0); // IQ panel gemm, else vec_dot
        default:
          return null;
      }
  }
}

/**
 * Matmul as llama.cpp runs it when the weight is in the CPU_REPACK buffer (ggml-cpu/repack.cpp
 * with the x86 kernels of arch/x86/repack.cpp). ggml_repack_get_optimal_repack_type picks, on
 * an AVX2/AVX-512 CPU, the 8-row interleaved formats for Q4_0, IQ4_NL, Q4_K (AVX2) and Q2_K
 * (AVX-512) whenever N % 8 == 0. With AMX (profile amx) the AMX buffer comes first, so this path
 * is what IQ4_NL and Q2_K always take, and Q4_0 / Q4_K only when N % 32 != 0; without AMX it is
 * every such weight (repackSupports). The AVX2 and AVX-512 kernels give the same bits.
 *
 * Activations: rows in groups of 4 go through ggml_quantize_mat_q8_{0,K}_4x8 and the rest through
 * the vec_dot_type's from_float; both give the same integers and scales as
 * src/quant/activation.ts (the 4x8 Q8_K variant can pick the opposite sign for a block whose
 * largest |x| occurs with both signs; q and d then both flip, which changes no product).
 *
 * The first M − M % 4 token rows run the kernel's gemm, the last M % 4 rows its gemv
 * (forward_mul_mat_one_chunk); threads split N only. Per output, with one f32 accumulator (two
 * for the types with mins), both kernels walk the blocks in order:
 *   Q4_0, IQ4_NL (gemv and gemm):  acc = fma(f32(isum_b), fround(dw·da), acc)          per 32
 *   Q4_K:  acc  = fma(f32(isum_g), fround(d·da), acc)
 *          accM = fma(f32(msum_g), fround(dmin·da), accM)
 *          with g = the whole super-block in the gemv, each 64-element group in the gemm
 *   Q2_K:  the same with g = super-block (gemv) or 128-element half (gemm)
 *   result = fround(acc − accM) for Q4_K / Q2_K.
 * isum_g / msum_g are exact integers (sub-block scales and mins applied in int32).
 */
import { fp16Table32 } from "../quant/f16.js";
import { KVALUES_IQ4NL as KV } from "../quant/iq4.js";
import { getScaleMinK4, Q2_K_BYTES, Q4_K_BYTES, Q8_K_BYTES } from "../quant/k-quants.js";
import { Q4_0_BYTES, Q8_0_BYTES } from "../quant/legacy.js";
import { fromFloatFor, vecDotTypeOf } from "./cpu-traits.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
import { fma32 } from "./ggml-order.js";
import type { Numerics } from "./numerics.js";
import { bsum, q8kD } from "./vec-dot-k.js";

const F = Math.fround;

function i8(b: number): number {
  return (b << 24) >> 24;
}

/** Whether ggml_repack_get_optimal_repack_type has a format for this weight in profile nx. */
export function repackSupports(nx: Numerics, type: GGMLType, _k: number, n: number): boolean {
  switch (type) {
    case GGMLType.Q4_0:
    case GGMLType.IQ4_NL:
    case GGMLType.Q4_K:
      return n % 8 === 0; // 8x8 formats with AVX2 (their AVX2 and AVX-512 kernels give the same bits)
    case GGMLType.Q2_K:
      return nx.repackQ2_K && n % 8 === 0; // q2_K_8x8 needs AVX-512
    default:
      return false;
  }
}

/** Q4_0 (levels q − 8) or IQ4_NL (levels K[q]) · Q8_0: one fma per 32-block (gemv = gemm). */
export function repackDotQ4_32(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number, nl: boolean): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q4_0_BYTES, ao += Q8_0_BYTES) {
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      const lo = nl ? KV[q & 0xf]! : (q & 0xf) - 8;
      const hi = nl ? KV[q >>> 4]! : (q >>> 4) - 8;
      isum += lo * i8(a[ao + 2 + j]!) + hi * i8(a[ao + 18 + j]!);
    }
    acc = fma32(isum, F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), acc);
  }
  return acc;
}

/**
 * Q4_K · Q8_K with one fma pair per `group` elements (256: gemv, 64: gemm): sub-block sb (32
 * elements) = low (even sb) / high (odd sb) nibbles of qs[32·⌊sb/2⌋ ..].
 */
export function repackDotQ4_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number, group: number): number {
  const t = fp16Table32();
  const subPerGroup = group / 32;
  let acc = 0,
    accM = 0;
  for (let b = 0; b < n / 256; b++, wo += Q4_K_BYTES, ao += Q8_K_BYTES) {
    const da = q8kD(a, ao);
    const d = F(t[w[wo]! | (w[wo + 1]! << 8)]! * da);
    const dmin = F(t[w[wo + 2]! | (w[wo + 3]! << 8)]! * da);
    for (let g = 0; g < 8; g += subPerGroup) {
      let isum = 0,
        msum = 0;
      for (let sb = g; sb < g + subPerGroup; sb++) {
        const sm = getScaleMinK4(sb, w, wo + 4);
        const q0 = wo + 16 + 32 * (sb >>> 1),
          shift = 4 * (sb & 1),
          a0 = ao + 4 + 32 * sb;
        let s = 0;
        for (let l = 0; l < 32; l++) s += ((w[q0 + l]! >>> shift) & 0xf) * i8(a[a0 + l]!);
        isum += (sm & 0xff) * s;
        msum += (sm >>> 8) * (bsum(a, ao, 2 * sb) + bsum(a, ao, 2 * sb + 1));
      }
      acc = fma32(F(isum), d, acc);
      accM = fma32(F(msum), dmin, accM);
    }
  }
  return F(acc - accM);
}

/** Q2_K · Q8_K with one fma pair per `group` elements (256: gemv, 128: gemm). */
export function repackDotQ2_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number, group: number): number {
  const t = fp16Table32();
  let acc = 0,
    accM = 0;
  for (let b = 0; b < n / 256; b++, wo += Q2_K_BYTES, ao += Q8_K_BYTES) {
    const da = q8kD(a, ao);
    const d = F(t[w[wo + 80]! | (w[wo + 81]! << 8)]! * da);
    const dmin = F(t[w[wo + 82]! | (w[wo + 83]! << 8)]! * da);
    for (let g = 0; g < 256; g += group) {
      let isum = 0,
        msum = 0;
      for (let sb = g >>> 4; sb < (g + group) >>> 4; sb++) {
        const sc = w[wo + sb]!;
        let s = 0;
        for (let k = 0; k < 16; k++) {
          const e = 16 * sb + k; // = 128h + 32j + l
          s += ((w[wo + 16 + 32 * (e >>> 7) + (e & 31)]! >>> (2 * ((e >>> 5) & 3))) & 3) * i8(a[ao + 4 + e]!);
        }
        isum += (sc & 0xf) * s;
        msum += (sc >>> 4) * bsum(a, ao, sb);
      }
      acc = fma32(F(isum), d, acc);
      accM = fma32(F(msum), dmin, accM);
    }
  }
  return F(acc - accM);
}

export function matmulRepack(
  type: GGMLType,
  data: Uint8Array,
  wo0: number,
  ne0: number,
  ne1: number,
  x: Float32Array,
  nTokens: number,
  out: Float32Array,
): void {
  const vdt = vecDotTypeOf(type);
  const arb = rowBytes(vdt, ne0),
    wrb = rowBytes(type, ne0);
  const act = new Uint8Array(arb * nTokens);
  const fromFloat = fromFloatFor(vdt);
  for (let t = 0; t < nTokens; t++) fromFloat(x, t * ne0, act, t * arb, ne0);
  const gemmRows = nTokens - (nTokens % 4);
  for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
    for (let t = 0; t < nTokens; t++) {
      const gemm = t < gemmRows;
      let v: number;
      switch (type) {
        case GGMLType.Q4_0:
          v = repackDotQ4_32(ne0, data, wo, act, t * arb, false);
          break;
        case GGMLType.IQ4_NL:
          v = repackDotQ4_32(ne0, data, wo, act, t * arb, true);
          break;
        case GGMLType.Q4_K:
          v = repackDotQ4_K(ne0, data, wo, act, t * arb, gemm ? 64 : 256);
          break;
        case GGMLType.Q2_K:
          v = repackDotQ2_K(ne0, data, wo, act, t * arb, gemm ? 128 : 256);
          break;
        default:
          throw new Error(`no repack kernel for ggml type ${type}`);
      }
      out[t * ne1 + r] = v;
    }
  }
}

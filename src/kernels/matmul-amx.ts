/**
 * Matmul as llama.cpp runs it when the weight sits in the AMX buffer (ggml-cpu/amx/mmq.cpp),
 * which is where llama.cpp puts Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS and F16 weights on an
 * AMX machine (x86-64 with AMX-INT8 + AVX512-VNNI: the `sapphirerapids` CPU variant, profile amx),
 * provided N % 32 == 0 and K is a multiple of the type's block (F16: 16). See amxSupports().
 *
 * QUANTIZED TYPES. Activations are converted once per row to the weight's vec_dot_type (Q8_0,
 * Q8_1, or Q8_K via quantize_row_q8_K_ref), exactly as on the plain CPU path. Then every output
 * is ONE f32 accumulator walked over the blocks in order:
 *
 *   acc = 0
 *   for each block b:  acc = fma(f32(isum_b), fround(dW_b · dA_b), acc)
 *                      [+ the type's second term, also one fma, see the functions below]
 *
 * where isum_b is the exact integer dot product of the block (AMX TDPBSSD / VNNI VPDPBUSD with
 * offset compensation: both are exact int32 arithmetic; K-quants fold their integer sub-block
 * scales in with int32 multiply-adds, still exact). f32(isum) is VCVTDQ2PS (round to nearest
 * even; only K-quant sums can exceed 2^24). Both kernels llama.cpp chooses between —
 * tinygemm_kernel_vnni for M == 1 (one 1×16 f32 vector per 16 outputs) and tinygemm_kernel_amx +
 * acc_C for M > 1 (the is_acc=false first block is fma(x, y, 0)) — do exactly this per output, in
 * block order, with operands in the same roles. So the result is independent of M, of how M is
 * cut into 32-row tiles (the M == 32 double-buffered branch included), and of the thread count
 * (threads split whole 32- or 64-column blocks, never K). Measured with the oracle
 * (tools/ggml-oracle): 0 differing outputs for every type, K ∈ {768, 1152, 3072}, N ∈ {256, 768},
 * M ∈ {1, 2, 5, 17, 64}, 1 and 2 threads (plus M = 16, 31, 32, 33, 48, 96). The previous
 * f64-accumulating reference differed in ~70% of outputs by up to ~5e-7 of the rms.
 *
 * F16. No activation conversion at all (the f32 activation is used as is; F16 on the CPU path
 * would round it to fp16). tinygemm_kernel_avx keeps one 16-lane f32 FMA accumulator per output
 * over k in steps of 16 (lane j sees k ≡ j mod 16), with the fp16 weight widened exactly, then
 * _mm512_reduce_add_ps. The 4×6 output blocking does not touch the order. (Rounding the
 * activation to fp16 first, as the previous reference did, was off by ~6.5e-4 of the rms.)
 */
import { fp16Table32 } from "../quant/f16.js";
import { KVALUES_IQ4NL } from "../quant/iq4.js";
import { getScaleMinK4, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, Q8_K_BYTES } from "../quant/k-quants.js";
import { Q4_0_BYTES, Q4_1_BYTES, Q8_0_BYTES, Q8_1_BYTES } from "../quant/legacy.js";
import type { VecDotFn } from "../quant/types.js";
import { fromFloatFor, vecDotTypeOf } from "./cpu-traits.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
import { fma32, reduceAdd16 } from "./ggml-order.js";
import { bsum, q8kD } from "./vec-dot-k.js";

const F = Math.fround;

function i8(b: number): number {
  return (b << 24) >> 24;
}

/**
 * Whether llama.cpp's AMX buffer type takes this weight (ggml::cpu::amx::extra_buffer_type::
 * supports_op): N (= dst ne0 = weight rows) % 32 == 0 and K % (32 | 256 | 16) == 0.
 */
export function amxSupports(type: GGMLType, k: number, n: number): boolean {
  if (n % 32 !== 0) return false;
  switch (type) {
    case GGMLType.Q4_0:
    case GGMLType.Q4_1:
    case GGMLType.Q8_0:
      return k % 32 === 0;
    case GGMLType.Q4_K:
    case GGMLType.Q5_K:
    case GGMLType.Q6_K:
    case GGMLType.IQ4_XS:
      return k % 256 === 0;
    case GGMLType.F16:
      return k % 16 === 0;
    default:
      return false;
  }
}

// ------------------------------------------------------------------ 32-element block types

/** Q8_0 · Q8_0: acc = fma(Σ qw·qa, dw·da, acc) per block (acc_C<q8_0,q8_0>, vnni<q8_0,q8_0>). */
export function amxDotQ8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q8_0_BYTES, ao += Q8_0_BYTES) {
    let isum = 0;
    for (let j = 2; j < 34; j++) isum += i8(w[wo + j]!) * i8(a[ao + j]!);
    acc = fma32(isum, F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), acc);
  }
  return acc;
}

/** Q4_0 · Q8_0: as Q8_0 with weight levels q − 8. */
export function amxDotQ4_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q4_0_BYTES, ao += Q8_0_BYTES) {
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      isum += ((q & 0xf) - 8) * i8(a[ao + 2 + j]!) + ((q >>> 4) - 8) * i8(a[ao + 18 + j]!);
    }
    acc = fma32(isum, F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), acc);
  }
  return acc;
}

/** Q4_1 · Q8_1: acc = fma(Σ q·qa, dw·da, acc); acc = fma(mw, sa, acc) per block (acc_C<q8_1,q4_1>). */
export function amxDotQ4_1(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q4_1_BYTES, ao += Q8_1_BYTES) {
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 4 + j]!;
      isum += (q & 0xf) * i8(a[ao + 4 + j]!) + (q >>> 4) * i8(a[ao + 20 + j]!);
    }
    acc = fma32(isum, F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), acc);
    acc = fma32(t[w[wo + 2]! | (w[wo + 3]! << 8)]!, t[a[ao + 2]! | (a[ao + 3]! << 8)]!, acc);
  }
  return acc;
}

// ------------------------------------------------------------- 256-element (QK_K) block types

/**
 * Q4_K / Q5_K · Q8_K, per super-block (acc_C<q8_K,q4_K|q5_K>, tinygemm_kernel_vnni):
 *   isum = Σ_sb sc_sb · Σ q·qa        msum = Σ_sb m_sb · (bsums[2sb] + bsums[2sb+1])
 *   acc = fma(f32(isum), fround(d·da), acc)
 *   acc = fma(f32(msum), −fround(dmin·da), acc)        (VFNMADD: acc − msum·(dmin·da))
 * qhOff < 0 means Q4_K; Q5_K adds 16 when bit sb of qh[l] is set.
 */
function amxDotQ45K(
  n: number,
  w: Uint8Array,
  wo: number,
  a: Uint8Array,
  ao: number,
  blockBytes: number,
  qsOff: number,
  qhOff: number,
): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += blockBytes, ao += Q8_K_BYTES) {
    let isum = 0;
    let msum = 0;
    for (let sb = 0; sb < 8; sb++) {
      const sm = getScaleMinK4(sb, w, wo + 4);
      const q0 = wo + qsOff + 32 * (sb >>> 1);
      const shift = 4 * (sb & 1);
      const hbit = 1 << sb;
      const a0 = ao + 4 + 32 * sb;
      let s = 0;
      if (qhOff < 0) {
        for (let l = 0; l < 32; l++) s += ((w[q0 + l]! >>> shift) & 0xf) * i8(a[a0 + l]!);
      } else {
        const h0 = wo + qhOff;
        for (let l = 0; l < 32; l++) s += (((w[q0 + l]! >>> shift) & 0xf) | ((w[h0 + l]! & hbit) !== 0 ? 16 : 0)) * i8(a[a0 + l]!);
      }
      isum += (sm & 0xff) * s;
      msum += (sm >>> 8) * (bsum(a, ao, 2 * sb) + bsum(a, ao, 2 * sb + 1));
    }
    const da = q8kD(a, ao);
    acc = fma32(F(isum), F(t[w[wo]! | (w[wo + 1]! << 8)]! * da), acc);
    acc = fma32(F(msum), -F(t[w[wo + 2]! | (w[wo + 3]! << 8)]! * da), acc);
  }
  return acc;
}

export function amxDotQ4_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  return amxDotQ45K(n, w, wo, a, ao, Q4_K_BYTES, 16, -1);
}

export function amxDotQ5_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  return amxDotQ45K(n, w, wo, a, ao, Q5_K_BYTES, 48, 16);
}

/**
 * Q6_K · Q8_K: isum = Σ over 16 sub-blocks of int8 scale · Σ (q6 − 32)·qa;
 * acc = fma(f32(isum), fround(d·da), acc) per super-block.
 */
export function amxDotQ6_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += Q6_K_BYTES, ao += Q8_K_BYTES) {
    let isum = 0;
    for (let sb = 0; sb < 16; sb++) {
      // sub-block sb = elements 16sb..16sb+15 = 128h + 32m + l
      const h = sb >>> 3;
      const m = (sb >>> 1) & 3;
      const l0 = 16 * (sb & 1);
      const qlo = wo + 64 * h + 32 * (m & 1) + l0;
      const qho = wo + 128 + 32 * h + l0;
      const lshift = m < 2 ? 0 : 4;
      const hshift = 2 * m;
      const a0 = ao + 4 + 16 * sb;
      let s = 0;
      for (let l = 0; l < 16; l++) {
        const q = ((w[qlo + l]! >>> lshift) & 0xf) | (((w[qho + l]! >>> hshift) & 3) << 4);
        s += (q - 32) * i8(a[a0 + l]!);
      }
      isum += i8(w[wo + 192 + sb]!) * s;
    }
    acc = fma32(F(isum), F(t[w[wo + 208]! | (w[wo + 209]! << 8)]! * q8kD(a, ao)), acc);
  }
  return acc;
}

/** IQ4_XS · Q8_K: isum = Σ over 8 sub-blocks of (ls − 32) · Σ K[q]·qa; one fma per super-block. */
export function amxDotIQ4_XS(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  const K = KVALUES_IQ4NL;
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += 136, ao += Q8_K_BYTES) {
    const scalesH = w[wo + 2]! | (w[wo + 3]! << 8);
    let isum = 0;
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((w[wo + 4 + (ib >> 1)]! >>> (4 * (ib & 1))) & 0xf) | (((scalesH >>> (2 * ib)) & 3) << 4);
      const q0 = wo + 8 + 16 * ib;
      const a0 = ao + 4 + 32 * ib;
      let s = 0;
      for (let j = 0; j < 16; j++) {
        const q = w[q0 + j]!;
        s += K[q & 0xf]! * i8(a[a0 + j]!) + K[q >>> 4]! * i8(a[a0 + 16 + j]!);
      }
      isum += (ls - 32) * s;
    }
    acc = fma32(F(isum), F(t[w[wo]! | (w[wo + 1]! << 8)]! * q8kD(a, ao)), acc);
  }
  return acc;
}

// ---------------------------------------------------------------------------------- F16

const lanes = new Float32Array(16);

/**
 * F16 weight row (fp16 at w[wo..]) · f32 activation x[xo..xo+k): tinygemm_kernel_avx<float,
 * ggml_fp16_t>: lane j = fma over k ≡ j (mod 16) in order, then _mm512_reduce_add_ps. k % 16 == 0.
 */
export function amxDotF16(k: number, w: Uint8Array, wo: number, x: Float32Array, xo: number): number {
  const t = fp16Table32();
  for (let j = 0; j < 16; j++) {
    // lanes are independent: walk one lane at a time (same order, fewer typed-array stores)
    let acc = 0;
    for (let i = j, p = wo + 2 * j; i < k; i += 16, p += 32) acc = fma32(x[xo + i]!, t[w[p]! | (w[p + 1]! << 8)]!, acc);
    lanes[j] = acc;
  }
  return reduceAdd16(lanes);
}

/** The per-output AMX/VNNI order of a quantized AMX type (F16: amxDotF16). */
export function amxDot(type: GGMLType): VecDotFn {
  switch (type) {
    case GGMLType.Q8_0:
      return amxDotQ8_0;
    case GGMLType.Q4_0:
      return amxDotQ4_0;
    case GGMLType.Q4_1:
      return amxDotQ4_1;
    case GGMLType.Q4_K:
      return amxDotQ4_K;
    case GGMLType.Q5_K:
      return amxDotQ5_K;
    case GGMLType.Q6_K:
      return amxDotQ6_K;
    case GGMLType.IQ4_XS:
      return amxDotIQ4_XS;
    default:
      throw new Error(`no AMX kernel for ggml type ${type}`);
  }
}

/**
 * ggml_backend_amx_mul_mat: out[t·ne1 + r] for the weight rows at data[wo0..] (amxSupports must
 * hold). Quantized types: activations converted once per row (ggml: wdata), then amxDot per
 * output. F16: the f32 activation straight into amxDotF16.
 */
export function matmulAmx(
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
  if (type === GGMLType.F16) {
    for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
      for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = amxDotF16(ne0, data, wo, x, t * ne0);
    }
    return;
  }
  const dot = amxDot(type);
  const vdt = vecDotTypeOf(type);
  const arb = rowBytes(vdt, ne0);
  const act = new Uint8Array(arb * nTokens);
  const fromFloat = fromFloatFor(vdt);
  for (let t = 0; t < nTokens; t++) fromFloat(x, t * ne0, act, t * arb, ne0);
  for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) {
    for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = dot(ne0, data, wo, act, t * arb);
  }
}

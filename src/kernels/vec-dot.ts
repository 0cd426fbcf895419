/**
 * Reference dot products: one weight row (native ggml format) · one activation row already
 * converted to the weight's vec_dot_type (src/quant/activation.ts), in the exact f32 order of
 * the ggml_vec_dot_<type> kernel of llama.cpp's x86 CPU variants (the __AVX2__ paths of
 * ggml-cpu/arch/x86/quants.c, which every AVX2 and AVX-512 variant compiles; their integer sums are
 * exact whichever of VPDPBUSD / VPMADDUBSW+VPMADDWD forms them, so every numerics profile gets the
 * same bits: measured with tools/ggml-oracle/survey-variants.mjs). These run per output when a weight is in
 * the plain CPU buffer and no llamafile sgemm applies (M == 1, or a type sgemm lacks). Other
 * paths (AMX, sgemm, repack) are in matmul-amx.ts / matmul-cpu.ts / matmul-repack.ts; see
 * reference.ts matmulPath. Results are bit-exact against the oracle (test/ggml-oracle.test.ts).
 *
 * ORDER of the 32-element block types (Q4_0, Q5_0, Q8_0, IQ4_NL; Q4_1, Q5_1):
 *   8 f32 lanes; lane l owns elements 4l..4l+3 of every block (VPDPBUSD / VPMADDUBSW+VPMADDWD:
 *   exact int32 per lane):
 *     for each block b:  lane[l] = fma(fround(dw_b·da_b), f32(isum_b,l), lane[l])
 *   result = hsum8(lane)   (hsum_float_8: (l_i + l_{i+4}) for i < 4, then (0+2) + (1+3))
 *   Q4_1 / Q5_1 add a scalar  summs = fma(mw_b, s_b, summs)  per block (GCC contracts the C
 *   "summs += m*s"), result = fround(hsum8(lane) + summs).
 *   IQ4_NL keeps two lane sets (even / odd blocks), adds them lane-wise before hsum8; an odd last
 *   block is added as fma(f32(isum), fround(da·dw), sum). (Its tinyBLAS_Q0_AVX twin, used for
 *   M >= 2, keeps one lane set: sgemmDotIQ4_NLQ8_0.)
 * Float types (F32, F16, BF16) are in vec-dot-float.ts, per numerics profile.
 */
import { fp16Table32 } from "../quant/f16.js";
import { KVALUES_IQ4NL as KV } from "../quant/iq4.js";
import { Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q8_0_BYTES, Q8_1_BYTES } from "../quant/legacy.js";
import { fma32, hsum8 } from "./ggml-order.js";

const F = Math.fround;

/** Signed byte. */
function i8(b: number): number {
  return (b << 24) >> 24;
}

function u32le(a: Uint8Array, o: number): number {
  return (a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24)) >>> 0;
}

// ------------------------------------------------------------------- 32-element block types

/** Decoded weight levels of the current block (element order), shared by the block kernels. */
const wq = new Int32Array(32);
/** 8 lanes (+ 8 more for IQ4_NL's second accumulator). */
const lanes = new Float32Array(16);

/** lanes[lo + l] = fma(d, Σ_{j=4l}^{4l+3} wq[j]·q8[j], lanes[lo + l]) for the activation qs at a[aq..]. */
function fmaLanes(d: number, a: Uint8Array, aq: number, lo: number): void {
  for (let l = 0; l < 8; l++) {
    const j = 4 * l;
    const s = wq[j]! * i8(a[aq + j]!) + wq[j + 1]! * i8(a[aq + j + 1]!) + wq[j + 2]! * i8(a[aq + j + 2]!) + wq[j + 3]! * i8(a[aq + j + 3]!);
    lanes[lo + l] = fma32(d, s, lanes[lo + l]!);
  }
}

/** Q4_0 · Q8_0 (ggml_vec_dot_q4_0_q8_0, AVX2): levels q − 8. */
export function vecDotQ4_0Q8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 32; b++, wo += Q4_0_BYTES, ao += Q8_0_BYTES) {
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      wq[j] = (q & 0xf) - 8;
      wq[j + 16] = (q >>> 4) - 8;
    }
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), a, ao + 2, 0);
  }
  return hsum8(lanes);
}

/** Q5_0 · Q8_0 (ggml_vec_dot_q5_0_q8_0, AVX2; tinyBLAS_Q0_AVX has the same per-output order). */
export function vecDotQ5_0Q8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 32; b++, wo += Q5_0_BYTES, ao += Q8_0_BYTES) {
    const qh = u32le(w, wo + 2);
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 6 + j]!;
      wq[j] = ((q & 0xf) | (((qh >>> j) & 1) << 4)) - 16;
      wq[j + 16] = ((q >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
    }
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), a, ao + 2, 0);
  }
  return hsum8(lanes);
}

/** Q8_0 · Q8_0 (ggml_vec_dot_q8_0_q8_0, AVX2). */
export function vecDotQ8_0Q8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 32; b++, wo += Q8_0_BYTES, ao += Q8_0_BYTES) {
    for (let j = 0; j < 32; j++) wq[j] = i8(w[wo + 2 + j]!);
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), a, ao + 2, 0);
  }
  return hsum8(lanes);
}

/** IQ4_NL · Q8_0 (ggml_vec_dot_iq4_nl_q8_0, AVX2): two lane sets, even and odd blocks. */
export function vecDotIQ4_NLQ8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  const nb = n / 32;
  lanes.fill(0);
  const pairs = 2 * (nb >> 1); // blocks handled two at a time (ib + 1 < nb)
  let b = 0;
  for (; b < pairs; b++, wo += 18, ao += Q8_0_BYTES) {
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      wq[j] = KV[q & 0xf]!;
      wq[j + 16] = KV[q >>> 4]!;
    }
    fmaLanes(F(t[a[ao]! | (a[ao + 1]! << 8)]! * t[w[wo]! | (w[wo + 1]! << 8)]!), a, ao + 2, 8 * (b & 1));
  }
  for (let l = 0; l < 8; l++) lanes[l] = F(lanes[l]! + lanes[8 + l]!);
  let sum = hsum8(lanes);
  if (b < nb) {
    // an odd last block: scalar int sum, sumf = fma(f32(isum), d, sumf) in the binary
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      isum += KV[q & 0xf]! * i8(a[ao + 2 + j]!) + KV[q >>> 4]! * i8(a[ao + 18 + j]!);
    }
    sum = fma32(isum, F(t[a[ao]! | (a[ao + 1]! << 8)]! * t[w[wo]! | (w[wo + 1]! << 8)]!), sum);
  }
  return sum;
}

/**
 * IQ4_NL · Q8_0 as llamafile's tinyBLAS_Q0_AVX<block_iq4_nl> computes it (CPU buffer, M >= 2):
 * ONE 8-lane accumulator over all blocks (unlike ggml_vec_dot_iq4_nl_q8_0), then hsum8.
 */
export function sgemmDotIQ4_NLQ8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 32; b++, wo += 18, ao += Q8_0_BYTES) {
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      wq[j] = KV[q & 0xf]!;
      wq[j + 16] = KV[q >>> 4]!;
    }
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), a, ao + 2, 0);
  }
  return hsum8(lanes);
}

/** Q4_1 · Q8_1 (ggml_vec_dot_q4_1_q8_1, AVX2): lanes + a scalar fma chain of mw·s. */
export function vecDotQ4_1Q8_1(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  let summs = 0;
  for (let b = 0; b < n / 32; b++, wo += Q4_1_BYTES, ao += Q8_1_BYTES) {
    summs = fma32(t[w[wo + 2]! | (w[wo + 3]! << 8)]!, t[a[ao + 2]! | (a[ao + 3]! << 8)]!, summs);
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 4 + j]!;
      wq[j] = q & 0xf;
      wq[j + 16] = q >>> 4;
    }
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), a, ao + 4, 0);
  }
  return F(hsum8(lanes) + summs);
}

/** Q5_1 · Q8_1 (ggml_vec_dot_q5_1_q8_1, AVX2): as Q4_1 with 5-bit levels. */
export function vecDotQ5_1Q8_1(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  let summs = 0;
  for (let b = 0; b < n / 32; b++, wo += Q5_1_BYTES, ao += Q8_1_BYTES) {
    summs = fma32(t[w[wo + 2]! | (w[wo + 3]! << 8)]!, t[a[ao + 2]! | (a[ao + 3]! << 8)]!, summs);
    const qh = u32le(w, wo + 4);
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 8 + j]!;
      wq[j] = (q & 0xf) | (((qh >>> j) & 1) << 4);
      wq[j + 16] = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
    }
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * t[a[ao]! | (a[ao + 1]! << 8)]!), a, ao + 4, 0);
  }
  return F(hsum8(lanes) + summs);
}

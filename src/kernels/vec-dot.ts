/**
 * Reference dot products: one weight row (native ggml format) · one activation row already
 * converted to the weight's vec_dot_type (src/quant/activation.ts), in the exact f32 order of
 * the ggml_vec_dot_<type> kernel of the shipped x86 CPU build (libggml-cpu-sapphirerapids.so:
 * the __AVX2__ / __AVX512F__ / __AVX512BF16__ paths of ggml-cpu/arch/x86/quants.c and vec.cpp,
 * checked against its disassembly). These are what llama.cpp runs per output when a weight is in
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
 * F32:  ggml-order.ts vecDotF32 (4×16 FMA lanes over 64-element steps, folded 0+2, 1+3, 0+1,
 *       _mm512_reduce_add_ps; tail as the binary does it).
 * F16:  same 4×16 lane structure with both operands widened from fp16; the reduced f32 is then
 *       widened to f64 and the tail (n % 64) adds fround(w·x) in f64; one final fround.
 * BF16: AVX512-BF16: two 16-lane VDPBF16PS accumulators over 64-element steps (lane j of a step
 *       of 32 takes pair (2j, 2j+1): acc += w·x of the ODD element first, then the even one, each
 *       an f32 add — bf16 products are exact in f32); f64 sum of their two reductions; the tail
 *       adds fround(w·x) in f64; one final fround.
 */
import { bf16ToF32, fp16Table32 } from "../quant/f16.js";
import { KVALUES_IQ4NL as KV } from "../quant/iq4.js";
import { Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q8_0_BYTES, Q8_1_BYTES } from "../quant/legacy.js";
import { fma32, reduceAdd16, vecDotF32 as ggmlVecDotF32 } from "./ggml-order.js";

const F = Math.fround;

/** Signed byte. */
function i8(b: number): number {
  return (b << 24) >> 24;
}

function u32le(a: Uint8Array, o: number): number {
  return (a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24)) >>> 0;
}

/** n f32 values at bytes[o..]: a zero-copy view when 4-aligned, else a copy. */
export function f32Row(bytes: Uint8Array, o: number, n: number): Float32Array {
  const abs = bytes.byteOffset + o;
  if ((abs & 3) === 0) return new Float32Array(bytes.buffer, abs, n);
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, abs, 4 * n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/** hsum_float_8 (and tinyBLAS hsum(__m256)): (l_i + l_{i+4}), then (0+2) + (1+3). */
export function hsum8(l: Float32Array, o = 0): number {
  const t0 = F(l[o]! + l[o + 4]!), t1 = F(l[o + 1]! + l[o + 5]!), t2 = F(l[o + 2]! + l[o + 6]!), t3 = F(l[o + 3]! + l[o + 7]!);
  return F(F(t0 + t2) + F(t1 + t3));
}

// ------------------------------------------------------------------------------ float types

export function vecDotF32(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  return ggmlVecDotF32(f32Row(w, wo, n), 0, f32Row(a, ao, n), 0, n);
}

const acc64 = new Float32Array(64);

/** ggml_vec_dot_f16 (AVX-512 F16C): see the header. */
export function vecDotF16(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  const np = n & ~63;
  for (let j = 0; j < 64; j++) {
    let acc = 0; // lane j (of 4 registers × 16): elements j, j + 64, ... below np, in order
    for (let k = 2 * j; k < 2 * np; k += 128) acc = fma32(t[w[wo + k]! | (w[wo + k + 1]! << 8)]!, t[a[ao + k]! | (a[ao + k + 1]! << 8)]!, acc);
    acc64[j] = acc;
  }
  for (let j = 0; j < 16; j++) {
    acc64[j] = F(acc64[j]! + acc64[32 + j]!);
    acc64[16 + j] = F(acc64[16 + j]! + acc64[48 + j]!);
  }
  for (let j = 0; j < 16; j++) acc64[j] = F(acc64[j]! + acc64[16 + j]!);
  let sum = reduceAdd16(acc64);
  for (let i = np; i < n; i++) {
    const k = 2 * i;
    sum += F(t[w[wo + k]! | (w[wo + k + 1]! << 8)]! * t[a[ao + k]! | (a[ao + k + 1]! << 8)]!);
  }
  return F(sum);
}

/** A bf16 value as VDPBF16PS sees it: denormal inputs are zero (DAZ). */
function bf16Daz(h: number): number {
  return (h & 0x7f80) === 0 ? 0 : bf16ToF32(h);
}

/** VDPBF16PS result rounding: f32 RNE, denormal results flushed to zero (FTZ). */
function ftz(x: number): number {
  const r = F(x);
  return Math.abs(r) < 2 ** -126 ? 0 * r : r;
}

/**
 * One VDPBF16PS lane: acc + w[2j+1]·x[2j+1] + w[2j]·x[2j] (odd pair first), for the bf16 pair
 * at element index e (even) of w[wo..] and a[ao..].
 */
export function dpbf16Lane(acc: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number, e: number): number {
  const k = 2 * e;
  const w0 = bf16Daz(w[wo + k]! | (w[wo + k + 1]! << 8)), w1 = bf16Daz(w[wo + k + 2]! | (w[wo + k + 3]! << 8));
  const x0 = bf16Daz(a[ao + k]! | (a[ao + k + 1]! << 8)), x1 = bf16Daz(a[ao + k + 2]! | (a[ao + k + 3]! << 8));
  return ftz(ftz(acc + w1 * x1) + w0 * x0);
}

const c1 = new Float32Array(16), c2 = new Float32Array(16);

/** ggml_vec_dot_bf16 (AVX512-BF16): see the header. */
export function vecDotBF16(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const np = n & ~63;
  for (let j = 0; j < 16; j++) {
    let s1 = 0, s2 = 0; // lane j of each register, steps of 64 below np, in order
    for (let e = 2 * j; e < np; e += 64) {
      s1 = dpbf16Lane(s1, w, wo, a, ao, e);
      s2 = dpbf16Lane(s2, w, wo, a, ao, e + 32);
    }
    c1[j] = s1;
    c2[j] = s2;
  }
  let sum = reduceAdd16(c1) + reduceAdd16(c2); // exact in f64
  for (let i = np; i < n; i++) {
    const k = 2 * i;
    sum += F(bf16ToF32(w[wo + k]! | (w[wo + k + 1]! << 8)) * bf16ToF32(a[ao + k]! | (a[ao + k + 1]! << 8)));
  }
  return F(sum);
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

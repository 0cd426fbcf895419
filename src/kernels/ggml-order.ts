/**
 * Summation orders of llama.cpp's AVX-512 CPU variants (profiles amx, avx512, avx512-nobf16: see
 * numerics.ts; the AVX2 twins are in ggml-order-avx2.ts), reproduced step by step so that our f32
 * results are the same bits, not merely close.
 *
 * Why bits matter: before every quantized matmul ggml rounds the activation to int8. A 1-ulp
 * difference upstream occasionally moves a value across a rounding boundary, and one such flip
 * changes a random 6-layer model's embedding by ~5e-6 (1 - cos) — far above the parity target.
 * The orders below were read from llama.cpp's source at the shipped tag (ggml-cpu vec.cpp
 * ggml_vec_dot_f32, simd-mappings.h GGML_F32x16_REDUCE, llamafile/sgemm.cpp tinyBLAS, vec.h
 * ggml_v_expf, vec.cpp ggml_vec_soft_max_f32) and checked against it (test/model.test.ts).
 *
 * `fma32(a, b, c)` for f32 a, b, c is the fused result, bit for bit (see below).
 */
import { expf } from "./libm-expf.js";

const fround = Math.fround;

/**
 * f32 fused multiply-add, correctly rounded (vfmadd*ps). a·b is exact in f64 (24 + 24 bits), so
 * s = fround64(a·b + c) is off only by the f64 rounding error e of that one add; rounding s to
 * f32 is then wrong only when s lies exactly halfway between two f32 values and e ≠ 0 (double
 * rounding, ~2^-28 per call — it did happen in matmul tests). That case is detected and e (from
 * Knuth's TwoSum) decides the side. Subnormal results are not special-cased (not reached here).
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = fround(s);
  if (r === Infinity || r === -Infinity || r !== r) return r; // overflow (or NaN): d below would be ±Inf, not an error term
  const d = s - r; // exact: r is s rounded to fewer bits
  const other = s + d; // = r + 2d exactly: the other f32 neighbour of s when s is a midpoint
  if (fround(other) !== other) return r; // s is not a midpoint (and d ≠ 0): r is right
  if (d === 0) return r; // s is an f32
  const bv = s - p;
  const e = p - (s - bv) + (c - bv); // a·b + c = s + e exactly (TwoSum)
  if (e === 0) return r; // a true tie: fround already rounded it to even
  return e > 0 === d > 0 ? other : r;
}

/**
 * _mm512_reduce_add_ps over 16 lanes: halves are added pairwise, (i, i+8), then (i, i+4), then
 * (0, 2) and (1, 3), then the last two. (GCC and clang lower it to the same tree.)
 */
export function reduceAdd16(l: Float32Array | number[]): number {
  const t0 = fround(l[0] + l[8]),
    t1 = fround(l[1] + l[9]),
    t2 = fround(l[2] + l[10]),
    t3 = fround(l[3] + l[11]);
  const t4 = fround(l[4] + l[12]),
    t5 = fround(l[5] + l[13]),
    t6 = fround(l[6] + l[14]),
    t7 = fround(l[7] + l[15]);
  const u0 = fround(t0 + t4),
    u1 = fround(t1 + t5),
    u2 = fround(t2 + t6),
    u3 = fround(t3 + t7);
  return fround(fround(u0 + u2) + fround(u1 + u3));
}

/** hsum_float_8 and tinyBLAS hsum(__m256): t_i = l_i + l_{i+4}, then (t0 + t2) + (t1 + t3). */
export function hsum8(l: Float32Array | number[], o = 0): number {
  const t0 = fround(l[o]! + l[o + 4]!),
    t1 = fround(l[o + 1]! + l[o + 5]!),
    t2 = fround(l[o + 2]! + l[o + 6]!),
    t3 = fround(l[o + 3]! + l[o + 7]!);
  return fround(fround(t0 + t2) + fround(t1 + t3));
}

const acc = new Float32Array(64); // 4 accumulators x 16 lanes

/**
 * ggml_vec_dot_f32 (AVX-512): 4 accumulators of 16 lanes over the first n & ~63 elements with
 * FMA, folded (0+2, 1+3, 0+1) and reduced to one float; the rest are added in f32, one by one.
 */
export function vecDotF32(x: Float32Array, xo: number, y: Float32Array, yo: number, n: number, lo = 0, hi = n): number {
  // Elements outside [lo, hi) must have x·y == 0: skipping an exact zero product leaves every
  // accumulator unchanged, so the result is the same as the full loop.
  const np = n & ~63;
  acc.fill(0);
  for (let i = lo & ~63; i < Math.min(np, hi); i += 64) {
    for (let j = 0; j < 64; j++) acc[j] = fma32(x[xo + i + j], y[yo + i + j], acc[j]);
  }
  for (let j = 0; j < 16; j++) {
    acc[j] = fround(acc[j] + acc[32 + j]);
    acc[16 + j] = fround(acc[16 + j] + acc[48 + j]);
  }
  for (let j = 0; j < 16; j++) acc[j] = fround(acc[j] + acc[16 + j]);
  let sum = reduceAdd16(acc);
  // The C source is "sumf += x[i]*y[i]" for i >= np. The shipped binary (GCC, read from its
  // disassembly) vectorizes that loop: runs of 16, then one run of 8, multiply with separate
  // rounding and then add in order; the last < 8 elements use a fused multiply-add.
  const tail8 = np + (((n - np) >> 4) << 4) + ((((n - np) & 15) >> 3) << 3);
  for (let i = Math.max(np, lo); i < Math.min(tail8, hi); i++) sum = fround(sum + fround(x[xo + i] * y[yo + i]));
  for (let i = Math.max(tail8, lo); i < Math.min(n, hi); i++) sum = fma32(x[xo + i], y[yo + i], sum);
  return sum;
}

const lanes = new Float32Array(16);

/** llamafile tinyBLAS f32 (AVX-512, KN = 16): one 16-lane FMA accumulator over k, then reduce. k % 16 == 0. */
export function sgemmDotF32(x: Float32Array, xo: number, y: Float32Array, yo: number, k: number, lo = 0, hi = k): number {
  lanes.fill(0); // as in vecDotF32, elements outside [lo, hi) must have zero products
  for (let l = lo & ~15; l < hi; l += 16) {
    for (let j = 0; j < 16; j++) lanes[j] = fma32(x[xo + l + j], y[yo + l + j], lanes[j]);
  }
  return reduceAdd16(lanes);
}

export type F32Dot = (x: Float32Array, xo: number, y: Float32Array, yo: number, k: number, lo?: number, hi?: number) => number;

// ggml_v_expf (AVX-512) constants, as f32 (C hex literals in the comments; all exact in f32).
const R = 12582912; // 0x1.8p23
const LOG2E = 1.4426950216293335; // 0x1.715476p+0
const LN2_HI = 0.693145751953125; // 0x1.62e4p-1
const LN2_LO = 1.428606765330187e-6; // 0x1.7f7d1cp-20
const C5 = 0.008247390389442444; // 0x1.0e4020p-7
const C4 = 0.04189976677298546; // 0x1.573e2ep-5
const C3 = 0.16668395698070526; // 0x1.555e66p-3
const C2 = 0.4999912679195404; // 0x1.fffdb6p-2
const C1 = 0.9999994039535522; // 0x1.ffffecp-1

/** One lane of ggml_v_expf: exp(x) from a degree-5 polynomial and scalef, with FMAs. */
export function vExpf(x: number): number {
  const z = fma32(x, LOG2E, R);
  const n = fround(z - R);
  const b = fround(-(n * LN2_LO) + fround(-(n * LN2_HI) + x)); // fnmadd(n, lo, fnmadd(n, hi, x))
  if (Math.abs(n) > 192) return n <= 0 ? 0 : Infinity;
  const u = fround(b * b);
  const j = fma32(fma32(fma32(C5, b, C4), u, fma32(C3, b, C2)), u, fma32(C1, b, 1));
  return fround(j * Math.pow(2, n)); // _mm512_scalef_ps: j·2^n, rounded once
}

/**
 * ggml_vec_soft_max_f32 + the scale step of ggml_compute_forward_soft_max_f32, in place over
 * row[o .. o+n), where masked entries are -Infinity: blocks of 16 use vExpf and add their
 * reduce_add_ps sum in f64; the tail uses expf; then every value is multiplied by (float)(1/sum).
 */
export function softmaxGgml(row: Float32Array, o: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (row[o + i] > max) max = row[o + i];
  let sum = 0;
  let i = 0;
  for (; i + 15 < n; i += 16) {
    for (let j = 0; j < 16; j++) {
      const e = vExpf(fround(row[o + i + j] - max));
      row[o + i + j] = e;
      lanes[j] = e;
    }
    sum += reduceAdd16(lanes);
  }
  for (; i < n; i++) {
    const e = expf(fround(row[o + i] - max));
    row[o + i] = e;
    sum += e;
  }
  const inv = fround(1 / sum);
  for (let j = 0; j < n; j++) row[o + j] = fround(row[o + j] * inv);
}

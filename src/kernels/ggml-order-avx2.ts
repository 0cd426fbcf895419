/**
 * The f32 orders of llama.cpp's AVX2 CPU variants (haswell, alderlake: profile "avx2"), where
 * GGML_F32_EPR is 8: the twins of ggml-order.ts's AVX-512 orders for ggml_vec_dot_f32, tinyBLAS
 * f32/f16/bf16 (KN = 8), ggml_v_expf and ggml_vec_soft_max_f32. Read from llama.cpp at the shipped
 * tag (ggml-cpu/vec.cpp, simd-mappings.h GGML_F32x8_REDUCE, vec.h ggml_v_expf(__m256),
 * llamafile/sgemm.cpp hsum(__m256)) and from the haswell library's disassembly where the C leaves
 * the order to the compiler (the vec_dot tail); checked against libggml-cpu-haswell.so and
 * libggml-cpu-alderlake.so by test/kernels/numerics-oracle.test.ts.
 */
import { f32Bits, f32FromBits } from "../quant/f16.js";
import { expf } from "./libm-expf.js";
import { fma32, hsum8 } from "./ggml-order.js";

const fround = Math.fround;

/** GGML_F32x8_REDUCE's last step (two VHADDPS): t_i = l_i + l_{i+4}, then (t0 + t1) + (t2 + t3). */
export function haddReduce8(l: Float32Array | number[], o = 0): number {
  const t0 = fround(l[o]! + l[o + 4]!),
    t1 = fround(l[o + 1]! + l[o + 5]!),
    t2 = fround(l[o + 2]! + l[o + 6]!),
    t3 = fround(l[o + 3]! + l[o + 7]!);
  return fround(fround(t0 + t1) + fround(t2 + t3));
}

const acc = new Float32Array(32); // 4 accumulators x 8 lanes

/**
 * ggml_vec_dot_f32 (AVX2): 4 accumulators of 8 lanes over the first n & ~31 elements with FMA,
 * folded (0+2, 1+3, 0+1) and reduced by GGML_F32x8_REDUCE; then the rest. The C tail is
 * "sumf += x[i]*y[i]"; the shipped binary vectorizes it as runs of 8, then one run of 4,
 * multiplying with separate rounding and adding in order, and fuses the last < 4 (VFMADD231SS).
 * Elements outside [lo, hi) must have x·y == 0 (skipped: the same result, see ggml-order.ts).
 */
export function vecDotF32x8(x: Float32Array, xo: number, y: Float32Array, yo: number, n: number, lo = 0, hi = n): number {
  const np = n & ~31;
  acc.fill(0);
  for (let i = lo & ~31; i < Math.min(np, hi); i += 32) {
    for (let j = 0; j < 32; j++) acc[j] = fma32(x[xo + i + j]!, y[yo + i + j]!, acc[j]!);
  }
  for (let j = 0; j < 8; j++) {
    acc[j] = fround(acc[j]! + acc[16 + j]!);
    acc[8 + j] = fround(acc[8 + j]! + acc[24 + j]!);
  }
  for (let j = 0; j < 8; j++) acc[j] = fround(acc[j]! + acc[8 + j]!);
  let sum = haddReduce8(acc);
  const rest = n - np;
  const fused = np + (rest & ~7) + (rest & 4); // runs of 8, then one run of 4 are unfused
  for (let i = Math.max(np, lo); i < Math.min(fused, hi); i++) sum = fround(sum + fround(x[xo + i]! * y[yo + i]!));
  for (let i = Math.max(fused, lo); i < Math.min(n, hi); i++) sum = fma32(x[xo + i]!, y[yo + i]!, sum);
  return sum;
}

const lanes = new Float32Array(8);

/** llamafile tinyBLAS f32 (AVX2, KN = 8): one 8-lane FMA accumulator over k, then hsum(__m256). k % 8 == 0. */
export function sgemmDotF32x8(x: Float32Array, xo: number, y: Float32Array, yo: number, k: number, lo = 0, hi = k): number {
  lanes.fill(0);
  for (let l = lo & ~7; l < hi; l += 8) {
    for (let j = 0; j < 8; j++) lanes[j] = fma32(x[xo + l + j]!, y[yo + l + j]!, lanes[j]!);
  }
  return hsum8(lanes);
}

// ggml_v_expf (AVX2 + FMA) constants, as f32 (the C hex literals; all exact in f32).
const R = 12582912; // 0x1.8p23
const LOG2E = 1.4426950216293335; // 0x1.715476p+0
const LN2_HI = 0.693145751953125; // 0x1.62e4p-1
const LN2_LO = 1.428606765330187e-6; // 0x1.7f7d1cp-20
const C5 = 0.008247390389442444; // 0x1.0e4020p-7
const C4 = 0.04189976677298546; // 0x1.573e2ep-5
const C3 = 0.16668395698070526; // 0x1.555e66p-3
const C2 = 0.4999912679195404; // 0x1.fffdb6p-2
const C1 = 0.9999994039535522; // 0x1.ffffecp-1

/**
 * One lane of ggml_v_expf(__m256): j = the polynomial without its leading 1, k = 2^n built from
 * z's low bits; in range, fma(j, k, k). For |n| > 126 the result is scaled in two steps, and 0 or
 * Inf beyond |n| > 192 (s1·s1 underflows or overflows).
 */
export function vExpf8(x: number): number {
  const z = fma32(x, LOG2E, R);
  const n = fround(z - R);
  const b = fround(-(n * LN2_LO) + fround(-(n * LN2_HI) + x)); // fnmadd(n, lo, fnmadd(n, hi, x)), exact in f64 as in ggml-order.ts
  const e = (f32Bits(z) << 23) | 0;
  const k = f32FromBits((e + 0x3f800000) | 0);
  const u = fround(b * b);
  const j = fma32(fma32(fma32(C5, b, C4), u, fma32(C3, b, C2)), u, fround(C1 * b));
  const an = Math.abs(n);
  if (!(an > 126)) return fma32(j, k, k);
  const g = n <= 0 ? 0x82000000 | 0 : 0;
  const s1 = f32FromBits((g + 0x7f000000) | 0);
  const s2 = f32FromBits((e - g) | 0);
  if (an > 192) return fround(s1 * s1);
  return fround(fma32(s2, j, s2) * s1);
}

/**
 * ggml_vec_soft_max_f32 (AVX2) + the scale step of ggml_compute_forward_soft_max_f32, in place over
 * row[o .. o+n), masked entries -Infinity: blocks of 8 use vExpf8 and add their hsum(__m256) in f64;
 * the tail uses expf; then every value is multiplied by (float)(1/sum).
 */
export function softmaxGgml8(row: Float32Array, o: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (row[o + i]! > max) max = row[o + i]!;
  let sum = 0;
  let i = 0;
  for (; i + 7 < n; i += 8) {
    for (let j = 0; j < 8; j++) {
      const e = vExpf8(fround(row[o + i + j]! - max));
      row[o + i + j] = e;
      lanes[j] = e;
    }
    sum += hsum8(lanes);
  }
  for (; i < n; i++) {
    const e = expf(fround(row[o + i]! - max));
    row[o + i] = e;
    sum += e;
  }
  const inv = fround(1 / sum);
  for (let j = 0; j < n; j++) row[o + j] = fround(row[o + j]! * inv);
}

/**
 * Scalar number formats used by ggml: IEEE binary16 ("fp16", ggml_fp16_t), bfloat16 (ggml_bf16_t),
 * and the f32 rounding helpers ggml's quantizers rely on (C roundf, nearest_int, round-half-even).
 *
 * JS numbers are binary64. Every helper here takes its input as a binary32 value (a C `float`
 * argument), so a caller holding an f64 must not expect f64 -> f16 single rounding: the value is
 * first rounded to f32, exactly as a C caller would have it. ref: docs/gguf.md §3; llama.cpp ggml/src/ggml-impl.h ggml_compute_fp32_to_fp16 / _bf16.
 *
 * NaN payloads are not preserved on the f16 -> f32 side (a Float32Array write may canonicalise
 * NaN); every NaN input still decodes to NaN.
 */

// One scratch word viewed as f32 and u32, for bit casts.
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Bit pattern of Math.fround(x). */
export function f32Bits(x: number): number {
  f32buf[0] = x;
  return u32buf[0]!;
}

/** The f32 whose bit pattern is `bits` (u32). */
export function f32FromBits(bits: number): number {
  u32buf[0] = bits >>> 0;
  return f32buf[0]!;
}

// ---------------------------------------------------------------------------------------------
// fp16 -> f32

/**
 * Exact widening of one binary16 pattern. binary16: sign(1) exp(5, bias 15) mantissa(10).
 * exp 0 = subnormal m·2^-24, exp 31 = inf (m = 0) or NaN. Every binary16 is exact in binary32.
 */
export function fp16ToF32Slow(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let fp16Table: Float32Array | undefined;

/** 65536-entry decode table (256 KiB), built on first use. */
export function fp16Table32(): Float32Array {
  if (fp16Table === undefined) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = fp16ToF32Slow(h);
    fp16Table = t;
  }
  return fp16Table;
}

/** GGML_FP16_TO_FP32: binary16 bits -> f32 value (exact). */
export function fp16ToF32(h: number): number {
  return fp16Table32()[h & 0xffff]!;
}

/** Read a little-endian fp16 at src[o..o+1] and widen it. Safe on unaligned offsets. */
export function readF16(src: Uint8Array, o: number): number {
  return fp16Table32()[src[o]! | (src[o + 1]! << 8)]!;
}

// ---------------------------------------------------------------------------------------------
// f32 -> fp16

/**
 * GGML_FP32_TO_FP16: round to nearest, ties to even; overflow -> ±inf; NaN -> sign|0x7E00
 * (what ggml's software routine and F16C give for quiet NaNs). Subnormal results are produced,
 * not flushed. Works on the binary32 bit pattern so every f32 input is rounded exactly once.
 * ref: ggml/src/ggml-impl.h ggml_compute_fp32_to_fp16; F16C _cvtss_sh(x, 0) rounds identically.
 */
export function f32ToFp16(x: number): number {
  f32buf[0] = x;
  return fp16FromF32Bits(u32buf[0]!);
}

/** f32ToFp16 of the f32 whose bit pattern is `bits` (u32), for callers that hold the bits. */
export function fp16FromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff; // biased by 127
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  if (exp >= 143) return sign | 0x7c00; // |x| >= 2^16: beyond the largest finite (65504) even after rounding
  if (exp >= 113) {
    // normal binary16 (|x| >= 2^-14). Rebias 127 -> 15 and keep the top 10 mantissa bits; the
    // 13 dropped bits decide rounding, nearest-even without a branch (adding 0xfff plus the kept
    // lowest bit carries exactly when the rest is above half, or half with an odd kept bit; a
    // branch on it mispredicts half the time on real data). A carry out of the mantissa bumps the
    // exponent, and 65520 <= |x| < 65536 carries into 0x7C00 = inf.
    const a = bits & 0x7fffffff;
    return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  }
  if (exp < 102) return sign; // |x| < 2^-25: rounds to ±0 (2^-25 itself is a tie, handled below)
  // subnormal binary16: value = m·2^-24 with m < 1024. The f32 significand (24 bits, implicit 1
  // restored) is shifted so that its unit is 2^-24; the shifted-out bits decide rounding. A
  // carry to m = 1024 yields 0x0400, the smallest normal, which is the right encoding.
  const sig = mant | 0x800000;
  const shift = 126 - exp; // 14 (exp 112) .. 24 (exp 102)
  let h = sig >>> shift;
  const rest = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/** Write fp16(x) little-endian at dst[o..o+1]. */
export function writeF16(dst: Uint8Array, o: number, x: number): void {
  const h = f32ToFp16(x);
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
}

// ---------------------------------------------------------------------------------------------
// bf16

/** GGML_BF16_TO_FP32: the bf16 bits are the upper half of a binary32. Exact. */
export function bf16ToF32(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}

/**
 * GGML_FP32_TO_BF16 (ggml_compute_fp32_to_bf16): NaN -> (u >> 16) | 0x40 (forced quiet, sign and
 * upper payload kept); otherwise round-to-nearest-even on the upper half:
 * (u + 0x7FFF + ((u >> 16) & 1)) >> 16. Overflow rounds to ±inf.
 *
 * Subnormals: current ggml does NOT flush them. ggml-impl.h says "Subnormals aren't flushed to
 * zero, except perhaps when used" and has no flush branch; the flush-to-zero of older ggml is
 * gone. We follow current ggml. ref: ggml/src/ggml-impl.h
 * (llama.cpp 00966469). Checked: equal to libggml-base's ggml_fp32_to_bf16_row_ref for all 2^32
 * inputs; ggml-cpu's ggml_cpu_fp32_to_bf16 (sapphirerapids build, AVX512-BF16) keeps subnormals too.
 */
export function f32ToBf16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  // u + 0x8000 <= 0xFF808000 < 2^32 for every non-NaN u, so no u32 wrap-around here.
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// rounding helpers

/**
 * C roundf: nearest integer, halfway cases away from zero. Exact for every double input
 * (the fractional part a - floor(a) is computed exactly).
 */
export function roundf(x: number): number {
  const a = Math.abs(x);
  let r = Math.floor(a);
  if (a - r >= 0.5) r += 1;
  return x < 0 ? -r : r;
}

/** Round to nearest, ties to even (_mm256_round_ps(x, _MM_ROUND_NEAREST), lrintf in default mode). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +inf
  // A tie rounded up to an odd integer must go down one instead.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * ggml's nearest_int: add 1.5·2^23 in f32 so the FPU rounds to an integer (ties to even), then
 * read the integer back from the mantissa bits: (bits & 0x7FFFFF) - 0x400000.
 * Valid for |v| <= 4194303 (ggml asserts this in debug builds only). Outside that range release
 * ggml returns whatever the bit trick yields; so do we, so callers that clamp afterwards see the
 * same numbers. ref: ggml/src/ggml-quants.c nearest_int.
 */
export function nearestInt(v: number): number {
  const s = Math.fround(v + 12582912);
  // In [2^23, 2^24) the f32 ulp is 1, so s is the rounded integer plus the magic.
  if (s >= 8388608 && s < 16777216) return s - 12582912;
  return (f32Bits(s) & 0x7fffff) - 0x400000;
}

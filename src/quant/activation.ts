/**
 * Activation quantizers: how ggml-cpu converts an f32 activation row to the weight's
 * vec_dot_type before a matmul (docs/numerics.md §4). These are the x86 (AVX/AVX2/AVX-512)
 * flavours, which is what the shipped llama.cpp builds run:
 *
 *   Q8_0  d = fp16_rne(amax/127); id = 127/amax (f32, NOT 1/fp16(d)); q = round_half_even(x·id)
 *   Q8_1  same d, q; plus s = fp16(d·Σq) with the unrounded f32 d
 *   Q8_K  quantize_row_q8_K_ref (x86 calls the ref): iscale = -127/max with the *signed* max,
 *         q = min(127, nearest_int(iscale·x)), d = 1/iscale kept as f32, bsums per 16
 *   F16   round-to-nearest-even (F16C _mm256_cvtps_ph(x, 0))
 *   BF16  ggml's RNE conversion
 *
 * ref: ggml/src/ggml-cpu/arch/x86/quants.c quantize_row_q8_0 / quantize_row_q8_1 / quantize_row_q8_K
 * (llama.cpp 04e1dd75), ggml/src/ggml-quants.c quantize_row_q8_K_ref (01243c58).
 * The *weight* quantizers for Q8_0/Q8_1 (roundf, id = 1/d) are in legacy.ts.
 */
import { f32ToBf16, f32ToFp16, nearestInt, roundHalfEven, writeF16 } from "./f16.js";
import { Q8_K_BYTES } from "./k-quants.js";
import { Q8_0_BYTES, Q8_1_BYTES } from "./legacy.js";

const F = Math.fround;
const QK = 32;
const QK_K = 256;

// f32 d of the block q8Block last wrote (kept outside the return value to avoid an allocation).
let blockD = 0;

/** MAXPS / MAXSS on one lane: the first operand if it is greater, else the second (so a NaN in either may win or lose by position). */
const maxps = (a: number, b: number) => (a > b ? a : b);
const lane = new Float64Array(8);

/**
 * max |x| of a 32-block as the x86 code reduces it: 8 lanes over the 4 registers in order, then
 * the high half against the low, then (0, 2) (1, 3), then (0, 1). For input without NaN this is
 * the plain maximum; a NaN wins or is dropped by its position exactly as in ggml.
 */
function amax32(src: Float32Array, s: number): number {
  for (let l = 0; l < 8; l++)
    lane[l] = maxps(maxps(maxps(Math.abs(src[s + l]!), Math.abs(src[s + 8 + l]!)), Math.abs(src[s + 16 + l]!)), Math.abs(src[s + 24 + l]!));
  const m0 = maxps(lane[4]!, lane[0]!),
    m1 = maxps(lane[5]!, lane[1]!),
    m2 = maxps(lane[6]!, lane[2]!),
    m3 = maxps(lane[7]!, lane[3]!);
  return maxps(maxps(m0, m2), maxps(m1, m3));
}

/**
 * Quantize one x86-style Q8_0/Q8_1 block; leaves d in blockD and returns Σ of the cvtps_epi32
 * values as quantize_row_q8_1 sums them for s (int32, wrapping; NaN is INT_MIN there). The stored
 * qs go to o + qOff.
 */
function q8Block(src: Float32Array, s: number, dst: Uint8Array, o: number, qOff: number): number {
  const amax = amax32(src, s);
  const d = F(amax / 127);
  blockD = d;
  writeF16(dst, o, d);
  const id = amax !== 0 ? F(127 / amax) : 0;
  let sum = 0;
  for (let j = 0; j < QK; j++) {
    // _mm256_round_ps(_MM_ROUND_NEAREST), then cvtps_epi32 (NaN and out-of-range values, ±inf
    // when amax is subnormal and id = 127/amax overflows, give INT_MIN), then the saturating packs
    // to int8 (INT_MIN -> -128, also for +inf).
    const r = roundHalfEven(F(src[s + j]! * id));
    const i = r >= -0x80000000 && r < 0x80000000 ? r : -0x80000000;
    dst[o + qOff + j] = Math.max(-128, Math.min(127, i)) & 0xff;
    sum = (sum + i) | 0;
  }
  return sum;
}

/** x86 quantize_row_q8_0 (activation flavour). */
export function quantizeRowQ8_0(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q8_0_BYTES) q8Block(src, s, dst, o, 2);
}

/** x86 quantize_row_q8_1 (activation flavour): adds s = fp16(d·Σq) at byte 2. */
export function quantizeRowQ8_1(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q8_1_BYTES) {
    const sum = q8Block(src, s, dst, o, 4);
    writeF16(dst, o + 2, F(blockD * F(sum))); // d * (float)hsum_i32_8(...)
  }
}

/**
 * quantize_row_q8_K_ref. When the largest-magnitude element is positive, iscale is negative, so
 * both d and every q come out sign-flipped (d·q still ≈ x); the extreme element maps to ∓127.
 */
export function quantizeRowQ8_K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const dv = new DataView(dst.buffer, dst.byteOffset);
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK_K; b++, s += QK_K, o += Q8_K_BYTES) {
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(src[s + j]!);
      if (ax > amax) {
        amax = ax;
        max = src[s + j]!;
      }
    }
    if (amax === 0) {
      // ggml zeroes d and qs; it leaves bsums untouched. We zero the whole block (see report).
      dst.fill(0, o, o + Q8_K_BYTES);
      continue;
    }
    const iscale = F(-127 / max);
    for (let g = 0; g < QK_K / 16; g++) {
      let bsum = 0;
      for (let l = 0; l < 16; l++) {
        const j = 16 * g + l;
        const q = Math.min(127, nearestInt(F(iscale * src[s + j]!)));
        dst[o + 4 + j] = q & 0xff;
        bsum += q;
      }
      dv.setInt16(o + 4 + QK_K + 2 * g, bsum, true);
    }
    dv.setFloat32(o, F(1 / iscale), true);
  }
}

/** Activation conversion for F16 weights: RNE to binary16. */
export function quantizeRowF16Act(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let i = 0, o = dstByteOffset; i < n; i++, o += 2) {
    const h = f32ToFp16(src[srcOffset + i]!);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}

/** Activation conversion for BF16 weights: ggml RNE (see f16.ts about AVX512-BF16 subnormals). */
export function quantizeRowBF16Act(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let i = 0, o = dstByteOffset; i < n; i++, o += 2) {
    const h = f32ToBf16(src[srcOffset + i]!);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}

/**
 * K-quants (super-blocks of QK_K = 256): block layouts, scale unpacking and dequantization for
 * Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K. Quantizers are in k-quants-ref.ts.
 * ref: docs/gguf.md §3; ggml/src/ggml-quants.c dequantize_row_q*_K (llama.cpp 01243c58).
 *
 * Each value is formed in f32 exactly as ggml writes it (F = Math.fround per C operation),
 * e.g. Q4_K: d1 = d·sc; m1 = dmin·m; x = d1·q − m1. Builds that contract d1·q − m1 into an
 * FMA can differ by 1 ulp; ggml-base is built without FMA contraction.
 */
import { readF16 } from "./f16.js";

const F = Math.fround;
export const QK_K = 256;

// Block layouts (bytes). ref: ggml-common.h block_q2_K .. block_q8_K.
export const Q2_K_BYTES = 16 + 64 + 2 + 2; //  scales[16] (lo nibble scale, hi nibble min) | qs[64] | d | dmin
export const Q3_K_BYTES = 32 + 64 + 12 + 2; // hmask[32] | qs[64] | scales[12] (6-bit, packed) | d
export const Q4_K_BYTES = 2 + 2 + 12 + 128; // d | dmin | scales[12] (6-bit sc+m, packed) | qs[128]
export const Q5_K_BYTES = 2 + 2 + 12 + 32 + 128; // d | dmin | scales[12] | qh[32] | qs[128]
export const Q6_K_BYTES = 128 + 64 + 16 + 2; // ql[128] | qh[64] | scales[16] int8 | d
export const Q8_K_BYTES = 4 + 256 + 16 * 2; // d f32 | qs[256] int8 | bsums[16] int16

/**
 * get_scale_min_k4: 6-bit (scale, min) pair j (0..7) of Q4_K/Q5_K from scales[12] at q[o..].
 * Bytes 0-3: scale j (low 6 bits) | top 2 bits of scale j+4. Bytes 4-7: min j | top 2 bits of
 * min j+4. Bytes 8-11: low nibble = low 4 bits of scale j+4, high nibble = low 4 bits of min j+4.
 * Returns sc | (m << 8).
 */
export function getScaleMinK4(j: number, q: Uint8Array, o: number): number {
  if (j < 4) return (q[o + j]! & 63) | ((q[o + j + 4]! & 63) << 8);
  const sc = (q[o + j + 4]! & 0x0f) | ((q[o + j - 4]! >>> 6) << 4);
  const m = (q[o + j + 4]! >>> 4) | ((q[o + j]! >>> 6) << 4);
  return sc | (m << 8);
}

/**
 * Signed 6-bit sub-block scale j (0..15) of Q3_K, minus 32, from scales[12] at q[o..].
 * Low 4 bits: j < 8 ? low nibble of byte j : high nibble of byte j-8.
 * High 2 bits: bits 2·⌊j/4⌋.. of byte 8 + j%4.
 */
export function q3kScale(j: number, q: Uint8Array, o: number): number {
  const lo4 = j < 8 ? q[o + j]! & 0x0f : q[o + j - 8]! >>> 4;
  const hi2 = (q[o + 8 + (j & 3)]! >>> (2 * (j >>> 2))) & 3;
  return (lo4 | (hi2 << 4)) - 32;
}

export function dequantizeRowQ2_K(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK_K; b++, o += Q2_K_BYTES, y += QK_K) {
    const d = readF16(src, o + 80);
    const min = readF16(src, o + 82);
    // element e = 128h + 32j + l uses 2 bits (2j) of qs[32h + l] and scales[e >> 4]
    for (let e = 0; e < QK_K; e++) {
      const sc = src[o + (e >>> 4)]!;
      const dl = F(d * (sc & 0xf));
      const ml = F(min * (sc >>> 4));
      const q = (src[o + 16 + 32 * (e >>> 7) + (e & 31)]! >>> (2 * ((e >>> 5) & 3))) & 3;
      dst[y + e] = F(F(dl * q) - ml);
    }
  }
}

export function dequantizeRowQ3_K(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK_K; b++, o += Q3_K_BYTES, y += QK_K) {
    const dAll = readF16(src, o + 108);
    for (let is = 0; is < 16; is++) {
      const dl = F(dAll * q3kScale(is, src, o + 96));
      for (let k = 0; k < 16; k++) {
        const e = 16 * is + k; // = 128h + 32j + l
        const h = e >>> 7;
        const j = (e >>> 5) & 3;
        const l = e & 31;
        const q2 = (src[o + 32 + 32 * h + l]! >>> (2 * j)) & 3;
        const hb = src[o + l]! & (1 << (4 * h + j)); // hmask bit set: q in 0..3, clear: q - 4
        dst[y + e] = F(dl * (q2 - (hb !== 0 ? 0 : 4)));
      }
    }
  }
}

export function dequantizeRowQ4_K(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK_K; b++, o += Q4_K_BYTES, y += QK_K) {
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, o + 4);
      const sm2 = getScaleMinK4(2 * c + 1, src, o + 4);
      const d1 = F(d * (sm1 & 0xff));
      const m1 = F(min * (sm1 >>> 8));
      const d2 = F(d * (sm2 & 0xff));
      const m2 = F(min * (sm2 >>> 8));
      const q = o + 16 + 32 * c;
      const yc = y + 64 * c;
      for (let l = 0; l < 32; l++) {
        dst[yc + l] = F(F(d1 * (src[q + l]! & 0xf)) - m1);
        dst[yc + 32 + l] = F(F(d2 * (src[q + l]! >>> 4)) - m2);
      }
    }
  }
}

export function dequantizeRowQ5_K(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK_K; b++, o += Q5_K_BYTES, y += QK_K) {
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, o + 4);
      const sm2 = getScaleMinK4(2 * c + 1, src, o + 4);
      const d1 = F(d * (sm1 & 0xff));
      const m1 = F(min * (sm1 >>> 8));
      const d2 = F(d * (sm2 & 0xff));
      const m2 = F(min * (sm2 >>> 8));
      const u1 = 1 << (2 * c); // qh bit of the low-nibble half of chunk c
      const u2 = 2 << (2 * c); // ... of the high-nibble half
      const q = o + 48 + 32 * c;
      const yc = y + 64 * c;
      for (let l = 0; l < 32; l++) {
        const qh = src[o + 16 + l]!;
        dst[yc + l] = F(F(d1 * ((src[q + l]! & 0xf) + (qh & u1 ? 16 : 0))) - m1);
        dst[yc + 32 + l] = F(F(d2 * ((src[q + l]! >>> 4) + (qh & u2 ? 16 : 0))) - m2);
      }
    }
  }
}

export function dequantizeRowQ6_K(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK_K; b++, o += Q6_K_BYTES, y += QK_K) {
    const d = readF16(src, o + 208);
    for (let h = 0; h < 2; h++) {
      const L = o + 64 * h; // ql
      const H = o + 128 + 32 * h; // qh
      const S = o + 192 + 8 * h; // int8 scales
      const yh = y + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >>> 4;
        const hb = src[H + l]!;
        const q1 = ((src[L + l]! & 0xf) | ((hb & 3) << 4)) - 32;
        const q2 = ((src[L + l + 32]! & 0xf) | (((hb >>> 2) & 3) << 4)) - 32;
        const q3 = ((src[L + l]! >>> 4) | (((hb >>> 4) & 3) << 4)) - 32;
        const q4 = ((src[L + l + 32]! >>> 4) | (((hb >>> 6) & 3) << 4)) - 32;
        // d * sc[is] * q, left to right: (d·sc) rounded, then ·q rounded
        dst[yh + l] = F(F(d * ((src[S + is]! << 24) >> 24)) * q1);
        dst[yh + l + 32] = F(F(d * ((src[S + is + 2]! << 24) >> 24)) * q2);
        dst[yh + l + 64] = F(F(d * ((src[S + is + 4]! << 24) >> 24)) * q3);
        dst[yh + l + 96] = F(F(d * ((src[S + is + 6]! << 24) >> 24)) * q4);
      }
    }
  }
}

/** Q8_K is an activation type; x = d·qs with d stored as f32. */
export function dequantizeRowQ8_K(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  const dv = new DataView(src.buffer, src.byteOffset);
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK_K; b++, o += Q8_K_BYTES, y += QK_K) {
    const d = dv.getFloat32(o, true);
    for (let j = 0; j < QK_K; j++) dst[y + j] = F(d * ((src[o + 4 + j]! << 24) >> 24));
  }
}

/**
 * The 32-element "legacy" block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: dequantizers and
 * ggml's reference quantizers (quantize_row_*_ref: what llama-quantize writes without an
 * imatrix). ref: docs/gguf.md §3; ggml/src/ggml-quants.c (llama.cpp 01243c58).
 *
 * Nibble order: the low nibbles of qs[0..15] hold elements 0..15, the high nibbles 16..31.
 * Q5 types keep the 5th bit of element j in bit j of the u32 qh (j = 0..31).
 *
 * f32 emulation: every C float operation is a Math.fround of the f64 result (F below). That is
 * exact emulation: binary64 has more than 2·24+2 bits, so rounding twice gives the same binary32
 * as one IEEE f32 operation for +, -, *, /, sqrt. The activation-side Q8_0/Q8_1 quantizers
 * (x86 flavour, used before a matmul) live in activation.ts.
 */
import { readF16, roundf, writeF16 } from "./f16.js";

const F = Math.fround;
const QK = 32;
const FLT_MAX = 3.4028234663852886e38;

// Block layouts (bytes). ref: ggml-common.h block_q4_0 .. block_q8_1.
export const Q4_0_BYTES = 2 + 16; // d f16 | qs[16]
export const Q4_1_BYTES = 2 + 2 + 16; // d f16 | m f16 | qs[16]
export const Q5_0_BYTES = 2 + 4 + 16; // d f16 | qh u32 | qs[16]
export const Q5_1_BYTES = 2 + 2 + 4 + 16; // d f16 | m f16 | qh u32 | qs[16]
export const Q8_0_BYTES = 2 + 32; // d f16 | qs[32] int8
export const Q8_1_BYTES = 2 + 2 + 32; // d f16 | s f16 | qs[32] int8

function readU32(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

function writeU32(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
  dst[o + 2] = (v >>> 16) & 0xff;
  dst[o + 3] = (v >>> 24) & 0xff;
}

// ------------------------------------------------------------------------------ dequantization

export function dequantizeRowQ4_0(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK; b++, o += Q4_0_BYTES, y += QK) {
    const d = readF16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      dst[y + j] = F(((q & 0xf) - 8) * d);
      dst[y + j + 16] = F(((q >>> 4) - 8) * d);
    }
  }
}

export function dequantizeRowQ4_1(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK; b++, o += Q4_1_BYTES, y += QK) {
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      dst[y + j] = F(F((q & 0xf) * d) + m);
      dst[y + j + 16] = F(F((q >>> 4) * d) + m);
    }
  }
}

export function dequantizeRowQ5_0(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK; b++, o += Q5_0_BYTES, y += QK) {
    const d = readF16(src, o);
    const qh = readU32(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      const x0 = ((q & 0xf) | (((qh >>> j) & 1) << 4)) - 16;
      const x1 = ((q >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
      dst[y + j] = F(x0 * d);
      dst[y + j + 16] = F(x1 * d);
    }
  }
}

export function dequantizeRowQ5_1(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK; b++, o += Q5_1_BYTES, y += QK) {
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = readU32(src, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      const x0 = (q & 0xf) | (((qh >>> j) & 1) << 4);
      const x1 = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
      dst[y + j] = F(F(x0 * d) + m);
      dst[y + j + 16] = F(F(x1 * d) + m);
    }
  }
}

export function dequantizeRowQ8_0(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK; b++, o += Q8_0_BYTES, y += QK) {
    const d = readF16(src, o);
    for (let j = 0; j < QK; j++) dst[y + j] = F(((src[o + 2 + j]! << 24) >> 24) * d);
  }
}

/** Q8_1 is an activation type; its dequantization ignores s (x = qs·d). */
export function dequantizeRowQ8_1(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / QK; b++, o += Q8_1_BYTES, y += QK) {
    const d = readF16(src, o);
    for (let j = 0; j < QK; j++) dst[y + j] = F(((src[o + 4 + j]! << 24) >> 24) * d);
  }
}

// ------------------------------------------------------------------ reference quantizers (_ref)

/** Signed value of largest magnitude in x[s..s+QK) (the first one on ties), as ggml's loops pick it. */
function signedAbsMax(x: Float32Array, s: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = x[s + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** quantize_row_q4_0_ref: d = max/-8 (max = signed abs-max), q = min(15, trunc(x/d + 8.5)). */
export function quantizeRowQ4_0(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q4_0_BYTES) {
    const d = F(signedAbsMax(src, s) / -8);
    const id = d !== 0 ? F(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      // (int8_t)(x0 + 8.5f) truncates toward zero; the sum lies in about [0.5, 16.5].
      const xi0 = Math.min(15, Math.trunc(F(F(src[s + j]! * id) + 8.5)));
      const xi1 = Math.min(15, Math.trunc(F(F(src[s + 16 + j]! * id) + 8.5)));
      dst[o + 2 + j] = xi0 | (xi1 << 4);
    }
  }
}

/** quantize_row_q4_1_ref: d = (max-min)/15, m = min, q = min(15, trunc((x-min)/d + 0.5)). */
export function quantizeRowQ4_1(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q4_1_BYTES) {
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK; j++) {
      const v = src[s + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = F(F(max - min) / 15);
    const id = d !== 0 ? F(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(15, Math.trunc(F(F(F(src[s + j]! - min) * id) + 0.5)));
      const xi1 = Math.min(15, Math.trunc(F(F(F(src[s + 16 + j]! - min) * id) + 0.5)));
      dst[o + 4 + j] = xi0 | (xi1 << 4);
    }
  }
}

/** quantize_row_q5_0_ref: d = max/-16, q = min(31, trunc(x/d + 16.5)), bit 4 of q_j -> qh bit j. */
export function quantizeRowQ5_0(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q5_0_BYTES) {
    const d = F(signedAbsMax(src, s) / -16);
    const id = d !== 0 ? F(1 / d) : 0;
    writeF16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(31, Math.trunc(F(F(src[s + j]! * id) + 16.5)));
      const xi1 = Math.min(31, Math.trunc(F(F(src[s + 16 + j]! * id) + 16.5)));
      dst[o + 6 + j] = (xi0 & 0xf) | ((xi1 & 0xf) << 4);
      qh |= ((xi0 >>> 4) & 1) << j;
      qh |= ((xi1 >>> 4) & 1) << (j + 16);
    }
    writeU32(dst, o + 2, qh);
  }
}

/** quantize_row_q5_1_ref: d = (max-min)/31, m = min, q = trunc((x-min)/d + 0.5) (no clamp in ggml). */
export function quantizeRowQ5_1(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q5_1_BYTES) {
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK; j++) {
      const v = src[s + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = F(F(max - min) / 31);
    const id = d !== 0 ? F(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.trunc(F(F(F(src[s + j]! - min) * id) + 0.5)) & 0xff;
      const xi1 = Math.trunc(F(F(F(src[s + 16 + j]! - min) * id) + 0.5)) & 0xff;
      dst[o + 8 + j] = (xi0 & 0xf) | ((xi1 & 0xf) << 4);
      qh |= ((xi0 >>> 4) & 1) << j;
      qh |= ((xi1 >>> 4) & 1) << (j + 16);
    }
    writeU32(dst, o + 4, qh);
  }
}

/**
 * quantize_row_q8_0_ref (what llama-quantize writes for Q8_0 weights): d = amax/127,
 * id = 1/d, q = roundf(x·id) (half away from zero). Not the x86 activation flavour.
 */
export function quantizeRowQ8_0Ref(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q8_0_BYTES) {
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const v = Math.abs(src[s + j]!);
      amax = amax > v ? amax : v; // MAX(amax, fabsf(v))
    }
    const d = F(amax / 127);
    const id = d !== 0 ? F(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundf(F(src[s + j]! * id)) & 0xff;
  }
}

/** quantize_row_q8_1_ref: as Q8_0 ref, plus s = fp16(Σq · d) with the unrounded f32 d. */
export function quantizeRowQ8_1Ref(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK; b++, s += QK, o += Q8_1_BYTES) {
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const v = Math.abs(src[s + j]!);
      amax = amax > v ? amax : v;
    }
    const d = F(amax / 127);
    const id = d !== 0 ? F(1 / d) : 0;
    writeF16(dst, o, d);
    let sum = 0;
    for (let j = 0; j < QK; j++) {
      const q = roundf(F(src[s + j]! * id));
      dst[o + 4 + j] = q & 0xff;
      sum += q;
    }
    writeF16(dst, o + 2, F(sum * d));
  }
}

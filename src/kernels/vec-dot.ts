/**
 * Reference dot products: one weight row (native ggml format) · one activation row already
 * converted to the weight's vec_dot_type (src/quant/activation.ts). Scalar TypeScript; this is
 * the oracle the WASM SIMD kernels are tested against. ref: spec gguf.md §7.5.
 *
 * ACCUMULATION ORDER (a SIMD twin must reproduce this to ~1e-7 relative):
 *   block types: acc = 0 (f64); for each block b in row order:
 *                  isum_b = exact integer Σ qw·qa over the block (JS integers; never rounded)
 *                  acc += fround(dw_b·da_b) · isum_b   (f32 scale; the f64 product is exact,
 *                                                      since 24-bit scale × |isum| < 2^29)
 *                  then, for types with a min/offset term, the second term of the block:
 *                    Q4_1/Q5_1:      acc += fround(mw_b·s_b)
 *                    Q2_K/Q4_K/Q5_K: acc -= fround(da_b·dmin_b) · msum_b  (msum exact integer)
 *                result = fround(acc)
 *   F32:  acc += fround(w_i·x_i) for i in order, f64 acc, fround at the end.
 *   F16/BF16: acc += w_i·x_i (both values widened; the product is exact), f64 acc, fround.
 * For K-quants isum_b is itself Σ over sub-blocks of (integer sub-block scale · integer sum),
 * still exact. ggml's SIMD kernels accumulate in f32 lanes (often with FMA) instead; both agree
 * with each other to ~1e-7 relative on real rows, which is what parity needs (spec §7.5).
 */
import { bf16ToF32, fp16Table32 } from "../quant/f16.js";
import { KVALUES_IQ4NL as K } from "../quant/iq4.js";
import { Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q8_0_BYTES, Q8_1_BYTES } from "../quant/legacy.js";

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

// ------------------------------------------------------------------------------ float types

export function vecDotF32(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const x = f32Row(w, wo, n);
  const y = f32Row(a, ao, n);
  let acc = 0;
  for (let i = 0; i < n; i++) acc += F(x[i]! * y[i]!);
  return F(acc);
}

export function vecDotF16(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const k = 2 * i;
    acc += t[w[wo + k]! | (w[wo + k + 1]! << 8)]! * t[a[ao + k]! | (a[ao + k + 1]! << 8)]!;
  }
  return F(acc);
}

export function vecDotBF16(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const k = 2 * i;
    acc += bf16ToF32(w[wo + k]! | (w[wo + k + 1]! << 8)) * bf16ToF32(a[ao + k]! | (a[ao + k + 1]! << 8));
  }
  return F(acc);
}

// ------------------------------------------------------------------- 32-element block types

/** Q4_0 · Q8_0: inner Σ (q4 − 8)·q8. */
export function vecDotQ4_0Q8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q4_0_BYTES, ao += Q8_0_BYTES) {
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      isum += ((q & 0xf) - 8) * i8(a[ao + 2 + j]!) + ((q >>> 4) - 8) * i8(a[ao + 18 + j]!);
    }
    const dw = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const da = t[a[ao]! | (a[ao + 1]! << 8)]!;
    acc += F(dw * da) * isum;
  }
  return F(acc);
}

/** Q4_1 · Q8_1: Σ_b [ (dw·da)·Σ q4·q8 + mw·s ]. */
export function vecDotQ4_1Q8_1(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q4_1_BYTES, ao += Q8_1_BYTES) {
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 4 + j]!;
      isum += (q & 0xf) * i8(a[ao + 4 + j]!) + (q >>> 4) * i8(a[ao + 20 + j]!);
    }
    const dw = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const mw = t[w[wo + 2]! | (w[wo + 3]! << 8)]!;
    const da = t[a[ao]! | (a[ao + 1]! << 8)]!;
    const sa = t[a[ao + 2]! | (a[ao + 3]! << 8)]!;
    acc += F(dw * da) * isum;
    acc += F(mw * sa);
  }
  return F(acc);
}

/** Q5_0 · Q8_0: inner Σ (q5 − 16)·q8, q5 = nibble | qh bit j << 4. */
export function vecDotQ5_0Q8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q5_0_BYTES, ao += Q8_0_BYTES) {
    const qh = u32le(w, wo + 2);
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 6 + j]!;
      const x0 = ((q & 0xf) | (((qh >>> j) & 1) << 4)) - 16;
      const x1 = ((q >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
      isum += x0 * i8(a[ao + 2 + j]!) + x1 * i8(a[ao + 18 + j]!);
    }
    const dw = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const da = t[a[ao]! | (a[ao + 1]! << 8)]!;
    acc += F(dw * da) * isum;
  }
  return F(acc);
}

/** Q5_1 · Q8_1: as Q4_1 with 5-bit levels. */
export function vecDotQ5_1Q8_1(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q5_1_BYTES, ao += Q8_1_BYTES) {
    const qh = u32le(w, wo + 4);
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 8 + j]!;
      const x0 = (q & 0xf) | (((qh >>> j) & 1) << 4);
      const x1 = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
      isum += x0 * i8(a[ao + 4 + j]!) + x1 * i8(a[ao + 20 + j]!);
    }
    const dw = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const mw = t[w[wo + 2]! | (w[wo + 3]! << 8)]!;
    const da = t[a[ao]! | (a[ao + 1]! << 8)]!;
    const sa = t[a[ao + 2]! | (a[ao + 3]! << 8)]!;
    acc += F(dw * da) * isum;
    acc += F(mw * sa);
  }
  return F(acc);
}

/** Q8_0 · Q8_0. */
export function vecDotQ8_0Q8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += Q8_0_BYTES, ao += Q8_0_BYTES) {
    let isum = 0;
    for (let j = 2; j < 34; j++) isum += i8(w[wo + j]!) * i8(a[ao + j]!);
    const dw = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const da = t[a[ao]! | (a[ao + 1]! << 8)]!;
    acc += F(dw * da) * isum;
  }
  return F(acc);
}

/** IQ4_NL · Q8_0: inner Σ K[q]·q8. */
export function vecDotIQ4_NLQ8_0(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 32; b++, wo += 18, ao += Q8_0_BYTES) {
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[wo + 2 + j]!;
      isum += K[q & 0xf]! * i8(a[ao + 2 + j]!) + K[q >>> 4]! * i8(a[ao + 18 + j]!);
    }
    const dw = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const da = t[a[ao]! | (a[ao + 1]! << 8)]!;
    acc += F(dw * da) * isum;
  }
  return F(acc);
}

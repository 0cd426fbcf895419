/**
 * Non-linear 4-bit types IQ4_NL (32-element blocks) and IQ4_XS (256-element super-blocks of
 * 8 × 32): the 16 levels are the fixed int8 table kvalues_iq4nl, scaled per block.
 * ref: docs/gguf.md §3; ggml/src/ggml-quants.c dequantize_row_iq4_{nl,xs},
 * quantize_row_iq4_nl_impl, quantize_iq4_nl, quantize_iq4_xs (llama.cpp 01243c58).
 *
 * Quantizers reproduce quantize_iq4_nl / quantize_iq4_xs with quant_weights = NULL, i.e. what
 * llama-quantize writes without an imatrix: weights x², ntry = 7 (a scan of 15 inverse scales).
 * Note quantize_row_iq4_nl_ref in current ggml passes ntry = -1 (no scan) and is *not* what
 * llama-quantize runs; we follow llama-quantize.
 */
import { f32ToFp16, nearestInt, readF16 } from "./f16.js";

const F = Math.fround;
const GROUP_MAX_EPS = F(1e-15);

/** kvalues_iq4nl (ggml-common.h). Sorted ascending, which best_index_int8 relies on. */
export const KVALUES_IQ4NL: Int8Array = Int8Array.from([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);
const K = KVALUES_IQ4NL;

export const IQ4_NL_BYTES = 2 + 16; // d f16 | qs[16]
export const IQ4_XS_BYTES = 2 + 2 + 4 + 128; // d f16 | scales_h u16 | scales_l[4] | qs[128]

export function dequantizeRowIQ4_NL(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / 32; b++, o += IQ4_NL_BYTES, y += 32) {
    const d = readF16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      dst[y + j] = F(d * K[q & 0xf]!);
      dst[y + j + 16] = F(d * K[q >>> 4]!);
    }
  }
}

/**
 * IQ4_XS sub-block ib (0..7) has a 6-bit scale ls = low 4 bits from nibble ib%2 of
 * scales_l[ib/2] | high 2 bits from bits 2ib of scales_h; its factor is d·(ls − 32).
 */
export function dequantizeRowIQ4_XS(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let b = 0, o = srcByteOffset, y = dstOffset; b < n / 256; b++, o += IQ4_XS_BYTES, y += 256) {
    const d = readF16(src, o);
    const scalesH = src[o + 2]! | (src[o + 3]! << 8);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((src[o + 4 + (ib >> 1)]! >>> (4 * (ib & 1))) & 0xf) | (((scalesH >>> (2 * ib)) & 3) << 4);
      const dl = F(d * (ls - 32));
      const q = o + 8 + 16 * ib;
      const yb = y + 32 * ib;
      for (let j = 0; j < 16; j++) {
        dst[yb + j] = F(dl * K[src[q + j]! & 0xf]!);
        dst[yb + j + 16] = F(dl * K[src[q + j]! >>> 4]!);
      }
    }
  }
}

/**
 * best_index_int8(16, K, x): index of the nearest level, ties to the upper one. Branch-free
 * binary search comparing 2x against the exact integer midpoint sums K[j-1] + K[j], as current
 * ggml does (older ggml compared x − K[i] in f32; the two agree except on rounding-edge inputs).
 */
export function bestIndexIQ4NL(x: number): number {
  const x2 = F(x + x);
  let idx = 0;
  for (let step = 8; step > 0; step >>= 1) {
    const j = idx + step;
    if (x2 >= K[j - 1]! + K[j]!) idx = j;
  }
  return idx;
}

const NTRY = 7;
const weightBuf = new Float32Array(32);

/**
 * Per-32-block part of quantize_row_iq4_nl_impl (weights x², ntry = 7): scale from the signed
 * abs-max, then for itry = -7..7 the inverse scale (itry + K[0])/max, keeping the best weighted
 * least-squares scale. Writes provisional levels to L[lo..lo+32) and returns the scale.
 */
function iq4BlockScale(x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  const w = weightBuf;
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    w[j] = F(v * v);
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + 32);
    return 0;
  }
  let d = F(-max / K[0]!); // ntry > 0 branch
  let id = F(1 / d);
  let sumqx = 0;
  let sumq2 = 0;
  for (let j = 0; j < 32; j++) {
    const l = bestIndexIQ4NL(F(id * x[xo + j]!));
    L[lo + j] = l;
    const wq = F(w[j]! * K[l]!);
    sumqx = F(sumqx + F(wq * x[xo + j]!));
    sumq2 = F(sumq2 + F(wq * K[l]!));
  }
  d = sumq2 > 0 ? F(sumqx / sumq2) : 0;
  let best = F(d * sumqx);
  for (let itry = -NTRY; itry <= NTRY; itry++) {
    id = F((itry + K[0]!) / max);
    sumqx = 0;
    sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const l = bestIndexIQ4NL(F(id * x[xo + j]!));
      const wq = F(w[j]! * K[l]!);
      sumqx = F(sumqx + F(wq * x[xo + j]!));
      sumq2 = F(sumq2 + F(wq * K[l]!));
    }
    if (sumq2 > 0 && F(sumqx * sumqx) > F(best * sumq2)) {
      d = F(sumqx / sumq2);
      best = F(d * sumqx);
    }
  }
  return d;
}

const Lbuf = new Uint8Array(256);
const scalesBuf = new Float32Array(8);

/** quantize_iq4_nl (no imatrix): one scale per 32, stored as fp16; levels re-picked with 1/scale. */
export function quantizeRowIQ4_NL(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / 32; b++, s += 32, o += IQ4_NL_BYTES) {
    const scale = iq4BlockScale(src, s, L, 0);
    const h = f32ToFp16(scale);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    const id = scale !== 0 ? F(1 / scale) : 0; // the unrounded f32 scale, as ggml does
    for (let j = 0; j < 32; j++) L[j] = bestIndexIQ4NL(F(id * src[s + j]!));
    for (let j = 0; j < 16; j++) dst[o + 2 + j] = L[j]! | (L[j + 16]! << 4);
  }
}

/**
 * quantize_iq4_xs (no imatrix): per-32 scales as IQ4_NL, then a super-block d = −max_scale/32
 * (max_scale = the signed scale of largest magnitude), 6-bit sub-block scales l + 32, and levels
 * re-picked with 1/(d·l).
 */
export function quantizeRowIQ4_XS(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf,
    scales = scalesBuf;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / 256; b++, s += 256, o += IQ4_XS_BYTES) {
    let maxScale = 0;
    let amaxScale = 0;
    for (let ib = 0; ib < 8; ib++) {
      const d = iq4BlockScale(src, s + 32 * ib, L, 32 * ib);
      scales[ib] = d;
      if (Math.abs(d) > amaxScale) {
        amaxScale = Math.abs(d);
        maxScale = d;
      }
    }
    const d = F(-maxScale / 32); // -0 when every block is zero: stored as fp16 0x8000, like ggml
    const h = f32ToFp16(d);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    const id = d !== 0 ? F(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < 8; ib++) {
      let l = nearestInt(F(id * scales[ib]!));
      l = Math.max(-32, Math.min(31, l));
      const dl = F(d * l);
      const idl = dl !== 0 ? F(1 / dl) : 0;
      for (let j = 0; j < 32; j++) L[32 * ib + j] = bestIndexIQ4NL(F(idl * src[s + 32 * ib + j]!));
      l += 32;
      if ((ib & 1) === 0) dst[o + 4 + (ib >> 1)] = l & 0xf;
      else dst[o + 4 + (ib >> 1)] = dst[o + 4 + (ib >> 1)]! | ((l & 0xf) << 4);
      scalesH |= (l >> 4) << (2 * ib);
    }
    dst[o + 2] = scalesH & 0xff;
    dst[o + 3] = scalesH >>> 8;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 16; j++) dst[o + 8 + 16 * i + j] = L[32 * i + j]! | (L[32 * i + 16 + j]! << 4);
    }
  }
}

/**
 * Reference quantizers for Q2_K, Q3_K, Q4_K, Q5_K and Q6_K: ggml's quantize_row_q*_K_ref,
 * which is what quantize_q*_K (and so llama-quantize) runs when no imatrix is given.
 * ref: ggml/src/ggml-quants.c make_qx_quants, make_q3_quants, make_qkx2_quants,
 * quantize_row_q{2,3,4,5,6}_K_ref (llama.cpp 01243c58). Q8_K is in activation.ts.
 *
 * Written to reproduce ggml's bytes (verified byte-for-byte against the libggml-base that
 * node-llama-cpp ships): f32 emulation rules as in k-quants-search.ts, which holds the searches.
 */
import { f32ToFp16, fp16ToF32, nearestInt } from "./f16.js";
import { lastQkxMin, makeQ3Quants, makeQkx2Quants, makeQxQuants } from "./k-quants-search.js";
import { getScaleMinK4, Q2_K_BYTES, Q3_K_BYTES, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, QK_K, q3kScale } from "./k-quants.js";

const F = Math.fround;
const GROUP_MAX_EPS = F(1e-15);

function putF16(dst: Uint8Array, o: number, h: number): void {
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
}

// ------------------------------------------------------------------------------- quantizers

const Lbuf = new Uint8Array(QK_K);
const weightsBuf = new Float32Array(32);
const scalesBuf = new Float32Array(QK_K / 16);
const minsBuf = new Float32Array(QK_K / 16);

/** Pack 2-bit levels: qs[32h + l] holds L[128h + l + 32k] in bits 2k (Q2_K and Q3_K). */
function pack2bit(L: Uint8Array, dst: Uint8Array, qs: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      dst[qs + j / 4 + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
    }
  }
}

/** quantize_row_q2_K_ref: 16 sub-blocks of 16, 4-bit scale and min per sub-block (mad fit). */
export function quantizeRowQ2_K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf,
    weights = weightsBuf,
    scales = scalesBuf,
    mins = minsBuf;
  const q4scale = 15;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK_K; b++, s += QK_K, o += Q2_K_BYTES) {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(src[s + 16 * j + l]!);
      scales[j] = makeQkx2Quants(16, 3, src, s + 16 * j, weights, L, 16 * j, -0.5, F(0.1), 15, true);
      mins[j] = lastQkxMin();
      if (scales[j]! > maxScale) maxScale = scales[j]!;
      if (mins[j]! > maxMin) maxMin = mins[j]!;
    }
    if (maxScale > 0) {
      const iscale = F(q4scale / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(F(iscale * scales[j]!)) & 0xff;
      putF16(dst, o + 80, f32ToFp16(F(maxScale / q4scale)));
    } else {
      dst.fill(0, o, o + 16);
      putF16(dst, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = F(q4scale / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] = (dst[o + j]! | (nearestInt(F(iscale * mins[j]!)) << 4)) & 0xff;
      putF16(dst, o + 82, f32ToFp16(F(maxMin / q4scale)));
    } else {
      putF16(dst, o + 82, 0);
    }
    const dAll = fp16ToF32(dst[o + 80]! | (dst[o + 81]! << 8));
    const mAll = fp16ToF32(dst[o + 82]! | (dst[o + 83]! << 8));
    for (let j = 0; j < 16; j++) {
      const d = F(dAll * (dst[o + j]! & 0xf));
      if (d === 0) continue;
      const dm = F(mAll * (dst[o + j]! >>> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(F(F(src[s + 16 * j + ii]! + dm) / d));
        L[16 * j + ii] = Math.max(0, Math.min(3, l));
      }
    }
    pack2bit(L, dst, o + 16);
  }
}

/** quantize_row_q3_K_ref: 16 sub-blocks of 16, signed 6-bit scales, 3-bit signed levels. */
export function quantizeRowQ3_K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf,
    scales = scalesBuf;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK_K; b++, s += QK_K, o += Q3_K_BYTES) {
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(src, s + 16 * j, L, 16 * j);
      const scale = Math.abs(scales[j]!);
      if (scale > amax) {
        amax = scale;
        maxScale = scales[j]!;
      }
    }
    const sc = o + 96;
    dst.fill(0, sc, sc + 12);
    if (maxScale !== 0) {
      const iscale = F(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        let l = (nearestInt(F(iscale * scales[j]!)) << 24) >> 24; // int8_t l = nearest_int(...)
        l = Math.max(-32, Math.min(31, l)) + 32;
        if (j < 8) dst[sc + j] = l & 0xf;
        else dst[sc + j - 8] = dst[sc + j - 8]! | ((l & 0xf) << 4);
        l >>= 4;
        dst[sc + 8 + (j % 4)] = dst[sc + 8 + (j % 4)]! | (l << (2 * (j >> 2)));
      }
      putF16(dst, o + 108, f32ToFp16(F(1 / iscale)));
    } else {
      putF16(dst, o + 108, 0);
    }
    const dAll = fp16ToF32(dst[o + 108]! | (dst[o + 109]! << 8));
    for (let j = 0; j < 16; j++) {
      const d = F(dAll * q3kScale(j, dst, sc));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(F(src[s + 16 * j + ii]! / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    // High bit (level > 3) of element j goes to hmask[j % 32], bit ⌊j / 32⌋.
    dst.fill(0, o, o + 32);
    for (let j = 0; j < QK_K; j++) {
      if (L[j]! > 3) {
        dst[o + (j & 31)] = dst[o + (j & 31)]! | (1 << (j >>> 5));
        L[j] = L[j]! - 4;
      }
    }
    pack2bit(L, dst, o + 32);
  }
}

/**
 * Shared body of quantize_row_q4_K_ref / q5_K_ref: 8 sub-blocks of 32 with weights
 * av_x + |x|, make_qkx2_quants(nmax), 6-bit scales and mins packed as get_scale_min_k4 reads
 * them, then a requantization pass with the rounded scales. Levels are left in Lbuf.
 */
function quantizeSuperQ45K(src: Float32Array, s: number, dst: Uint8Array, o: number, nmax: number, rmin: number, nstep: number): void {
  const L = Lbuf,
    weights = weightsBuf,
    scales = scalesBuf,
    mins = minsBuf;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = F(sumX2 + F(src[s + 32 * j + l]! * src[s + 32 * j + l]!));
    const avX = F(Math.sqrt(F(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = F(avX + Math.abs(src[s + 32 * j + l]!));
    scales[j] = makeQkx2Quants(32, nmax, src, s + 32 * j, weights, L, 32 * j, rmin, F(0.1), nstep, false);
    mins[j] = lastQkxMin();
    if (scales[j]! > maxScale) maxScale = scales[j]!;
    if (mins[j]! > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? F(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? F(63 / maxMin) : 0;
  const sc = o + 4;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(F(invScale * scales[j]!)) & 0xff); // uint8_t, then MIN(63, .)
    const lm = Math.min(63, nearestInt(F(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      dst[sc + j] = ls;
      dst[sc + j + 4] = lm;
    } else {
      dst[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      dst[sc + j - 4] = dst[sc + j - 4]! | ((ls >> 4) << 6);
      dst[sc + j] = dst[sc + j]! | ((lm >> 4) << 6);
    }
  }
  putF16(dst, o, f32ToFp16(F(maxScale / 63)));
  putF16(dst, o + 2, f32ToFp16(F(maxMin / 63)));
  const dAll = fp16ToF32(dst[o]! | (dst[o + 1]! << 8));
  const mAll = fp16ToF32(dst[o + 2]! | (dst[o + 3]! << 8));
  for (let j = 0; j < 8; j++) {
    const sm = getScaleMinK4(j, dst, sc);
    const d = F(dAll * (sm & 0xff));
    if (d === 0) continue;
    const dm = F(mAll * (sm >>> 8));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(F(F(src[s + 32 * j + ii]! + dm) / d));
      L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

/** quantize_row_q4_K_ref. qs[32c + l] = L[64c + l] | L[64c + 32 + l] << 4. */
export function quantizeRowQ4_K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK_K; b++, s += QK_K, o += Q4_K_BYTES) {
    quantizeSuperQ45K(src, s, dst, o, 15, -1, 20);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = L[64 * c + l]! | (L[64 * c + 32 + l]! << 4);
    }
  }
}

/** quantize_row_q5_K_ref. As Q4_K, and bit 4 of L[64c + l] / L[64c + 32 + l] -> qh[l] bit 2c / 2c+1. */
export function quantizeRowQ5_K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK_K; b++, s += QK_K, o += Q5_K_BYTES) {
    quantizeSuperQ45K(src, s, dst, o, 31, -0.5, 15);
    dst.fill(0, o + 16, o + 48);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        let l1 = L[64 * c + l]!;
        let l2 = L[64 * c + 32 + l]!;
        let h = dst[o + 16 + l]!;
        if (l1 > 15) {
          l1 -= 16;
          h |= 1 << (2 * c);
        }
        if (l2 > 15) {
          l2 -= 16;
          h |= 2 << (2 * c);
        }
        dst[o + 16 + l] = h;
        dst[o + 48 + 32 * c + l] = l1 | (l2 << 4);
      }
    }
  }
}

/** quantize_row_q6_K_ref: 16 sub-blocks of 16 via make_qx_quants(nmax 32), int8 scales, 6-bit levels. */
export function quantizeRowQ6_K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const L = Lbuf,
    scales = scalesBuf;
  for (let b = 0, s = srcOffset, o = dstByteOffset; b < n / QK_K; b++, s += QK_K, o += Q6_K_BYTES) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, src, s + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + Q6_K_BYTES);
      continue;
    }
    const iscale = F(-128 / maxScale);
    putF16(dst, o + 208, f32ToFp16(F(1 / iscale)));
    for (let ib = 0; ib < 16; ib++) dst[o + 192 + ib] = Math.min(127, nearestInt(F(iscale * scales[ib]!))) & 0xff;
    const dAll = fp16ToF32(dst[o + 208]! | (dst[o + 209]! << 8));
    for (let j = 0; j < 16; j++) {
      const d = F(dAll * ((dst[o + 192 + j]! << 24) >> 24));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(F(src[s + 16 * j + ii]! / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const j = 128 * h;
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      for (let l = 0; l < 32; l++) {
        const a = L[j + l]!,
          b2 = L[j + l + 32]!,
          c = L[j + l + 64]!,
          d4 = L[j + l + 96]!;
        dst[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        dst[ql + l + 32] = (b2 & 0xf) | ((d4 & 0xf) << 4);
        dst[qh + l] = (a >> 4) | ((b2 >> 4) << 2) | ((c >> 4) << 4) | ((d4 >> 4) << 6);
      }
    }
  }
}

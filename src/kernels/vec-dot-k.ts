/**
 * Reference dot products of K-quant / IQ4_XS weight rows with a Q8_K activation row.
 * Same accumulation contract as vec-dot.ts (read its header): per super-block an exact integer
 * isum (Σ over sub-blocks of integer scale × integer Σ qw·q8), acc (f64) += fround(da·d)·isum,
 * and for types with mins acc −= fround(da·dmin)·msum with msum = Σ m_sub·(bsums of the
 * sub-block) exact. da is the f32 Q8_K scale; d, dmin are fp16 widened. ref: spec gguf.md §7.5.
 *
 * block_q8_K: d f32 @0 | qs[256] int8 @4 | bsums[16] int16 @260 (Σ of each 16 qs).
 */
import { fp16Table32, f32FromBits } from "../quant/f16.js";
import { KVALUES_IQ4NL as K } from "../quant/iq4.js";
import { getScaleMinK4, Q2_K_BYTES, Q3_K_BYTES, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, Q8_K_BYTES, q3kScale } from "../quant/k-quants.js";

const F = Math.fround;

function i8(b: number): number {
  return (b << 24) >> 24;
}

/** Q8_K d (f32, little-endian, possibly unaligned). */
function q8kD(a: Uint8Array, o: number): number {
  return f32FromBits(a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24));
}

/** Q8_K bsums[g] (int16). */
function bsum(a: Uint8Array, o: number, g: number): number {
  const p = o + 260 + 2 * g;
  return ((a[p]! | (a[p + 1]! << 8)) << 16) >> 16;
}

/** Q2_K: 16 sub-blocks of 16; scale s & 0xF, min s >> 4; element e uses scales[e >> 4]. */
export function vecDotQ2_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += Q2_K_BYTES, ao += Q8_K_BYTES) {
    let isum = 0;
    let msum = 0;
    for (let sb = 0; sb < 16; sb++) {
      const sc = w[wo + sb]!;
      let s = 0;
      for (let k = 0; k < 16; k++) {
        const e = 16 * sb + k; // = 128h + 32j + l
        const q = (w[wo + 16 + 32 * (e >>> 7) + (e & 31)]! >>> (2 * ((e >>> 5) & 3))) & 3;
        s += q * i8(a[ao + 4 + e]!);
      }
      isum += (sc & 0xf) * s;
      msum += (sc >>> 4) * bsum(a, ao, sb);
    }
    const da = q8kD(a, ao);
    const d = t[w[wo + 80]! | (w[wo + 81]! << 8)]!;
    const dmin = t[w[wo + 82]! | (w[wo + 83]! << 8)]!;
    acc += F(da * d) * isum;
    acc -= F(da * dmin) * msum;
  }
  return F(acc);
}

/** Q3_K: 16 sub-blocks of 16 with signed 6-bit scales; q = q2 − (hmask bit ? 0 : 4). */
export function vecDotQ3_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += Q3_K_BYTES, ao += Q8_K_BYTES) {
    let isum = 0;
    for (let sb = 0; sb < 16; sb++) {
      let s = 0;
      for (let k = 0; k < 16; k++) {
        const e = 16 * sb + k;
        const h = e >>> 7;
        const j = (e >>> 5) & 3;
        const l = e & 31;
        const q2 = (w[wo + 32 + 32 * h + l]! >>> (2 * j)) & 3;
        const q = q2 - ((w[wo + l]! & (1 << (4 * h + j))) !== 0 ? 0 : 4);
        s += q * i8(a[ao + 4 + e]!);
      }
      isum += q3kScale(sb, w, wo + 96) * s;
    }
    const da = q8kD(a, ao);
    const d = t[w[wo + 108]! | (w[wo + 109]! << 8)]!;
    acc += F(da * d) * isum;
  }
  return F(acc);
}

let q45Msum = 0; // msum of the last q45Isum call

/**
 * Integer sums of one Q4_K/Q5_K super-block: returns isum = Σ_sb sc_sb·Σ q·q8 and leaves
 * msum = Σ_sb m_sb·(bsums[2sb] + bsums[2sb+1]) in q45Msum. 8 sub-blocks of 32: sub-block sb is
 * the low (even sb) or high (odd sb) nibbles of qs[32·⌊sb/2⌋ ..]; Q5_K adds 16 when bit sb of
 * qh[l] is set. qhOff < 0 means Q4_K.
 */
function q45Isum(w: Uint8Array, wo: number, a: Uint8Array, ao: number, qsOff: number, qhOff: number): number {
  let isum = 0;
  let msum = 0;
  for (let sb = 0; sb < 8; sb++) {
    const sm = getScaleMinK4(sb, w, wo + 4);
    const q0 = wo + qsOff + 32 * (sb >>> 1);
    const shift = 4 * (sb & 1);
    const hbit = 1 << sb;
    let s = 0;
    for (let l = 0; l < 32; l++) {
      let q = (w[q0 + l]! >>> shift) & 0xf;
      if (qhOff >= 0 && (w[wo + qhOff + l]! & hbit) !== 0) q += 16;
      s += q * i8(a[ao + 4 + 32 * sb + l]!);
    }
    isum += (sm & 0xff) * s;
    msum += (sm >>> 8) * (bsum(a, ao, 2 * sb) + bsum(a, ao, 2 * sb + 1));
  }
  q45Msum = msum;
  return isum;
}

function vecDotQ45K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number, blockBytes: number, qsOff: number, qhOff: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += blockBytes, ao += Q8_K_BYTES) {
    const isum = q45Isum(w, wo, a, ao, qsOff, qhOff);
    const da = q8kD(a, ao);
    const d = t[w[wo]! | (w[wo + 1]! << 8)]!;
    const dmin = t[w[wo + 2]! | (w[wo + 3]! << 8)]!;
    acc += F(da * d) * isum;
    acc -= F(da * dmin) * q45Msum;
  }
  return F(acc);
}

export function vecDotQ4_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  return vecDotQ45K(n, w, wo, a, ao, Q4_K_BYTES, 16, -1);
}

export function vecDotQ5_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  return vecDotQ45K(n, w, wo, a, ao, Q5_K_BYTES, 48, 16);
}

/** Q6_K: 16 sub-blocks of 16 with int8 scales; 6-bit levels minus 32. */
export function vecDotQ6_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += Q6_K_BYTES, ao += Q8_K_BYTES) {
    let isum = 0;
    for (let sb = 0; sb < 16; sb++) {
      let s = 0;
      for (let k = 0; k < 16; k++) {
        const e = 16 * sb + k; // = 128h + 32m + l, m = which of the four 32-runs
        const h = e >>> 7;
        const m = (e >>> 5) & 3;
        const l = e & 31;
        const ql = w[wo + 64 * h + l + 32 * (m & 1)]!;
        const lo = m < 2 ? ql & 0xf : ql >>> 4;
        const hi = (w[wo + 128 + 32 * h + l]! >>> (2 * m)) & 3;
        s += ((lo | (hi << 4)) - 32) * i8(a[ao + 4 + e]!);
      }
      isum += i8(w[wo + 192 + sb]!) * s;
    }
    const da = q8kD(a, ao);
    const d = t[w[wo + 208]! | (w[wo + 209]! << 8)]!;
    acc += F(da * d) * isum;
  }
  return F(acc);
}

/** IQ4_XS: 8 sub-blocks of 32, factor (ls − 32), inner Σ K[q]·q8. */
export function vecDotIQ4_XSQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  let acc = 0;
  for (let b = 0; b < n / 256; b++, wo += 136, ao += Q8_K_BYTES) {
    const scalesH = w[wo + 2]! | (w[wo + 3]! << 8);
    let isum = 0;
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((w[wo + 4 + (ib >> 1)]! >>> (4 * (ib & 1))) & 0xf) | (((scalesH >>> (2 * ib)) & 3) << 4);
      let s = 0;
      for (let j = 0; j < 16; j++) {
        const q = w[wo + 8 + 16 * ib + j]!;
        s += K[q & 0xf]! * i8(a[ao + 4 + 32 * ib + j]!) + K[q >>> 4]! * i8(a[ao + 4 + 32 * ib + 16 + j]!);
      }
      isum += (ls - 32) * s;
    }
    const da = q8kD(a, ao);
    const d = t[w[wo]! | (w[wo + 1]! << 8)]!;
    acc += F(da * d) * isum;
  }
  return F(acc);
}

/**
 * Reference dot products of K-quant / IQ4_XS weight rows with a Q8_K activation row, in the exact
 * f32 order of ggml_vec_dot_<type>_q8_K of the shipped x86 build (ggml-cpu/arch/x86/quants.c,
 * __AVX2__ paths, checked against libggml-cpu-sapphirerapids.so's disassembly). See vec-dot.ts
 * for when llama.cpp runs these (plain CPU buffer); AMX and repack orders live elsewhere.
 *
 * Q8_K block: d f32 @0 | qs[256] int8 @4 | bsums[16] int16 @260 (Σ of each 16 qs).
 *
 * ORDER. Per super-block, 8 int32 lanes are filled exactly (VPMADDUBSW + VPMADDWD with the
 * integer sub-block scales; no saturation is reachable): element e of the super-block lands in
 * lane (e mod 32) >> 2, multiplied by its sub-block scale. Then, with d = fround(da·dw) and
 * dmin = −fround(da·dmin_w) (f32 scalars):
 *   Q3_K, Q6_K, IQ4_XS:  lane[l] = fma(d, f32(isum[l]), lane[l])
 *     Q6_K's isum[l] also subtracts 32·(bsums[2l]·sc[2l] + bsums[2l+1]·sc[2l+1]) (the −32 offset
 *     is applied per lane with the scales of sub-blocks 2l, 2l+1, not per element).
 *   Q2_K:   lane[l] = fma(dmin, f32(mins[2l]·bsums[2l] + mins[2l+1]·bsums[2l+1]), lane[l]) first,
 *           then lane[l] = fma(d, f32(isum[l]), lane[l]).
 *   Q4_K:   a separate 4-lane f32 accumulator m[l] = fma(dmin, f32(min[2l]·q8s[2l] +
 *           min[2l+1]·q8s[2l+1]), m[l]) with q8s[i] = bsums[2i] + bsums[2i+1]; at the end
 *           result = fround(hsum8(lane) + ((m0 + m2) + (m1 + m3))).
 *   Q5_K:   a scalar summs = fma(f32(Σ_i min[i]·q8s[i]), dmin, summs); result = fround(hsum8 + summs).
 * result = hsum8(lane) otherwise (ggml-order.ts hsum8).
 */
import { fp16Table32, f32FromBits } from "../quant/f16.js";
import { KVALUES_IQ4NL as KV } from "../quant/iq4.js";
import { getScaleMinK4, Q2_K_BYTES, Q3_K_BYTES, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, Q8_K_BYTES, q3kScale } from "../quant/k-quants.js";
import { fma32, hsum8 } from "./ggml-order.js";

const F = Math.fround;

function i8(b: number): number {
  return (b << 24) >> 24;
}

/** Q8_K d (f32, little-endian, possibly unaligned). */
export function q8kD(a: Uint8Array, o: number): number {
  return f32FromBits(a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24));
}

/** Q8_K bsums[g] (int16). */
export function bsum(a: Uint8Array, o: number, g: number): number {
  const p = o + 260 + 2 * g;
  return ((a[p]! | (a[p + 1]! << 8)) << 16) >> 16;
}

const isum = new Int32Array(8);
const lanes = new Float32Array(8);

/** lanes[l] = fma(d, f32(isum[l]), lanes[l]). */
function fmaLanes(d: number): void {
  for (let l = 0; l < 8; l++) lanes[l] = fma32(d, F(isum[l]!), lanes[l]!);
}

/** Q2_K: 16 sub-blocks of 16; scale s & 0xF, min s >> 4; element e = 128h + 32j + l uses 2 bits (2j) of qs[32h + l]. */
export function vecDotQ2_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 256; b++, wo += Q2_K_BYTES, ao += Q8_K_BYTES) {
    const da = q8kD(a, ao);
    const d = F(da * t[w[wo + 80]! | (w[wo + 81]! << 8)]!);
    const dmin = F(-da * t[w[wo + 82]! | (w[wo + 83]! << 8)]!);
    for (let l = 0; l < 8; l++) {
      const m = (w[wo + 2 * l]! >>> 4) * bsum(a, ao, 2 * l) + (w[wo + 2 * l + 1]! >>> 4) * bsum(a, ao, 2 * l + 1);
      lanes[l] = fma32(dmin, F(m), lanes[l]!);
    }
    isum.fill(0);
    for (let e = 0; e < 256; e++) {
      const q = (w[wo + 16 + 32 * (e >>> 7) + (e & 31)]! >>> (2 * ((e >>> 5) & 3))) & 3;
      isum[(e & 31) >>> 2] += (w[wo + (e >>> 4)]! & 0xf) * q * i8(a[ao + 4 + e]!);
    }
    fmaLanes(d);
  }
  return hsum8(lanes);
}

/** Q3_K: 16 sub-blocks of 16 with signed 6-bit scales; q = q2 − (hmask bit ? 0 : 4). */
export function vecDotQ3_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 256; b++, wo += Q3_K_BYTES, ao += Q8_K_BYTES) {
    const d = F(q8kD(a, ao) * t[w[wo + 108]! | (w[wo + 109]! << 8)]!);
    isum.fill(0);
    for (let sb = 0; sb < 16; sb++) {
      const sc = q3kScale(sb, w, wo + 96);
      for (let k = 0; k < 16; k++) {
        const e = 16 * sb + k;
        const h = e >>> 7,
          j = (e >>> 5) & 3,
          l = e & 31;
        const q = ((w[wo + 32 + 32 * h + l]! >>> (2 * j)) & 3) - ((w[wo + l]! & (1 << (4 * h + j))) !== 0 ? 0 : 4);
        isum[l >>> 2] += sc * q * i8(a[ao + 4 + e]!);
      }
    }
    fmaLanes(d);
  }
  return hsum8(lanes);
}

/**
 * Integer lanes of one Q4_K/Q5_K super-block (8 sub-blocks of 32: sub-block sb is the low (even
 * sb) or high (odd sb) nibbles of qs[32·⌊sb/2⌋ ..]; Q5_K adds 16 when bit sb of qh[l] is set;
 * qhOff < 0 means Q4_K) into isum.
 */
function q45Lanes(w: Uint8Array, wo: number, a: Uint8Array, ao: number, qsOff: number, qhOff: number): void {
  isum.fill(0);
  for (let sb = 0; sb < 8; sb++) {
    const sc = getScaleMinK4(sb, w, wo + 4) & 0xff;
    const q0 = wo + qsOff + 32 * (sb >>> 1);
    const shift = 4 * (sb & 1);
    const hbit = 1 << sb;
    const a0 = ao + 4 + 32 * sb;
    for (let l = 0; l < 32; l++) {
      let q = (w[q0 + l]! >>> shift) & 0xf;
      if (qhOff >= 0 && (w[wo + qhOff + l]! & hbit) !== 0) q += 16;
      isum[l >>> 2] += sc * q * i8(a[a0 + l]!);
    }
  }
}

/** min[i]·(bsums[2i] + bsums[2i+1]) of a Q4_K/Q5_K super-block. */
function q45Min(w: Uint8Array, wo: number, a: Uint8Array, ao: number, i: number): number {
  return (getScaleMinK4(i, w, wo + 4) >>> 8) * (bsum(a, ao, 2 * i) + bsum(a, ao, 2 * i + 1));
}

const accM = new Float32Array(4);

export function vecDotQ4_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  accM.fill(0);
  for (let b = 0; b < n / 256; b++, wo += Q4_K_BYTES, ao += Q8_K_BYTES) {
    const da = q8kD(a, ao);
    const d = F(da * t[w[wo]! | (w[wo + 1]! << 8)]!);
    const dmin = F(-da * t[w[wo + 2]! | (w[wo + 3]! << 8)]!);
    for (let l = 0; l < 4; l++) accM[l] = fma32(dmin, F(q45Min(w, wo, a, ao, 2 * l) + q45Min(w, wo, a, ao, 2 * l + 1)), accM[l]!);
    q45Lanes(w, wo, a, ao, 16, -1);
    fmaLanes(d);
  }
  const m = F(F(accM[0]! + accM[2]!) + F(accM[1]! + accM[3]!));
  return F(hsum8(lanes) + m);
}

export function vecDotQ5_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  let summs = 0;
  for (let b = 0; b < n / 256; b++, wo += Q5_K_BYTES, ao += Q8_K_BYTES) {
    const da = q8kD(a, ao);
    const d = F(da * t[w[wo]! | (w[wo + 1]! << 8)]!);
    const dmin = F(-da * t[w[wo + 2]! | (w[wo + 3]! << 8)]!);
    let m = 0;
    for (let i = 0; i < 8; i++) m += q45Min(w, wo, a, ao, i);
    summs = fma32(F(m), dmin, summs);
    q45Lanes(w, wo, a, ao, 48, 16);
    fmaLanes(d);
  }
  return F(hsum8(lanes) + summs);
}

/** Q6_K: 16 sub-blocks of 16 with int8 scales; 6-bit levels, the −32 applied per lane (see header). */
export function vecDotQ6_KQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 256; b++, wo += Q6_K_BYTES, ao += Q8_K_BYTES) {
    const d = F(q8kD(a, ao) * t[w[wo + 208]! | (w[wo + 209]! << 8)]!);
    for (let l = 0; l < 8; l++) {
      isum[l] = -32 * (bsum(a, ao, 2 * l) * i8(w[wo + 192 + 2 * l]!) + bsum(a, ao, 2 * l + 1) * i8(w[wo + 192 + 2 * l + 1]!));
    }
    for (let e = 0; e < 256; e++) {
      const h = e >>> 7,
        m = (e >>> 5) & 3,
        l = e & 31;
      const ql = w[wo + 64 * h + l + 32 * (m & 1)]!;
      const q = (m < 2 ? ql & 0xf : ql >>> 4) | (((w[wo + 128 + 32 * h + l]! >>> (2 * m)) & 3) << 4);
      isum[l >>> 2] += i8(w[wo + 192 + (e >>> 4)]!) * q * i8(a[ao + 4 + e]!);
    }
    fmaLanes(d);
  }
  return hsum8(lanes);
}

/** IQ4_XS: 8 sub-blocks of 32, factor (ls − 32), levels K[q]. */
export function vecDotIQ4_XSQ8_K(n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  lanes.fill(0);
  for (let b = 0; b < n / 256; b++, wo += 136, ao += Q8_K_BYTES) {
    const scalesH = w[wo + 2]! | (w[wo + 3]! << 8);
    isum.fill(0);
    for (let ib = 0; ib < 8; ib++) {
      const ls = (((w[wo + 4 + (ib >> 1)]! >>> (4 * (ib & 1))) & 0xf) | (((scalesH >>> (2 * ib)) & 3) << 4)) - 32;
      const q0 = wo + 8 + 16 * ib,
        a0 = ao + 4 + 32 * ib;
      for (let j = 0; j < 16; j++) {
        const q = w[q0 + j]!;
        isum[j >>> 2] += ls * KV[q & 0xf]! * i8(a[a0 + j]!);
        isum[(16 + j) >>> 2] += ls * KV[q >>> 4]! * i8(a[a0 + 16 + j]!);
      }
    }
    fmaLanes(F(t[w[wo]! | (w[wo + 1]! << 8)]! * q8kD(a, ao)));
  }
  return hsum8(lanes);
}

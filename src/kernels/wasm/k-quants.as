// AssemblyScript. Matmul kernels for the super-block types against a prepared AK activation
// (quantize.as; Q8_K) in the AMX order (matmul-amx.ts; also IQ4_XS's IQ panel gemm): Q4_K, Q5_K,
// Q6_K, IQ4_XS. Integer sub-block scales are multiplied into the i16 weights (|q·sc| <= 4096 fits
// i16), so a super-block's isum = Σ_sb sc_sb·Σ q·q8 comes out of plain i32x4.dot_i16x8_s
// accumulation, exact. Per output one f32 accumulator over the super-blocks (fma.as fma2):
//   acc = fma(f32(isum), fround(d·da), acc)   [Q4_K/Q5_K: acc = fma(f32(msum), -fround(dmin·da), acc)]
import { accA, accB, drive2x2, f16, hsum4, scales2x2 } from "./common";
import { fmaHi, fmaLo } from "./fma";

const AK: usize = 576; // prepared activation super-block bytes: q i16[256] @0, d f32 @512, bsums @528, pairs @560

// @ts-ignore: decorator
@inline function dot4(x0: v128, x1: v128, x2: v128, x3: v128, a: usize): v128 {
  let s = i32x4.dot_i16x8_s(x0, v128.load(a));
  s = i32x4.add(s, i32x4.dot_i16x8_s(x1, v128.load(a, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(x2, v128.load(a, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(x3, v128.load(a, 48)));
}

/** 32 unsigned/signed i8 values (lo: elements 0..15, hi: 16..31) -> four i16x8 times scales s0 (first 16) and s1 (last 16). */
// @ts-ignore: decorator
@inline function w16(lo: v128, hi: v128, s0: i32, s1: i32, k: i32): v128 {
  const a = i16x8.splat(<i16>s0), b = i16x8.splat(<i16>s1);
  if (k == 0) return i16x8.mul(i16x8.extend_low_i8x16_s(lo), a);
  if (k == 1) return i16x8.mul(i16x8.extend_high_i8x16_s(lo), a);
  if (k == 2) return i16x8.mul(i16x8.extend_low_i8x16_s(hi), b);
  return i16x8.mul(i16x8.extend_high_i8x16_s(hi), b);
}

/** Accumulators of one super-block, one per (row, token) pair; returned through hsum4. */
// @ts-ignore: decorator
@inline function group(loA: v128, hiA: v128, sA0: i32, sA1: i32, loB: v128, hiB: v128, sB0: i32, sB1: i32, a: usize, b: usize, s: v128, which: i32): v128 {
  const x0 = w16(loA, hiA, sA0, sA1, 0), x1 = w16(loA, hiA, sA0, sA1, 1), x2 = w16(loA, hiA, sA0, sA1, 2), x3 = w16(loA, hiA, sA0, sA1, 3);
  const y0 = w16(loB, hiB, sB0, sB1, 0), y1 = w16(loB, hiB, sB0, sB1, 1), y2 = w16(loB, hiB, sB0, sB1, 2), y3 = w16(loB, hiB, sB0, sB1, 3);
  if (which == 0) return i32x4.add(s, dot4(x0, x1, x2, x3, a));
  if (which == 1) return i32x4.add(s, dot4(x0, x1, x2, x3, b));
  if (which == 2) return i32x4.add(s, dot4(y0, y1, y2, y3, a));
  return i32x4.add(s, dot4(y0, y1, y2, y3, b));
}

/** get_scale_min_k4 for all 8 sub-blocks at once: returns the 8 six-bit scales as bytes of an i64;
 *  mins go to kMins. ref: k-quants.ts getScaleMinK4 (bytes 0-3 sc 0-3, 4-7 m 0-3, 8-11 low nibbles of sc/m 4-7). */
let kMins: u64 = 0;
// @ts-ignore: decorator
@inline function scalesK4(s: usize): u64 {
  const u0 = load<u32>(s), u1 = load<u32>(s, 4), u2 = load<u32>(s, 8);
  const scLo = u0 & 0x3f3f3f3f, mLo = u1 & 0x3f3f3f3f;
  const scHi = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
  const mHi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
  kMins = <u64>mLo | (<u64>mHi << 32);
  return <u64>scLo | (<u64>scHi << 32);
}

/** Q4_K (144 B: d | dmin | scales[12] | qs[128]) and Q5_K (176 B: d | dmin | scales[12] | qh[32] | qs[128]). */
// @ts-ignore: decorator
@inline function tileQ45K(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32, bytes: usize, q5: bool): void {
  let c0 = f64x2.splat(0), c1 = c0;
  const qsOff: usize = q5 ? 48 : 16;
  for (let b = 0; b < nb; b++, wA += bytes, wB += bytes, aA += AK, aB += AK) {
    const scA = scalesK4(wA + 4), mA = kMins, scB = scalesK4(wB + 4), mB = kMins;
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let sb = 0; sb < 8; sb++) {
      const pA = wA + qsOff + (<usize>(sb >> 1) << 5), pB = wB + qsOff + (<usize>(sb >> 1) << 5);
      const sh = <u32>(sb & 1) << 2;
      let loA = v128.and(i8x16.shr_u(v128.load(pA), sh), i8x16.splat(15)), hiA = v128.and(i8x16.shr_u(v128.load(pA, 16), sh), i8x16.splat(15));
      let loB = v128.and(i8x16.shr_u(v128.load(pB), sh), i8x16.splat(15)), hiB = v128.and(i8x16.shr_u(v128.load(pB, 16), sh), i8x16.splat(15));
      if (q5) { // + 16 where bit sb of qh[l] is set
        const m = i8x16.splat(<i8>(<i32>1 << sb)), sixteen = i8x16.splat(16);
        loA = v128.or(loA, v128.and(i8x16.eq(v128.and(v128.load(wA, 16), m), m), sixteen));
        hiA = v128.or(hiA, v128.and(i8x16.eq(v128.and(v128.load(wA, 32), m), m), sixteen));
        loB = v128.or(loB, v128.and(i8x16.eq(v128.and(v128.load(wB, 16), m), m), sixteen));
        hiB = v128.or(hiB, v128.and(i8x16.eq(v128.and(v128.load(wB, 32), m), m), sixteen));
      }
      const sa = <i32>((scA >> (<u64>sb << 3)) & 0xff), sbb = <i32>((scB >> (<u64>sb << 3)) & 0xff);
      const pa = aA + (<usize>sb << 6), pb = aB + (<usize>sb << 6);
      s0 = group(loA, hiA, sa, sa, loB, hiB, sbb, sbb, pa, pb, s0, 0);
      s1 = group(loA, hiA, sa, sa, loB, hiB, sbb, sbb, pa, pb, s1, 1);
      s2 = group(loA, hiA, sa, sa, loB, hiB, sbb, sbb, pa, pb, s2, 2);
      s3 = group(loA, hiA, sa, sa, loB, hiB, sbb, sbb, pa, pb, s3, 3);
    }
    const is = hsum4(s0, s1, s2, s3);
    // msum = Σ_sb m_sb·(bsums[2sb] + bsums[2sb+1]): 8 mins (i16) · 8 pair sums
    const mvA = i16x8.extend_low_i8x16_u(i64x2.splat(<i64>mA)), mvB = i16x8.extend_low_i8x16_u(i64x2.splat(<i64>mB));
    const prA = v128.load(aA, 560), prB = v128.load(aB, 560);
    const ms = hsum4(i32x4.dot_i16x8_s(mvA, prA), i32x4.dot_i16x8_s(mvA, prB), i32x4.dot_i16x8_s(mvB, prA), i32x4.dot_i16x8_s(mvB, prB));
    const daA = load<f32>(aA, 512), daB = load<f32>(aB, 512);
    const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), daA, daB);
    const dm = f32x4.neg(scales2x2(f16(load<u16>(wA, 2)), f16(load<u16>(wB, 2)), daA, daB));
    const x = f32x4.convert_i32x4_s(is), xm = f32x4.convert_i32x4_s(ms); // f32(isum): rounds like fround
    c0 = fmaLo(c0, x, d); c1 = fmaHi(c1, x, d);
    c0 = fmaLo(c0, xm, dm); c1 = fmaHi(c1, xm, dm);
  }
  accA = c0; accB = c1;
}

class KQ4_K { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void { tileQ45K(wA, wB, aA, aB, nb, 144, false); }
}
class KQ5_K { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void { tileQ45K(wA, wB, aA, aB, nb, 176, true); }
}

/** Q6_K (210 B: ql[128] | qh[64] | scales[16] int8 | d). Element e = 128h + 32m + l. */
// @ts-ignore: decorator
@inline function tileQ6K(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
  let c0 = f64x2.splat(0), c1 = c0;
  for (let b = 0; b < nb; b++, wA += 210, wB += 210, aA += AK, aB += AK) {
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let g = 0; g < 8; g++) {
      const h = g >> 2, m = g & 3;
      const lOff: usize = (<usize>h << 6) + (<usize>(m & 1) << 5), hOff: usize = 128 + (<usize>h << 5);
      const nsh = <u32>(m >> 1) << 2, hsh = <u32>m << 1;
      const k32 = i8x16.splat(32), k3 = i8x16.splat(3), k15 = i8x16.splat(15);
      const loA = i8x16.sub(v128.or(v128.and(i8x16.shr_u(v128.load(wA + lOff), nsh), k15), i8x16.shl(v128.and(i8x16.shr_u(v128.load(wA + hOff), hsh), k3), 4)), k32);
      const hiA = i8x16.sub(v128.or(v128.and(i8x16.shr_u(v128.load(wA + lOff, 16), nsh), k15), i8x16.shl(v128.and(i8x16.shr_u(v128.load(wA + hOff, 16), hsh), k3), 4)), k32);
      const loB = i8x16.sub(v128.or(v128.and(i8x16.shr_u(v128.load(wB + lOff), nsh), k15), i8x16.shl(v128.and(i8x16.shr_u(v128.load(wB + hOff), hsh), k3), 4)), k32);
      const hiB = i8x16.sub(v128.or(v128.and(i8x16.shr_u(v128.load(wB + lOff, 16), nsh), k15), i8x16.shl(v128.and(i8x16.shr_u(v128.load(wB + hOff, 16), hsh), k3), 4)), k32);
      const sA0 = <i32>load<i8>(wA + 192 + (<usize>g << 1)), sA1 = <i32>load<i8>(wA + 193 + (<usize>g << 1));
      const sB0 = <i32>load<i8>(wB + 192 + (<usize>g << 1)), sB1 = <i32>load<i8>(wB + 193 + (<usize>g << 1));
      const pa = aA + (<usize>g << 6), pb = aB + (<usize>g << 6);
      s0 = group(loA, hiA, sA0, sA1, loB, hiB, sB0, sB1, pa, pb, s0, 0);
      s1 = group(loA, hiA, sA0, sA1, loB, hiB, sB0, sB1, pa, pb, s1, 1);
      s2 = group(loA, hiA, sA0, sA1, loB, hiB, sB0, sB1, pa, pb, s2, 2);
      s3 = group(loA, hiA, sA0, sA1, loB, hiB, sB0, sB1, pa, pb, s3, 3);
    }
    const is = hsum4(s0, s1, s2, s3);
    const d = scales2x2(f16(load<u16>(wA, 208)), f16(load<u16>(wB, 208)), load<f32>(aA, 512), load<f32>(aB, 512));
    const x = f32x4.convert_i32x4_s(is);
    c0 = fmaLo(c0, x, d); c1 = fmaHi(c1, x, d);
  }
  accA = c0; accB = c1;
}

/** IQ4_XS (136 B: d | scales_h u16 | scales_l[4] | qs[128]); sub-block ib: factor ls - 32, levels K[q]. */
// @ts-ignore: decorator
@inline function tileIQ4XS(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
  let c0 = f64x2.splat(0), c1 = c0;
  const kv = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113), k15 = i8x16.splat(15);
  for (let b = 0; b < nb; b++, wA += 136, wB += 136, aA += AK, aB += AK) {
    const hA = <i32>load<u16>(wA, 2), hB = <i32>load<u16>(wB, 2);
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let ib = 0; ib < 8; ib++) {
      const sh = (ib & 1) << 2;
      const lsA = (((<i32>load<u8>(wA + 4 + (ib >> 1)) >> sh) & 15) | (((hA >> (ib << 1)) & 3) << 4)) - 32;
      const lsB = (((<i32>load<u8>(wB + 4 + (ib >> 1)) >> sh) & 15) | (((hB >> (ib << 1)) & 3) << 4)) - 32;
      const qA = v128.load(wA + 8 + (<usize>ib << 4)), qB = v128.load(wB + 8 + (<usize>ib << 4));
      const loA = i8x16.swizzle(kv, v128.and(qA, k15)), hiA = i8x16.swizzle(kv, i8x16.shr_u(qA, 4));
      const loB = i8x16.swizzle(kv, v128.and(qB, k15)), hiB = i8x16.swizzle(kv, i8x16.shr_u(qB, 4));
      const pa = aA + (<usize>ib << 6), pb = aB + (<usize>ib << 6);
      s0 = group(loA, hiA, lsA, lsA, loB, hiB, lsB, lsB, pa, pb, s0, 0);
      s1 = group(loA, hiA, lsA, lsA, loB, hiB, lsB, lsB, pa, pb, s1, 1);
      s2 = group(loA, hiA, lsA, lsA, loB, hiB, lsB, lsB, pa, pb, s2, 2);
      s3 = group(loA, hiA, lsA, lsA, loB, hiB, lsB, lsB, pa, pb, s3, 3);
    }
    const is = hsum4(s0, s1, s2, s3);
    const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 512), load<f32>(aB, 512));
    const x = f32x4.convert_i32x4_s(is);
    c0 = fmaLo(c0, x, d); c1 = fmaHi(c1, x, d);
  }
  accA = c0; accB = c1;
}

class KQ6_K { // @ts-ignore: decorator
@inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void { tileQ6K(wA, wB, aA, aB, nb); }
}
class KIQ4_XS { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void { tileIQ4XS(wA, wB, aA, aB, nb); }
}

export function chainQ4_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ4_K>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function chainQ5_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ5_K>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function chainQ6_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ6_K>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function chainIQ4_XS(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KIQ4_XS>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }

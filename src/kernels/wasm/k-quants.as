// AssemblyScript. Matmul kernels for the super-block types against a prepared AK activation
// (quantize.as; Q8_K) in the AMX order (matmul-amx.ts; also IQ4_XS's IQ panel gemm): Q4_K, Q5_K,
// Q6_K, IQ4_XS. Integer sub-block scales are multiplied into the i16 weights (|q·sc| <= 4096 fits
// i16), so a super-block's isum = Σ_sb sc_sb·Σ q·q8 comes out of plain i32x4.dot_i16x8_s
// accumulation, exact. Per output one f32 accumulator over the super-blocks (fma.as fma2):
//   acc = fma(f32(isum), fround(d·da), acc)   [Q4_K/Q5_K: acc = fma(f32(msum), -fround(dmin·da), acc)]
// Tiles of 1 weight row × 4 tokens (common.as drive1x4): each decoded, scaled weight sub-block
// serves 4 activation rows. F picks the f32 step: k-lanes.as ExactFma (fma.as fma2 on two f64x2
// accumulators) or relaxed-k.as RelaxedFma (one fused relaxed_madd, on the relaxed module after its
// self-check).
import { AK_BYTES, drive1x4, f16, hsum4 } from "./common";
import { fmaHi, fmaLo, pack4 } from "./fma";
import { ExactFma } from "./k-lanes";
import { even16, odd16 } from "./legacy";

const AK = AK_BYTES; // q i16[256] @0, d f32 @512, bsums @528, pairs @560 (quantize.as)

// @ts-ignore: decorator
@inline function dot4(x0: v128, x1: v128, x2: v128, x3: v128, a: usize): v128 {
  let s = i32x4.dot_i16x8_s(x0, v128.load(a));
  s = i32x4.add(s, i32x4.dot_i16x8_s(x1, v128.load(a, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(x2, v128.load(a, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(x3, v128.load(a, 48)));
}

/** 32 unsigned/signed i8 values (lo: elements 0..15, hi: 16..31) -> four i16x8 (even / odd elements of each half, AK's order)
 *  times scales s0 (first 16) and s1 (last 16). */
// @ts-ignore: decorator
@inline function w16(lo: v128, hi: v128, s0: i32, s1: i32, k: i32): v128 {
  const a = i16x8.splat(<i16>s0), b = i16x8.splat(<i16>s1);
  if (k == 0) return i16x8.mul(even16(lo), a);
  if (k == 1) return i16x8.mul(odd16(lo), a);
  if (k == 2) return i16x8.mul(even16(hi), b);
  return i16x8.mul(odd16(hi), b);
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

/** The 4 tokens' activation scales (AK @512) as f32x4. */
// @ts-ignore: decorator
@inline function da4(a0: usize, a1: usize, a2: usize, a3: usize): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(a0, 512)), 1, load<f32>(a1, 512)), 2, load<f32>(a2, 512)), 3, load<f32>(a3, 512));
}

/** Q4_K (144 B: d | dmin | scales[12] | qs[128]) and Q5_K (176 B: d | dmin | scales[12] | qh[32] | qs[128]). */
// @ts-ignore: decorator
@inline function tileQ45K<F>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, nb: i32, bytes: usize, q5: bool): v128 {
  const fm = changetype<F>(0);
  let c = f32x4.splat(0), c0 = f64x2.splat(0), c1 = c0; // F exact: c0, c1 (f64 halves, as fma.as keeps them); else c
  const qsOff: usize = q5 ? 48 : 16;
  for (let b = 0; b < nb; b++, w += bytes, a0 += AK, a1 += AK, a2 += AK, a3 += AK) {
    const sc = scalesK4(w + 4), mn = kMins;
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let sb = 0; sb < 8; sb++) {
      const p = w + qsOff + (<usize>(sb >> 1) << 5);
      const sh = <u32>(sb & 1) << 2;
      let lo = v128.and(i8x16.shr_u(v128.load(p), sh), i8x16.splat(15)), hi = v128.and(i8x16.shr_u(v128.load(p, 16), sh), i8x16.splat(15));
      if (q5) { // + 16 where bit sb of qh[l] is set
        const m = i8x16.splat(<i8>(<i32>1 << sb)), sixteen = i8x16.splat(16);
        lo = v128.or(lo, v128.and(i8x16.eq(v128.and(v128.load(w, 16), m), m), sixteen));
        hi = v128.or(hi, v128.and(i8x16.eq(v128.and(v128.load(w, 32), m), m), sixteen));
      }
      const k = <i32>((sc >> (<u64>sb << 3)) & 0xff);
      const x0 = w16(lo, hi, k, k, 0), x1 = w16(lo, hi, k, k, 1), x2 = w16(lo, hi, k, k, 2), x3 = w16(lo, hi, k, k, 3);
      const o = <usize>sb << 6;
      s0 = i32x4.add(s0, dot4(x0, x1, x2, x3, a0 + o)); s1 = i32x4.add(s1, dot4(x0, x1, x2, x3, a1 + o));
      s2 = i32x4.add(s2, dot4(x0, x1, x2, x3, a2 + o)); s3 = i32x4.add(s3, dot4(x0, x1, x2, x3, a3 + o));
    }
    const is = hsum4(s0, s1, s2, s3);
    // msum = Σ_sb m_sb·(bsums[2sb] + bsums[2sb+1]): 8 mins (i16) · 8 pair sums
    const mv = i16x8.extend_low_i8x16_u(i64x2.splat(<i64>mn));
    const ms = hsum4(i32x4.dot_i16x8_s(mv, v128.load(a0, 560)), i32x4.dot_i16x8_s(mv, v128.load(a1, 560)),
      i32x4.dot_i16x8_s(mv, v128.load(a2, 560)), i32x4.dot_i16x8_s(mv, v128.load(a3, 560)));
    const da = da4(a0, a1, a2, a3);
    const d = f32x4.mul(f32x4.splat(f16(load<u16>(w))), da), dm = f32x4.neg(f32x4.mul(f32x4.splat(f16(load<u16>(w, 2))), da));
    const x = f32x4.convert_i32x4_s(is), xm = f32x4.convert_i32x4_s(ms); // f32(isum): rounds like fround
    if (fm.exact()) {
      c0 = fmaLo(c0, x, d); c1 = fmaHi(c1, x, d);
      c0 = fmaLo(c0, xm, dm); c1 = fmaHi(c1, xm, dm);
    } else c = fm.fma4(xm, dm, fm.fma4(x, d, c));
  }
  return fm.exact() ? pack4(c0, c1) : c;
}

/** Q6_K (210 B: ql[128] | qh[64] | scales[16] int8 | d). Element e = 128h + 32m + l. */
// @ts-ignore: decorator
@inline function tileQ6K<F>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, nb: i32): v128 {
  const fm = changetype<F>(0);
  let c = f32x4.splat(0), c0 = f64x2.splat(0), c1 = c0; // F exact: c0, c1 (f64 halves, as fma.as keeps them); else c
  const k32 = i8x16.splat(32), k3 = i8x16.splat(3), k15 = i8x16.splat(15);
  for (let b = 0; b < nb; b++, w += 210, a0 += AK, a1 += AK, a2 += AK, a3 += AK) {
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let g = 0; g < 8; g++) {
      const h = g >> 2, m = g & 3;
      const lOff: usize = (<usize>h << 6) + (<usize>(m & 1) << 5), hOff: usize = 128 + (<usize>h << 5);
      const nsh = <u32>(m >> 1) << 2, hsh = <u32>m << 1;
      const lo = i8x16.sub(v128.or(v128.and(i8x16.shr_u(v128.load(w + lOff), nsh), k15), i8x16.shl(v128.and(i8x16.shr_u(v128.load(w + hOff), hsh), k3), 4)), k32);
      const hi = i8x16.sub(v128.or(v128.and(i8x16.shr_u(v128.load(w + lOff, 16), nsh), k15), i8x16.shl(v128.and(i8x16.shr_u(v128.load(w + hOff, 16), hsh), k3), 4)), k32);
      const k0 = <i32>load<i8>(w + 192 + (<usize>g << 1)), k1 = <i32>load<i8>(w + 193 + (<usize>g << 1));
      const x0 = w16(lo, hi, k0, k1, 0), x1 = w16(lo, hi, k0, k1, 1), x2 = w16(lo, hi, k0, k1, 2), x3 = w16(lo, hi, k0, k1, 3);
      const o = <usize>g << 6;
      s0 = i32x4.add(s0, dot4(x0, x1, x2, x3, a0 + o)); s1 = i32x4.add(s1, dot4(x0, x1, x2, x3, a1 + o));
      s2 = i32x4.add(s2, dot4(x0, x1, x2, x3, a2 + o)); s3 = i32x4.add(s3, dot4(x0, x1, x2, x3, a3 + o));
    }
    const is = hsum4(s0, s1, s2, s3);
    const d = f32x4.mul(f32x4.splat(f16(load<u16>(w, 208))), da4(a0, a1, a2, a3));
    const x = f32x4.convert_i32x4_s(is);
    if (fm.exact()) { c0 = fmaLo(c0, x, d); c1 = fmaHi(c1, x, d); }
    else c = fm.fma4(x, d, c);
  }
  return fm.exact() ? pack4(c0, c1) : c;
}

/** IQ4_XS (136 B: d | scales_h u16 | scales_l[4] | qs[128]); sub-block ib: factor ls - 32, levels K[q]. */
// @ts-ignore: decorator
@inline function tileIQ4XS<F>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, nb: i32): v128 {
  const fm = changetype<F>(0);
  let c = f32x4.splat(0), c0 = f64x2.splat(0), c1 = c0; // F exact: c0, c1 (f64 halves, as fma.as keeps them); else c
  const kv = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113), k15 = i8x16.splat(15);
  for (let b = 0; b < nb; b++, w += 136, a0 += AK, a1 += AK, a2 += AK, a3 += AK) {
    const sh16 = <i32>load<u16>(w, 2);
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let ib = 0; ib < 8; ib++) {
      const ls = (((<i32>load<u8>(w + 4 + (ib >> 1)) >> ((ib & 1) << 2)) & 15) | (((sh16 >> (ib << 1)) & 3) << 4)) - 32;
      const q = v128.load(w + 8 + (<usize>ib << 4));
      const lo = i8x16.swizzle(kv, v128.and(q, k15)), hi = i8x16.swizzle(kv, i8x16.shr_u(q, 4));
      const x0 = w16(lo, hi, ls, ls, 0), x1 = w16(lo, hi, ls, ls, 1), x2 = w16(lo, hi, ls, ls, 2), x3 = w16(lo, hi, ls, ls, 3);
      const o = <usize>ib << 6;
      s0 = i32x4.add(s0, dot4(x0, x1, x2, x3, a0 + o)); s1 = i32x4.add(s1, dot4(x0, x1, x2, x3, a1 + o));
      s2 = i32x4.add(s2, dot4(x0, x1, x2, x3, a2 + o)); s3 = i32x4.add(s3, dot4(x0, x1, x2, x3, a3 + o));
    }
    const is = hsum4(s0, s1, s2, s3);
    const d = f32x4.mul(f32x4.splat(f16(load<u16>(w))), da4(a0, a1, a2, a3));
    const x = f32x4.convert_i32x4_s(is);
    if (fm.exact()) { c0 = fmaLo(c0, x, d); c1 = fmaHi(c1, x, d); }
    else c = fm.fma4(x, d, c);
  }
  return fm.exact() ? pack4(c0, c1) : c;
}

export class KQ4_K<F> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {} // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ45K<F>(w, a0, a1, a2, a3, nb, 144, false); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ45K<F>(w, a0, a1, a0, a0, nb, 144, false); }
}
export class KQ5_K<F> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {} // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ45K<F>(w, a0, a1, a2, a3, nb, 176, true); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ45K<F>(w, a0, a1, a0, a0, nb, 176, true); }
}
export class KQ6_K<F> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {} // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ6K<F>(w, a0, a1, a2, a3, nb); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ6K<F>(w, a0, a1, a0, a0, nb); }
}
export class KIQ4_XS<F> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {} // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileIQ4XS<F>(w, a0, a1, a2, a3, nb); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileIQ4XS<F>(w, a0, a1, a0, a0, nb); }
}

// Every kernel: (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb[, sd, tP: unused]) — see common.as drive1x4.
export function chainQ4_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KQ4_K<ExactFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
export function chainQ5_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KQ5_K<ExactFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
export function chainQ6_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KQ6_K<ExactFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
export function chainIQ4_XS(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KIQ4_XS<ExactFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }

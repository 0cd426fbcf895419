// AssemblyScript. Baseline-SIMD matmul kernels for the 32-element block types against a prepared
// A8 activation (quantize.as): Q8_0, Q4_0, Q5_0, IQ4_NL (· Q8_0) and Q4_1, Q5_1 (· Q8_1).
// Weights are widened to i16 once per 2x2 tile and dotted with i32x4.dot_i16x8_s against the
// pre-widened activation; every inner sum is an exact integer (vec-dot.ts twins).
import { accA, accB, addHi, addLo, drive2x2, f16, hsum4, madHi, madLo, scales2x2 } from "./common";

const A8: usize = 176; // prepared activation block bytes

/** Σ over 32 elements of four i16x8 weight vectors · the activation block's i16 quants at a. */
// @ts-ignore: decorator
@inline function dot4(x0: v128, x1: v128, x2: v128, x3: v128, a: usize): v128 {
  let s = i32x4.dot_i16x8_s(x0, v128.load(a));
  s = i32x4.add(s, i32x4.dot_i16x8_s(x1, v128.load(a, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(x2, v128.load(a, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(x3, v128.load(a, 48)));
}

/** The 32 element values of one 16-byte nibble array: low nibbles are elements 0..15, high 16..31. */
// @ts-ignore: decorator
@inline function loNib(v: v128): v128 { return v128.and(v, i8x16.splat(0x0f)); }
// @ts-ignore: decorator
@inline function hiNib(v: v128): v128 { return i8x16.shr_u(v, 4); }

/** Q5 high bits: lane j of the result is 0x10 if bit j (lo: 0..15, hi: 16..31) of qh is set. */
// @ts-ignore: decorator
@inline function q5hi(qh: u32, hiHalf: bool): v128 {
  const v = i32x4.splat(qh);
  const b = hiHalf ? i8x16.swizzle(v, i8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)) : i8x16.swizzle(v, i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const m = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(b, m), m), i8x16.splat(0x10));
}

// kvalues_iq4nl as a swizzle table
// @ts-ignore: decorator
@inline function kvalues(): v128 { return i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113); }

/**
 * The shared block loop: lo/hi are the two i8x16 halves (elements 0..15, 16..31) of a weight
 * block, produced by `decode` per type. mode 0: no min term; 1: Q4_1/Q5_1 min term (m f16 at +2).
 */
// @ts-ignore: decorator
@inline function finishBlock(loA: v128, hiA: v128, loB: v128, hiB: v128, aA: usize, aB: usize): v128 {
  const xa0 = i16x8.extend_low_i8x16_s(loA), xa1 = i16x8.extend_high_i8x16_s(loA);
  const xa2 = i16x8.extend_low_i8x16_s(hiA), xa3 = i16x8.extend_high_i8x16_s(hiA);
  const xb0 = i16x8.extend_low_i8x16_s(loB), xb1 = i16x8.extend_high_i8x16_s(loB);
  const xb2 = i16x8.extend_low_i8x16_s(hiB), xb3 = i16x8.extend_high_i8x16_s(hiB);
  return hsum4(dot4(xa0, xa1, xa2, xa3, aA), dot4(xa0, xa1, xa2, xa3, aB), dot4(xb0, xb1, xb2, xb3, aA), dot4(xb0, xb1, xb2, xb3, aB));
}

class KQ8_0 { // 34 B: d f16 | qs[32] int8
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    for (let b = 0; b < nb; b++, wA += 34, wB += 34, aA += A8, aB += A8) {
      const is = finishBlock(v128.load(wA, 2), v128.load(wA, 18), v128.load(wB, 2), v128.load(wB, 18), aA, aB);
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      c0 = madLo(c0, d, is); c1 = madHi(c1, d, is);
    }
    accA = c0; accB = c1;
  }
}

class KQ4_0 { // 18 B: d f16 | qs[16]; value (nibble - 8)·d
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    const e = i8x16.splat(8);
    for (let b = 0; b < nb; b++, wA += 18, wB += 18, aA += A8, aB += A8) {
      const va = v128.load(wA, 2), vb = v128.load(wB, 2);
      const is = finishBlock(i8x16.sub(loNib(va), e), i8x16.sub(hiNib(va), e), i8x16.sub(loNib(vb), e), i8x16.sub(hiNib(vb), e), aA, aB);
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      c0 = madLo(c0, d, is); c1 = madHi(c1, d, is);
    }
    accA = c0; accB = c1;
  }
}

class KIQ4_NL { // 18 B: d f16 | qs[16]; value K[nibble]·d
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    const k = kvalues();
    for (let b = 0; b < nb; b++, wA += 18, wB += 18, aA += A8, aB += A8) {
      const va = v128.load(wA, 2), vb = v128.load(wB, 2);
      const is = finishBlock(i8x16.swizzle(k, loNib(va)), i8x16.swizzle(k, hiNib(va)), i8x16.swizzle(k, loNib(vb)), i8x16.swizzle(k, hiNib(vb)), aA, aB);
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      c0 = madLo(c0, d, is); c1 = madHi(c1, d, is);
    }
    accA = c0; accB = c1;
  }
}

class KQ5_0 { // 22 B: d f16 | qh u32 | qs[16]; value ((nibble | bit << 4) - 16)·d
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    const e = i8x16.splat(16);
    for (let b = 0; b < nb; b++, wA += 22, wB += 22, aA += A8, aB += A8) {
      const va = v128.load(wA, 6), vb = v128.load(wB, 6);
      const ha = load<u32>(wA, 2), hb = load<u32>(wB, 2);
      const is = finishBlock(
        i8x16.sub(v128.or(loNib(va), q5hi(ha, false)), e), i8x16.sub(v128.or(hiNib(va), q5hi(ha, true)), e),
        i8x16.sub(v128.or(loNib(vb), q5hi(hb, false)), e), i8x16.sub(v128.or(hiNib(vb), q5hi(hb, true)), e), aA, aB);
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      c0 = madLo(c0, d, is); c1 = madHi(c1, d, is);
    }
    accA = c0; accB = c1;
  }
}

class KQ4_1 { // 20 B: d f16 | m f16 | qs[16]; per block acc += f32(d·da)·isum, then acc += f32(m·s)
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    for (let b = 0; b < nb; b++, wA += 20, wB += 20, aA += A8, aB += A8) {
      const va = v128.load(wA, 4), vb = v128.load(wB, 4);
      const is = finishBlock(loNib(va), hiNib(va), loNib(vb), hiNib(vb), aA, aB);
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      const m = scales2x2(f16(load<u16>(wA, 2)), f16(load<u16>(wB, 2)), load<f32>(aA, 68), load<f32>(aB, 68));
      c0 = addLo(madLo(c0, d, is), m); c1 = addHi(madHi(c1, d, is), m);
    }
    accA = c0; accB = c1;
  }
}

class KQ5_1 { // 24 B: d f16 | m f16 | qh u32 | qs[16]
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    for (let b = 0; b < nb; b++, wA += 24, wB += 24, aA += A8, aB += A8) {
      const va = v128.load(wA, 8), vb = v128.load(wB, 8);
      const ha = load<u32>(wA, 4), hb = load<u32>(wB, 4);
      const is = finishBlock(v128.or(loNib(va), q5hi(ha, false)), v128.or(hiNib(va), q5hi(ha, true)),
        v128.or(loNib(vb), q5hi(hb, false)), v128.or(hiNib(vb), q5hi(hb, true)), aA, aB);
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      const m = scales2x2(f16(load<u16>(wA, 2)), f16(load<u16>(wB, 2)), load<f32>(aA, 68), load<f32>(aB, 68));
      c0 = addLo(madLo(c0, d, is), m); c1 = addHi(madHi(c1, d, is), m);
    }
    accA = c0; accB = c1;
  }
}

// Every kernel: (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb) — see drive2x2.
export function matmulQ8_0(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ8_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulQ4_0(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ4_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulIQ4_NL(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KIQ4_NL>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulQ5_0(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ5_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulQ4_1(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ4_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulQ5_1(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ5_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }

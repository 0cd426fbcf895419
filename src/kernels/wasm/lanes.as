// AssemblyScript. The lanes order of legacy.as's block types on baseline SIMD (vec-dot.ts:
// ggml_vec_dot_q*_q8_*, tinyBLAS_Q0_AVX): per output 8 f32 lanes, lane l owning elements 4l..4l+3
// of every block, lane = fma(fround(dw·da), f32(isum_l), lane), then hsum8 [Q4_1 / Q5_1: + the
// summs = fma(mw, sa, summs) chain, fround(hsum8 + summs)]. Each step is emulated in f64 (fma.as):
// p = d·isum is exact (d = dw·da has <= 22 significant bits, |isum_l| <= 4·128·128 = 2^16), and
// f32(p + c) is the single-rounded fma whenever the f64 add p + c is exact.
//
// Fast tiles (fast1x2): no per-step test at all, when this bound proves every f64 add exact:
//   d = dw·da is a multiple of 2^g, g = min v2(dw) + min v2(da) over the nonzero scales (v2: the
//   2-adic valuation), so by induction every p, every lane value c and every exact sum is one too
//   (rounding to f32 keeps multiples of 2^g: an inexact sum rounds at ulp32 > 2^g). A multiple of
//   2^g below 2^(53+g) is an f64, so the add is exact while |s| < 2^(53+g). And
//   |s| <= (1 + 2^-24)^nb · Σ_b |d_b|·2^16 <= 1.07 · 2^16 · max|dw| · Σ|da|. Hence the test
//   span(row) · span(token) <= 2^36, with span = (max|dw| resp. Σ|da|) / 2^min v2 (common.as span;
//   the token's is computed once by quantize.as prepareA8 into its row's block 0, @76).
// It holds on model data with a wide margin (the spans are scale-free: ~2^20 · the scale spread);
// outputs that fail it (extreme scale spreads, inf/NaN scales) run the checked tile (checked1x2:
// the midpoint / inexactness test and fixV of fma.as per step), which is always exact.
import { A8_BYTES, f16, rowSpan, span, v2f32 } from "./common";
import { fixV, fma2m, hsum8, needsFixM, pack4, round2 } from "./fma";
import { DIQ4_NL, DQ4_0, DQ4_1, DQ5_0, DQ5_1, DQ8_0, even16, odd16, rowScales } from "./legacy";

const A8 = A8_BYTES;
const LIM: f64 = 68719476736; // 2^36: the fast tiles' bound on span(row) · span(token)

// Test hooks (this instance's counters since instantiation): fast tiles, checked tiles, checked
// steps that ran the fix-up; and a switch that takes the fast tile whatever the bound says (only to
// show that the bound matters: it then misrounds inputs built to hit a double rounding).
let fastTiles: i32 = 0, checkedTiles: i32 = 0, fixups: i32 = 0, forceFast = false;
export function lanesTileCount(kind: i32): i32 { return kind == 0 ? fastTiles : kind == 1 ? checkedTiles : fixups; }
export function lanesForceFast(on: i32): void { forceFast = on != 0; }

/** Lane sums of one block against one token: quads 0-3 and 4-7 (lane l = even pair + odd pair). */
// @ts-ignore: decorator
@inline function quadsLo(e0: v128, o0: v128, a: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(e0, v128.load(a)), i32x4.dot_i16x8_s(o0, v128.load(a, 16)));
}
// @ts-ignore: decorator
@inline function quadsHi(e1: v128, o1: v128, a: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(e1, v128.load(a, 32)), i32x4.dot_i16x8_s(o1, v128.load(a, 48)));
}

/** Exact products d·isum of lanes 0, 1 (lo) or 2, 3 (hi) of the i32x4 q. */
// @ts-ignore: decorator
@inline function pLo(d: v128, q: v128): v128 { return f64x2.mul(d, f64x2.convert_low_i32x4_s(q)); }
// @ts-ignore: decorator
@inline function pHi(d: v128, q: v128): v128 { return f64x2.mul(d, f64x2.convert_low_i32x4_s(i32x4.shuffle(q, q, 2, 3, 0, 1))); }

/** The Q4_1 / Q5_1 summs step of both tokens: fma(mw, sa, summs), mw = the row's min at scale m. */
// @ts-ignore: decorator
@inline function summs(m: f32, aA: usize, aB: usize, sm: v128): v128 {
  return fma2m(f64x2.mul(f64x2.splat(<f64>m), f64x2.replace_lane(f64x2.splat(<f64>load<f32>(aA, 68)), 1, <f64>load<f32>(aB, 68))), sm);
}

/** hsum8 of both tokens' lanes [+ summs]: [out(token A), out(token B)] as f64x2. */
// @ts-ignore: decorator
@inline function finish(a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128, sm: v128, withMin: bool): v128 {
  let rA = hsum8(pack4(a0, a1), pack4(a2, a3)), rB = hsum8(pack4(b0, b1), pack4(b2, b3));
  if (withMin) {
    rA = rA + <f32>f64x2.extract_lane(sm, 0);
    rB = rB + <f32>f64x2.extract_lane(sm, 1);
  }
  return f64x2.replace_lane(f64x2.splat(<f64>rA), 1, <f64>rB);
}

/**
 * A weight row prepared once per token chunk: its block scales as f32 at scr (then the mins:
 * legacy.as rowScales) and its blocks widened to i16 at scr + 8·nb, 64 bytes each (even16 / odd16
 * of elements 0..15, then of 16..31: the A8 activation's order).
 */
// @ts-ignore: decorator
@inline export function rowWiden<D>(w: usize, nb: i32, scr: usize): void {
  const dec = changetype<D>(0);
  const wb = dec.bytes();
  rowScales<D>(w, nb, scr);
  for (let b = 0, q = scr + (<usize>nb << 3); b < nb; b++, w += wb, q += 64) {
    const lo = dec.lo(w), hi = dec.hi(w);
    v128.store(q, even16(lo)); v128.store(q, odd16(lo), 16); v128.store(q, even16(hi), 32); v128.store(q, odd16(hi), 48);
  }
}

/** Lane sums of one widened block q against one token: quads 0-3, 4-7. */
// @ts-ignore: decorator
@inline function wLo(q: usize, a: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(v128.load(q), v128.load(a)), i32x4.dot_i16x8_s(v128.load(q, 16), v128.load(a, 16)));
}
// @ts-ignore: decorator
@inline function wHi(q: usize, a: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(v128.load(q, 32), v128.load(a, 32)), i32x4.dot_i16x8_s(v128.load(q, 48), v128.load(a, 48)));
}

/** Fast tile: one weight row prepared at scr (rowWiden) × tokens A, B; every f64 add proven exact (header). */
// @ts-ignore: decorator
@inline function fast1x2<D>(scr: usize, aA: usize, aB: usize, nb: i32): v128 {
  const dec = changetype<D>(0);
  const withMin = dec.hasMin(), mOff = <usize>nb << 2;
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, sm = a0;
  let q = scr + (<usize>nb << 3);
  for (let b = 0; b < nb; b++, q += 64, aA += A8, aB += A8, scr += 4) {
    const la = wLo(q, aA), ha = wHi(q, aA), lb = wLo(q, aB), hb = wHi(q, aB);
    const dw = load<f32>(scr);
    const da = f64x2.splat(<f64>(dw * load<f32>(aA, 64))), db = f64x2.splat(<f64>(dw * load<f32>(aB, 64))); // exact
    a0 = round2(f64x2.add(pLo(da, la), a0)); a1 = round2(f64x2.add(pHi(da, la), a1));
    a2 = round2(f64x2.add(pLo(da, ha), a2)); a3 = round2(f64x2.add(pHi(da, ha), a3));
    b0 = round2(f64x2.add(pLo(db, lb), b0)); b1 = round2(f64x2.add(pHi(db, lb), b1));
    b2 = round2(f64x2.add(pLo(db, hb), b2)); b3 = round2(f64x2.add(pHi(db, hb), b3));
    if (withMin) sm = summs(load<f32>(scr + mOff), aA, aB, sm);
  }
  return finish(a0, a1, a2, a3, b0, b1, b2, b3, sm, withMin);
}

/** Running max |dw| (as f32 bits) and min v2(dw) of a row's nonzero finite scales (the row span, inline). */
// @ts-ignore: decorator
@inline function maxBits(m: u32, dw: f32): u32 { return max(m, reinterpret<u32>(dw) & 0x7fffffff); }
// @ts-ignore: decorator
@inline function minV2(g: i32, dw: f32): i32 {
  const u = reinterpret<u32>(dw) & 0x7fffffff;
  return u != 0 ? min(g, v2f32(u)) : g;
}
// @ts-ignore: decorator
@inline function bitsSpan(m: u32, g: i32): f64 { return m >= 0x7f800000 ? Infinity : span(<f64>reinterpret<f32>(m), g); }

/**
 * Fast tile of rows A, B × one token (the single-token matmul): weights decoded inline, the rows'
 * spans gathered on the way; returns [out(row A), out(row B)], or a NaN lane 0 when the bound
 * (header) does not hold for a row, in which case the caller redoes the tile checked.
 */
// @ts-ignore: decorator
@inline function fast2x1<D>(wA: usize, wB: usize, a: usize, nb: i32): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, sm = a0;
  let mA: u32 = 0, mB: u32 = 0, gA: i32 = 1 << 20, gB: i32 = 1 << 20;
  const ra = <f64>load<f32>(a, 76);
  for (let b = 0; b < nb; b++, wA += wb, wB += wb, a += A8) {
    let lo = dec.lo(wA), hi = dec.hi(wA);
    const la = quadsLo(even16(lo), odd16(lo), a), ha = quadsHi(even16(hi), odd16(hi), a);
    lo = dec.lo(wB); hi = dec.hi(wB);
    const lb = quadsLo(even16(lo), odd16(lo), a), hb = quadsHi(even16(hi), odd16(hi), a);
    const x = load<f32>(a, 64), dwA = f16(load<u16>(wA)), dwB = f16(load<u16>(wB));
    mA = maxBits(mA, dwA); mB = maxBits(mB, dwB); gA = minV2(gA, dwA); gB = minV2(gB, dwB);
    const da = f64x2.splat(<f64>(dwA * x)), db = f64x2.splat(<f64>(dwB * x)); // exact
    a0 = round2(f64x2.add(pLo(da, la), a0)); a1 = round2(f64x2.add(pHi(da, la), a1));
    a2 = round2(f64x2.add(pLo(da, ha), a2)); a3 = round2(f64x2.add(pHi(da, ha), a3));
    b0 = round2(f64x2.add(pLo(db, lb), b0)); b1 = round2(f64x2.add(pHi(db, lb), b1));
    b2 = round2(f64x2.add(pLo(db, hb), b2)); b3 = round2(f64x2.add(pHi(db, hb), b3));
    if (withMin) {
      const mw = f64x2.replace_lane(f64x2.splat(<f64>f16(load<u16>(wA, 2))), 1, <f64>f16(load<u16>(wB, 2)));
      sm = fma2m(f64x2.mul(mw, f64x2.splat(<f64>load<f32>(a, 68))), sm);
    }
  }
  if (!(bitsSpan(mA, gA) * ra <= LIM && bitsSpan(mB, gB) * ra <= LIM || forceFast)) return f64x2.splat(NaN);
  return finish(a0, a1, a2, a3, b0, b1, b2, b3, sm, withMin);
}

/** Checked tile: as fast1x2, with fma.as's per-step test and fix-up (exact for any scales). */
function checked1x2<D>(w: usize, aA: usize, aB: usize, nb: i32): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, sm = a0;
  for (let b = 0; b < nb; b++, w += wb, aA += A8, aB += A8) {
    const lo = dec.lo(w), hi = dec.hi(w);
    const e0 = even16(lo), o0 = odd16(lo), e1 = even16(hi), o1 = odd16(hi);
    const la = quadsLo(e0, o0, aA), ha = quadsHi(e1, o1, aA), lb = quadsLo(e0, o0, aB), hb = quadsHi(e1, o1, aB);
    const dw = f16(load<u16>(w));
    const da = f64x2.splat(<f64>(dw * load<f32>(aA, 64))), db = f64x2.splat(<f64>(dw * load<f32>(aB, 64)));
    const p0 = pLo(da, la), p1 = pHi(da, la), p2 = pLo(da, ha), p3 = pHi(da, ha);
    const p4 = pLo(db, lb), p5 = pHi(db, lb), p6 = pLo(db, hb), p7 = pHi(db, hb);
    const s0 = f64x2.add(p0, a0), s1 = f64x2.add(p1, a1), s2 = f64x2.add(p2, a2), s3 = f64x2.add(p3, a3);
    const s4 = f64x2.add(p4, b0), s5 = f64x2.add(p5, b1), s6 = f64x2.add(p6, b2), s7 = f64x2.add(p7, b3);
    let r0 = round2(s0), r1 = round2(s1), r2 = round2(s2), r3 = round2(s3);
    let r4 = round2(s4), r5 = round2(s5), r6 = round2(s6), r7 = round2(s7);
    const mid = v128.or(
      v128.or(v128.or(needsFixM(p0, a0, s0), needsFixM(p1, a1, s1)), v128.or(needsFixM(p2, a2, s2), needsFixM(p3, a3, s3))),
      v128.or(v128.or(needsFixM(p4, b0, s4), needsFixM(p5, b1, s5)), v128.or(needsFixM(p6, b2, s6), needsFixM(p7, b3, s7))));
    if (v128.any_true(mid)) { // rare (fma.as): the reference's fix-up on every lane
      fixups++;
      r0 = fixV(p0, a0, s0, r0); r1 = fixV(p1, a1, s1, r1); r2 = fixV(p2, a2, s2, r2); r3 = fixV(p3, a3, s3, r3);
      r4 = fixV(p4, b0, s4, r4); r5 = fixV(p5, b1, s5, r5); r6 = fixV(p6, b2, s6, r6); r7 = fixV(p7, b3, s7, r7);
    }
    a0 = r0; a1 = r1; a2 = r2; a3 = r3; b0 = r4; b1 = r5; b2 = r6; b3 = r7;
    if (withMin) sm = summs(f16(load<u16>(w, 2)), aA, aB, sm);
  }
  return finish(a0, a1, a2, a3, b0, b1, b2, b3, sm, withMin);
}

/**
 * out (nTok, ne1) f32 = rows [r0, r1) of W (wStride bytes per row) · the prepared A8 rows at a
 * (aStride bytes each), 1 row × 2 token tiles; scr: this thread's scratch (>= 8·nb bytes) for the
 * row's block scales (legacy.as rowScales). Token chunks of 64 keep the activations in L2 while a
 * weight row stays in L1; an odd last token is computed as a duplicate pair and stored once. Each
 * output depends only on its row and token: neither the tiling nor the thread split changes a bit.
 */
// @ts-ignore: decorator
@inline function driveLanes<D>(
  w: usize, wStride: usize, r0: i32, r1: i32, a: usize, aStride: usize, nTok: i32, out: usize, ne1: i32, nb: i32, scr: usize,
): void {
  const st = <usize>ne1 << 2;
  if (nTok == 1) { // 2 rows × 1 token tiles: no duplicate token, no row preparation
    for (let r = r0; r < r1; r += 2) {
      const wA = w + <usize>r * wStride, hasB = r + 1 < r1, wB = hasB ? wA + wStride : wA;
      let v = fast2x1<D>(wA, wB, a, nb);
      if (isNaN(f64x2.extract_lane(v, 0))) {
        v = f64x2.replace_lane(checked1x2<D>(wA, a, a, nb), 1, f64x2.extract_lane(checked1x2<D>(wB, a, a, nb), 0));
        checkedTiles++;
      } else fastTiles++;
      const o = out + (<usize>r << 2);
      store<f32>(o, <f32>f64x2.extract_lane(v, 0));
      if (hasB) store<f32>(o + 4, <f32>f64x2.extract_lane(v, 1));
    }
    return;
  }
  for (let tc = 0; tc < nTok; tc += 64) {
    const tEnd = min(nTok, tc + 64);
    for (let r = r0; r < r1; r++) {
      const wr = w + <usize>r * wStride;
      rowWiden<D>(wr, nb, scr);
      const rw = rowSpan(scr, nb);
      for (let t = tc; t < tEnd; t += 2) {
        const aA = a + <usize>t * aStride;
        const hasB = t + 1 < tEnd;
        const aB = hasB ? aA + aStride : aA;
        let v: v128;
        if (rw * <f64>load<f32>(aA, 76) <= LIM && rw * <f64>load<f32>(aB, 76) <= LIM || forceFast) {
          v = fast1x2<D>(scr, aA, aB, nb);
          fastTiles++;
        } else {
          v = checked1x2<D>(wr, aA, aB, nb);
          checkedTiles++;
        }
        const o = out + ((<usize>t * <usize>ne1 + <usize>r) << 2);
        store<f32>(o, <f32>f64x2.extract_lane(v, 0));
        if (hasB) store<f32>(o + st, <f32>f64x2.extract_lane(v, 1));
      }
    }
  }
}

// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread): legacy.as's chain kernels'
// arguments (sd, tP unused).
export function lanesQ8_0(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveLanes<DQ8_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, scr + <usize>thread * scrStride);
}
export function lanesQ4_0(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveLanes<DQ4_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, scr + <usize>thread * scrStride);
}
export function lanesIQ4_NL(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveLanes<DIQ4_NL>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, scr + <usize>thread * scrStride);
}
export function lanesQ5_0(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveLanes<DQ5_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, scr + <usize>thread * scrStride);
}
export function lanesQ4_1(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveLanes<DQ4_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, scr + <usize>thread * scrStride);
}
export function lanesQ5_1(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveLanes<DQ5_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, scr + <usize>thread * scrStride);
}

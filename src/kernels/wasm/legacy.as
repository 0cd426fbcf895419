// AssemblyScript. Matmul kernels for the 32-element block types against a prepared A8 activation
// (quantize.as): Q8_0, Q4_0, Q5_0, IQ4_NL (· Q8_0) and Q4_1, Q5_1 (· Q8_1). Weight blocks are
// decoded to i8x16 halves, widened to i16 with shifts into even / odd elements (the activation
// is laid out the same way) and dotted with i32x4.dot_i16x8_s; every integer sum is exact. The
// float steps follow the reference's two orders exactly (fma.as):
//   chain (matmul-amx.ts, matmul-repack.ts): per output ONE f32 accumulator over the blocks,
//     acc = fma(f32(isum_b), fround(dw·da), acc) [Q4_1: then acc = fma(mw, sa, acc)];
//     1 weight row × 4 tokens per tile, the activation scales from the prepared scale table.
//   lanes (vec-dot.ts, ggml_vec_dot_* / tinyBLAS_Q0_AVX): per output 8 f32 lanes, lane l owning
//     elements 4l..4l+3 of every block: lane = fma(fround(dw·da), f32(isum_l), lane); hsum8;
//     Q4_1 / Q5_1 add a scalar summs = fma(mw, sa, summs) chain: fround(hsum8 + summs).
import { A8_BYTES, drive1x4, f16, hsum4, rowSpan } from "./common";
import { fixV, fma2m, lo64, hi64, pack4, round2, suspectMid } from "./fma";

const A8 = A8_BYTES;

/** i8x16 -> i16x8 of its even bytes (sign-extended) and of its odd bytes: shifts, no shuffles. */
// @ts-ignore: decorator
@inline export function even16(v: v128): v128 { return i16x8.shr_s(i16x8.shl(v, 8), 8); }
// @ts-ignore: decorator
@inline export function odd16(v: v128): v128 { return i16x8.shr_s(v, 8); }

/** Σ over a block of the even/odd-widened weight halves · the activation's i16 quants at a, in 4 i32 lanes. */
// @ts-ignore: decorator
@inline export function dotEO(e0: v128, o0: v128, e1: v128, o1: v128, a: usize): v128 {
  return i32x4.add(i32x4.add(i32x4.dot_i16x8_s(e0, v128.load(a)), i32x4.dot_i16x8_s(o0, v128.load(a, 16))),
    i32x4.add(i32x4.dot_i16x8_s(e1, v128.load(a, 32)), i32x4.dot_i16x8_s(o1, v128.load(a, 48))));
}

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

// Block decoders: lo(w) = elements 0..15, hi(w) = 16..31 as i8x16; d f16 at byte 0, the Q4_1 /
// Q5_1 min m f16 at byte 2.
export class DQ8_0 { // 34 B: d | qs[32] int8
  // @ts-ignore: decorator
  @inline bytes(): usize { return 34; }
  // @ts-ignore: decorator
  @inline hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline lo(w: usize): v128 { return v128.load(w, 2); }
  // @ts-ignore: decorator
  @inline hi(w: usize): v128 { return v128.load(w, 18); }
}
export class DQ4_0 { // 18 B: d | qs[16]; nibble - 8
  // @ts-ignore: decorator
  @inline bytes(): usize { return 18; }
  // @ts-ignore: decorator
  @inline hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline lo(w: usize): v128 { return i8x16.sub(loNib(v128.load(w, 2)), i8x16.splat(8)); }
  // @ts-ignore: decorator
  @inline hi(w: usize): v128 { return i8x16.sub(hiNib(v128.load(w, 2)), i8x16.splat(8)); }
}
export class DIQ4_NL { // 18 B: d | qs[16]; K[nibble]
  // @ts-ignore: decorator
  @inline bytes(): usize { return 18; }
  // @ts-ignore: decorator
  @inline hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline lo(w: usize): v128 { return i8x16.swizzle(kvalues(), loNib(v128.load(w, 2))); }
  // @ts-ignore: decorator
  @inline hi(w: usize): v128 { return i8x16.swizzle(kvalues(), hiNib(v128.load(w, 2))); }
}
export class DQ5_0 { // 22 B: d | qh u32 | qs[16]; (nibble | bit << 4) - 16
  // @ts-ignore: decorator
  @inline bytes(): usize { return 22; }
  // @ts-ignore: decorator
  @inline hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline lo(w: usize): v128 { return i8x16.sub(v128.or(loNib(v128.load(w, 6)), q5hi(load<u32>(w, 2), false)), i8x16.splat(16)); }
  // @ts-ignore: decorator
  @inline hi(w: usize): v128 { return i8x16.sub(v128.or(hiNib(v128.load(w, 6)), q5hi(load<u32>(w, 2), true)), i8x16.splat(16)); }
}
export class DQ4_1 { // 20 B: d | m | qs[16]
  // @ts-ignore: decorator
  @inline bytes(): usize { return 20; }
  // @ts-ignore: decorator
  @inline hasMin(): bool { return true; }
  // @ts-ignore: decorator
  @inline lo(w: usize): v128 { return loNib(v128.load(w, 4)); }
  // @ts-ignore: decorator
  @inline hi(w: usize): v128 { return hiNib(v128.load(w, 4)); }
}
export class DQ5_1 { // 24 B: d | m | qh u32 | qs[16]
  // @ts-ignore: decorator
  @inline bytes(): usize { return 24; }
  // @ts-ignore: decorator
  @inline hasMin(): bool { return true; }
  // @ts-ignore: decorator
  @inline lo(w: usize): v128 { return v128.or(loNib(v128.load(w, 8)), q5hi(load<u32>(w, 4), false)); }
  // @ts-ignore: decorator
  @inline hi(w: usize): v128 { return v128.or(hiNib(v128.load(w, 8)), q5hi(load<u32>(w, 4), true)); }
}

/**
 * Chain order, 1 weight row × 4 tokens (activation rows a0..a3; sd: this tile's first column of
 * the scale table, tP columns). Returns the 4 outputs as f32x4.
 */
// @ts-ignore: decorator
@inline function chainTile4<D>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize, check: bool): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  const step = <usize>tP << 2, sOff = <usize>nb * step, mOff = <usize>nb << 2;
  let c0 = f64x2.splat(0), c1 = c0;
  for (let b = 0; b < nb; b++, w += wb, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    const lo = dec.lo(w), hi = dec.hi(w);
    const e0 = even16(lo), o0 = odd16(lo), e1 = even16(hi), o1 = odd16(hi);
    const is = hsum4(dotEO(e0, o0, e1, o1, a0), dotEO(e0, o0, e1, o1, a1), dotEO(e0, o0, e1, o1, a2), dotEO(e0, o0, e1, o1, a3));
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd)); // fround(dw·da), 4 tokens (dw decoded by rowScales)
    const p0 = f64x2.mul(f64x2.convert_low_i32x4_s(is), lo64(d)); // |isum| < 2^24: exact either way
    const p1 = f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(is, is, 2, 3, 0, 1)), hi64(d));
    const s0 = f64x2.add(p0, c0), s1 = f64x2.add(p1, c1);
    let r0 = round2(s0), r1 = round2(s1);
    // one cheap midpoint test for both pairs (fma.as suspectMid: ~1% of lanes, mostly true ties);
    // fixV returns the reference's result on every lane, so running it on a tie changes nothing
    if (check && v128.any_true(v128.or(suspectMid(s0), suspectMid(s1)))) { r0 = fixV(p0, c0, s0, r0); r1 = fixV(p1, c1, s1, r1); }
    c0 = r0; c1 = r1;
    if (withMin) {
      const m = f64x2.splat(<f64>load<f32>(scr + mOff)), sa = v128.load(sd + sOff);
      c0 = fma2m(f64x2.mul(m, lo64(sa)), c0); c1 = fma2m(f64x2.mul(m, hi64(sa)), c1);
    }
  }
  return pack4(c0, c1);
}

/** chainTile4 for a group of 1 or 2 tokens (a1 == a0 for one): outputs in lanes 0, 1. */
// @ts-ignore: decorator
@inline function chainTile2<D>(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  const step = <usize>tP << 2, sOff = <usize>nb * step, mOff = <usize>nb << 2;
  let c0 = f64x2.splat(0);
  for (let b = 0; b < nb; b++, w += wb, a0 += A8, a1 += A8, sd += step, scr += 4) {
    const lo = dec.lo(w), hi = dec.hi(w);
    const e0 = even16(lo), o0 = odd16(lo), e1 = even16(hi), o1 = odd16(hi);
    const x = dotEO(e0, o0, e1, o1, a0), y = dotEO(e0, o0, e1, o1, a1);
    const t = i32x4.add(i32x4.shuffle(x, y, 0, 4, 1, 5), i32x4.shuffle(x, y, 2, 6, 3, 7)); // [x0+x2, y0+y2, x1+x3, y1+y3]
    const is = i32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1)); // lanes 0, 1: [Σx, Σy], hsum4's order
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load64_zero(sd)); // fround(dw·da), 2 tokens
    const p0 = f64x2.mul(f64x2.convert_low_i32x4_s(is), lo64(d));
    const s0 = f64x2.add(p0, c0);
    let r0 = round2(s0);
    if (v128.any_true(suspectMid(s0))) r0 = fixV(p0, c0, s0, r0);
    c0 = r0;
    if (withMin) c0 = fma2m(f64x2.mul(f64x2.splat(<f64>load<f32>(scr + mOff)), lo64(v128.load64_zero(sd + sOff))), c0);
  }
  return pack4(c0, c0);
}

/**
 * A weight row's block scales as f32 at scr (nb of them; then the nb mins for Q4_1 / Q5_1),
 * decoded once per row instead of once per tile. Exact (common.as f16).
 */
// @ts-ignore: decorator
@inline export function rowScales<D>(w: usize, nb: i32, scr: usize): void {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), mOff = <usize>nb << 2;
  for (let b = 0; b < nb; b++, w += wb, scr += 4) {
    store<f32>(scr, f16(load<u16>(w)));
    if (dec.hasMin()) store<f32>(scr + mOff, f16(load<u16>(w, 2)));
  }
}

// The chain step's double-rounding test is skipped on tiles where every f64 add is provably exact:
// lanes.as's bound with |isum_b| <= 32·128·128 = 2^19 instead of 2^16, i.e. span(row) · span(token) <= 2^33
// (the row's span kept as f64 after its scales in scr, the tokens' at @76 of their A8 rows).
const CHAIN_LIM: f64 = 8589934592; // 2^33
let chainFast: i32 = 0, chainChecked: i32 = 0;
/** Test hook: this instance's chain tiles since instantiation, [0] unchecked, [1] checked. */
export function chainTileCount(kind: i32): i32 { return kind == 0 ? chainFast : chainChecked; }

// @ts-ignore: decorator
@inline function maxSpan4(a0: usize, a1: usize, a2: usize, a3: usize): f64 {
  return <f64>max(max(load<f32>(a0, 76), load<f32>(a1, 76)), max(load<f32>(a2, 76), load<f32>(a3, 76)));
}

class Chain4<D> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {
    rowScales<D>(w, nb, scr);
    store<f64>(scr + (<usize>nb << 3), NaN); // the row's span: computed by its first tile4
  } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
    let rw = load<f64>(scr + (<usize>nb << 3));
    if (isNaN(rw)) { // the row's span, once per row and only where a 4-token tile runs (not in the single-token matmul)
      rw = rowSpan(scr, nb);
      store<f64>(scr + (<usize>nb << 3), rw);
    }
    if (rw * maxSpan4(a0, a1, a2, a3) <= CHAIN_LIM) {
      chainFast++;
      return chainTile4<D>(w, a0, a1, a2, a3, sd, tP, nb, scr, false);
    }
    chainChecked++;
    return chainTile4<D>(w, a0, a1, a2, a3, sd, tP, nb, scr, true);
  } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return chainTile2<D>(w, a0, a1, sd, tP, nb, scr); }
}

// Chain kernels: (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread) —
// see drive1x4; scr + thread·scrStride: this thread's scratch (>= 8·nb bytes) for rowScales.
// chain order (AMX / repack buffers)
export function chainQ8_0(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Chain4<DQ8_0>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainQ4_0(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Chain4<DQ4_0>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainIQ4_NL(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Chain4<DIQ4_NL>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainQ4_1(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Chain4<DQ4_1>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }

// AssemblyScript, relaxed-SIMD module only: the lanes-order kernels of legacy.as (ggml_vec_dot_* /
// tinyBLAS_Q0_AVX: per output 8 f32 lanes, lane l owning elements 4l..4l+3 of every block,
//   lane = fma(fround(dw·da), f32(isum_l), lane); result hsum8 [+ the Q4_1/Q5_1 summs chain])
// with the per-block step as f32x4.relaxed_madd, used only after relaxed-check.as selfCheck()
// shows it fused (then it IS the reference's fma32: one instruction for four lanes).
// Tiles: 1 weight row × 4 tokens (drive1x4): the row's block scales decoded once (rowScales), the
// weight block widened once per tile, and dw·da for the 4 tokens as one f32x4 multiply from the
// prepared scale table (quantize.as; column t holds token t's da, then its Q8_1 s).
import { A8_BYTES, drive1x4, f16 } from "./common";
import { DIQ4_NL, DQ4_0, DQ4_1, DQ5_0, DQ5_1, DQ8_0, even16, odd16, rowScales } from "./legacy";
import { rowWiden } from "./lanes";

const A8 = A8_BYTES;

/** ggml hsum_float_8 of lanes (a, b): t = a + b, then (t0 + t2) + (t1 + t3). */
// @ts-ignore: decorator
@inline function hsum8(a: v128, b: v128): f32 {
  const t = f32x4.add(a, b);
  const u = f32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1));
  return f32x4.extract_lane(u, 0) + f32x4.extract_lane(u, 1);
}

/** The 8 exact lane sums of one block against one token: [quads 0-3], [quads 4-7] (legacy.as lanes1x2). */
// @ts-ignore: decorator
@inline function laneLo(e0: v128, o0: v128, a: usize): v128 { return i32x4.add(i32x4.dot_i16x8_s(e0, v128.load(a)), i32x4.dot_i16x8_s(o0, v128.load(a, 16))); }
// @ts-ignore: decorator
@inline function laneHi(e1: v128, o1: v128, a: usize): v128 { return i32x4.add(i32x4.dot_i16x8_s(e1, v128.load(a, 32)), i32x4.dot_i16x8_s(o1, v128.load(a, 48))); }

/** Q8_0 and Q4_1 blocks decode in a few ops: per tile; the others are widened once per row (rowWiden; measured). */
// @ts-ignore: decorator
@inline function inlineDecode<D>(): bool { const n = changetype<D>(0).bytes(); return n == 34 || n == 20; }

/** lanes order, 1 weight row × 4 tokens (four = false: tokens a0, a1 only, lanes 2, 3 unset); returns the outputs as f32x4. */
// @ts-ignore: decorator
@inline function lanesTile4<D>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize, four: bool): v128 {
  const dec = changetype<D>(0);
  const withMin = dec.hasMin();
  const step = <usize>tP << 2, sOff = <usize>nb * step, mOff = <usize>nb << 2;
  let l0 = f32x4.splat(0), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0, sm = l0;
  const q8 = inlineDecode<D>();
  let q = scr + (<usize>nb << 3);
  for (let b = 0; b < nb; b++, w += dec.bytes(), q += 64, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    let e0: v128, o0: v128, e1: v128, o1: v128;
    if (q8) {
      const lo = dec.lo(w), hi = dec.hi(w);
      e0 = even16(lo); o0 = odd16(lo); e1 = even16(hi); o1 = odd16(hi);
    } else {
      e0 = v128.load(q); o0 = v128.load(q, 16); e1 = v128.load(q, 32); o1 = v128.load(q, 48);
    }
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd)); // fround(dw·da) of the 4 tokens
    let s = i32x4.shuffle(d, d, 0, 0, 0, 0); // |isum_l| <= 4·128·127: the conversions are exact
    l0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneLo(e0, o0, a0)), s, l0);
    h0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneHi(e1, o1, a0)), s, h0);
    s = i32x4.shuffle(d, d, 1, 1, 1, 1);
    l1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneLo(e0, o0, a1)), s, l1);
    h1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneHi(e1, o1, a1)), s, h1);
    if (four) {
      s = i32x4.shuffle(d, d, 2, 2, 2, 2);
      l2 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneLo(e0, o0, a2)), s, l2);
      h2 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneHi(e1, o1, a2)), s, h2);
      s = i32x4.shuffle(d, d, 3, 3, 3, 3);
      l3 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneLo(e0, o0, a3)), s, l3);
      h3 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneHi(e1, o1, a3)), s, h3);
    }
    if (withMin) sm = f32x4.relaxed_madd(f32x4.splat(load<f32>(scr + mOff)), v128.load(sd + sOff), sm); // summs = fma(mw, s, summs)
  }
  let r = f32x4.splat(hsum8(l0, h0));
  r = f32x4.replace_lane(r, 1, hsum8(l1, h1));
  if (four) {
    r = f32x4.replace_lane(r, 2, hsum8(l2, h2));
    r = f32x4.replace_lane(r, 3, hsum8(l3, h3));
  }
  return withMin ? f32x4.add(r, sm) : r;
}

class LanesM<D> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {
    if (inlineDecode<D>()) rowScales<D>(w, nb, scr);
    else rowWiden<D>(w, nb, scr);
  } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return lanesTile4<D>(w, a0, a1, a2, a3, sd, tP, nb, scr, true); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return lanesTile4<D>(w, a0, a1, a0, a0, sd, tP, nb, scr, false); }
}

/** lanes order, weight rows A, B × one token (the single-token matmul: no duplicate tokens); outputs in lanes 0, 1. */
// @ts-ignore: decorator
@inline function rows2<D>(wA: usize, wB: usize, a: usize, nb: i32): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  let lA = f32x4.splat(0), hA = lA, lB = lA, hB = lA, sm = lA;
  for (let b = 0; b < nb; b++, wA += wb, wB += wb, a += A8) {
    const x = load<f32>(a, 64);
    let lo = dec.lo(wA), hi = dec.hi(wA);
    let s = f32x4.splat(f16(load<u16>(wA)) * x); // fround(dw·da)
    lA = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneLo(even16(lo), odd16(lo), a)), s, lA);
    hA = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneHi(even16(hi), odd16(hi), a)), s, hA);
    lo = dec.lo(wB); hi = dec.hi(wB);
    s = f32x4.splat(f16(load<u16>(wB)) * x);
    lB = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneLo(even16(lo), odd16(lo), a)), s, lB);
    hB = f32x4.relaxed_madd(f32x4.convert_i32x4_s(laneHi(even16(hi), odd16(hi), a)), s, hB);
    if (withMin) {
      const m = f32x4.replace_lane(f32x4.splat(f16(load<u16>(wA, 2))), 1, f16(load<u16>(wB, 2)));
      sm = f32x4.relaxed_madd(m, f32x4.splat(load<f32>(a, 68)), sm);
    }
  }
  const r = f32x4.replace_lane(f32x4.splat(hsum8(lA, hA)), 1, hsum8(lB, hB));
  return withMin ? f32x4.add(r, sm) : r;
}

/** drive1x4<LanesM<D>>, or for one token rows2 tiles over rows [r0, r1) (out: that token's ne1 outputs). */
// @ts-ignore: decorator
@inline function driveM<D>(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize,
): void {
  if (nTok != 1) return drive1x4<LanesM<D>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr);
  for (let r = r0; r < r1; r += 2) {
    const wA = w + <usize>r * ws, hasB = r + 1 < r1;
    const v = rows2<D>(wA, hasB ? wA + ws : wA, a, nb);
    store<f32>(out + (<usize>r << 2), f32x4.extract_lane(v, 0));
    if (hasB) store<f32>(out + (<usize>r << 2), f32x4.extract_lane(v, 1), 4);
  }
}

// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread): as legacy.as's chain kernels.
export function lanesQ8_0M(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveM<DQ8_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
}
export function lanesQ4_0M(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveM<DQ4_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
}
export function lanesIQ4_NLM(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveM<DIQ4_NL>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
}
export function lanesQ4_1M(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveM<DQ4_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
}
export function lanesQ5_0M(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveM<DQ5_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
}
export function lanesQ5_1M(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  driveM<DQ5_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
}

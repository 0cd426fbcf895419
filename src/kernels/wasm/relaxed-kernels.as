// AssemblyScript, relaxed-SIMD module only: the chain-order kernels of legacy.as (Q8_0, Q4_0,
// IQ4_NL, Q4_1) with two relaxed instructions, used only after relaxed-check.as selfCheck() passes:
//
// f32x4.relaxed_madd for the per-block step acc = fma32(f32(isum), fround(dw·da), acc) (and Q4_1's
//   acc = fma32(m, s, acc)). Where it is fused (x64 with FMA3: vfmadd; checked below on inputs
//   whose fused and unfused results differ) it IS the reference's fma32, one instruction for four
//   outputs instead of the exact f64 emulation of fma.as (~20 instructions).
// i16x8.relaxed_dot_i8x16_i7x16_s for Q4_0 · Q8_0: exact only when every second-operand lane is in
//   [0, 127] (x64 lowers it to pmaddubsw with that operand unsigned); here that operand is the
//   weight nibbles 0..15 and the other the activation's int8 quants (any value), so
//   Σ(n - 8)·q = Σ n·q - 8·Σq with Σq from the prepared scale table (quantize.as). Pair sums are
//   <= 2·128·15 = 3840, so the two halves add in i16 before widening. (A Q8_0 · Q8_0 integer
//   variant, which must split the activation into two 7-bit halves, was slower than the baseline
//   dot and was dropped.)
// The fused i32x4.relaxed_dot_i8x16_i7x16_add_s is not used: Node 20's V8 miscomputes it.
import { A8_BYTES, drive1x4, hsum4 } from "./common";
import { DIQ4_NL, DQ4_0, DQ4_1, DQ8_0, dotEO, even16, odd16, rowScales } from "./legacy";

const A8 = A8_BYTES;

/** legacy.as chainTile4 with the block step as one fused multiply-add over the 4 tokens. */
// @ts-ignore: decorator
@inline function maddTile4<D>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  const step = <usize>tP << 2, sOff = <usize>nb * step, mOff = <usize>nb << 2;
  let c = f32x4.splat(0);
  for (let b = 0; b < nb; b++, w += wb, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    const lo = dec.lo(w), hi = dec.hi(w);
    const e0 = even16(lo), o0 = odd16(lo), e1 = even16(hi), o1 = odd16(hi);
    const is = hsum4(dotEO(e0, o0, e1, o1, a0), dotEO(e0, o0, e1, o1, a1), dotEO(e0, o0, e1, o1, a2), dotEO(e0, o0, e1, o1, a3));
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd)); // fround(dw·da)
    c = f32x4.relaxed_madd(f32x4.convert_i32x4_s(is), d, c); // |isum| < 2^24: the conversion is exact
    if (withMin) c = f32x4.relaxed_madd(f32x4.splat(load<f32>(scr + mOff)), v128.load(sd + sOff), c);
  }
  return c;
}

/** maddTile4 for a last group of 1 or 2 tokens (lanes 0, 1). */
// @ts-ignore: decorator
@inline function maddTile2<D>(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const dec = changetype<D>(0);
  const wb = dec.bytes(), withMin = dec.hasMin();
  const step = <usize>tP << 2, sOff = <usize>nb * step, mOff = <usize>nb << 2;
  let c = f32x4.splat(0);
  for (let b = 0; b < nb; b++, w += wb, a0 += A8, a1 += A8, sd += step, scr += 4) {
    const lo = dec.lo(w), hi = dec.hi(w);
    const e0 = even16(lo), o0 = odd16(lo), e1 = even16(hi), o1 = odd16(hi);
    const x = dotEO(e0, o0, e1, o1, a0), y = dotEO(e0, o0, e1, o1, a1);
    const t = i32x4.add(i32x4.shuffle(x, y, 0, 4, 1, 5), i32x4.shuffle(x, y, 2, 6, 3, 7));
    const is = i32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1)); // lanes 0, 1: [Σx, Σy]
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load64_zero(sd));
    c = f32x4.relaxed_madd(f32x4.convert_i32x4_s(is), d, c);
    if (withMin) c = f32x4.relaxed_madd(f32x4.splat(load<f32>(scr + mOff)), v128.load64_zero(sd + sOff), c);
  }
  return c;
}

class Madd<D> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void { rowScales<D>(w, nb, scr); } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return maddTile4<D>(w, a0, a1, a2, a3, sd, tP, nb, scr); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return maddTile2<D>(w, a0, a1, sd, tP, nb, scr); }
}

// @ts-ignore: decorator
@inline function dotQ4R(lo: v128, hi: v128, a: usize): v128 {
  const s = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 80), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 96), hi));
  return i32x4.extadd_pairwise_i16x8_s(s);
}

/** Q4_0 with the relaxed dot and the fused block step. */
// @ts-ignore: decorator
@inline function tileQ4_0R(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const step = <usize>tP << 2, sOff = <usize>nb * step;
  const m = i8x16.splat(15);
  let c = f32x4.splat(0);
  for (let b = 0; b < nb; b++, w += 18, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    const v = v128.load(w, 2);
    const lo = v128.and(v, m), hi = i8x16.shr_u(v, 4);
    const is = i32x4.sub(hsum4(dotQ4R(lo, hi, a0), dotQ4R(lo, hi, a1), dotQ4R(lo, hi, a2), dotQ4R(lo, hi, a3)), i32x4.shl(v128.load(sd + sOff), 3));
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd));
    c = f32x4.relaxed_madd(f32x4.convert_i32x4_s(is), d, c);
  }
  return c;
}

class KQ4_0R { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void { rowScales<DQ4_0>(w, nb, scr); } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ4_0R(w, a0, a1, a2, a3, sd, tP, nb, scr); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ4_0R(w, a0, a1, a0, a0, sd, tP, nb, scr); }
}

// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread): legacy.as chain kernels.
export function chainQ8_0M(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Madd<DQ8_0>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainIQ4_NLM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Madd<DIQ4_NL>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainQ4_1M(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<Madd<DQ4_1>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainQ4_0R(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<KQ4_0R>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }

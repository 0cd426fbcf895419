// AssemblyScript, relaxed-SIMD module only: the chain-order kernels of legacy.as (Q8_0, Q4_0,
// IQ4_NL, Q4_1) with two relaxed instructions, used only after selfCheck() passes:
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
import { chainIQ4_NL, chainQ4_0, chainQ4_1, chainQ8_0, DIQ4_NL, DQ4_0, DQ4_1, DQ8_0, dotEO, even16, odd16, rowScales } from "./legacy";
import { lanesQ4_1, lanesQ8_0 } from "./lanes";
import { lanesQ4_1M, lanesQ8_0M } from "./relaxed-lanes";
import { prepareActivations } from "./quantize";

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

/** Number of lanes where relaxed_madd(a, b, c) is not the fused result, on inputs where fused and
 *  unfused differ: a·b = 1 + 2^-11 + 2^-24 exactly; with c = -(1 + 2^-11) fused gives 2^-24,
 *  separate rounding gives 0 (and the other lanes variations of it). */
function maddCheck(): i32 {
  const e: f32 = 1 + <f32>Math.pow(2, -12);
  const a = f32x4(e, e, -e, 3 * e), b = f32x4(e, -e, e, e);
  const c = f32x4(-(1 + <f32>Math.pow(2, -11)), 1 + <f32>Math.pow(2, -11), 1 + <f32>Math.pow(2, -11), -3 * (1 + <f32>Math.pow(2, -11)));
  const want = f32x4(<f32>Math.pow(2, -24), -<f32>Math.pow(2, -24), -<f32>Math.pow(2, -24), 3 * <f32>Math.pow(2, -24));
  const got = f32x4.relaxed_madd(a, b, c);
  return i32x4.bitmask(v128.not(f32x4.eq(got, want))) != 0 ? 1 : 0;
}

/**
 * Exactness self-check at `p` (needs ~64 KiB): relaxed_madd must be fused; then each relaxed
 * chain kernel, and the lanes kernels with and without a min term, against its baseline twin in this module: 3 weight rows x 5 tokens x 256 elements,
 * activations hitting ±127, nibble 15. Returns the number of mismatches (0 = usable).
 */
export function selfCheck(p: usize): i32 {
  if (maddCheck() != 0) return 1 << 20;
  const n = 256, rows = 3, toks = 5, nb = n >> 5, tP = 8;
  const x = p, blk = x + 4 * n * toks, act = blk + 1024, w = act + A8 * nb * toks;
  const o1 = w + 34 * nb * rows + 64, o2 = o1 + 4 * rows * toks, sd = o2 + 4 * rows * toks + 64;
  const scr = sd + 8 * nb * tP; // rowScales scratch (8·nb bytes) after the scale table
  let s: u32 = 12345;
  for (let i = 0; i < n * toks; i++) {
    s = s * 1103515245 + 12345;
    let v = <f32>((s >>> 8) & 0xffff) / 32768 - 1;
    if ((i & 31) == 7) v = (i & 64) ? 5 : -5; // block extremes -> ±127
    store<f32>(x + (<usize>i << 2), v);
  }
  for (let i = 0; i < 34 * nb * rows; i++) { s = s * 1103515245 + 12345; store<u8>(w + i, <u8>(s >>> 24)); }
  for (let r = 0; r < rows * nb; r++) store<u16>(w + 34 * r, 0x3800 + <u16>(r & 0xff)); // Q8_0 scales (row stride 34·nb)
  let bad = 0;
  for (let k = 0; k < 4; k++) {
    const wb: usize = k == 0 ? 34 : k == 3 ? 20 : 18; // Q8_0, Q4_0, IQ4_NL, Q4_1 block bytes (the same random bytes, any scales)
    const isQ8_1 = k == 3 ? 1 : 0;
    if (k == 1 || k == 2) for (let r = 0; r < rows * nb; r++) store<u16>(w + 18 * r, 0x3800 + <u16>(r & 0xff));
    if (k == 3) for (let r = 0; r < rows * nb; r++) { store<u16>(w + 20 * r, 0x3400 + <u16>(r & 0xff)); store<u16>(w + 20 * r + 2, 0xb400 + <u16>(r & 0x7f)); }
    prepareActivations(x, toks, n, isQ8_1, blk, act, A8 * nb, sd, tP, 0);
    const ws = wb * <usize>nb;
    if (k == 0) { chainQ8_0(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0); chainQ8_0M(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
    if (k == 1) { chainQ4_0(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0); chainQ4_0R(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
    if (k == 2) { chainIQ4_NL(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0); chainIQ4_NLM(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
    if (k == 3) { chainQ4_1(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0); chainQ4_1M(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
    for (let i = 0; i < rows * toks; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
    if (k == 0 || k == 3) { // lanes order (relaxed-lanes.as), the two block kinds: with and without the min term
      if (k == 0) { lanesQ8_0(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0); lanesQ8_0M(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
      else { lanesQ4_1(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0); lanesQ4_1M(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
      for (let i = 0; i < rows * toks; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
    }
  }
  return bad;
}

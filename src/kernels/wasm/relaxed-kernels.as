// AssemblyScript, relaxed-SIMD module only: Q4_0 · Q8_0 in the chain order of legacy.as with a
// faster integer dot. i16x8.relaxed_dot_i8x16_i7x16_s(a, b) is exact only when every b lane is in
// [0, 127] (x64 lowers it to pmaddubsw with b as the unsigned operand); here a = the activation's
// int8 quants (any value) and b = the weight nibbles 0..15, so Σ(n - 8)·q = Σ n·q - 8·Σq with Σq
// from the prepared scale table (quantize.as). Pair sums are <= 2·128·15 = 3840, so the two
// halves add in i16 before widening. (A Q8_0 · Q8_0 variant, which must split the activation
// into two 7-bit halves, was slower than the 1x4 baseline tiles and was dropped.)
// The fused i32x4.relaxed_dot_i8x16_i7x16_add_s is not used: Node 20's V8 miscomputes it.
import { drive1x4, hsum4 } from "./common";
import { fixV, hi64, lo64, pack4, round2, suspectMid } from "./fma";
import { chainQ4_0, DQ4_0, rowScales } from "./legacy";
import { prepareActivations } from "./quantize";

const A8: usize = 112;

// @ts-ignore: decorator
@inline function dotQ4R(lo: v128, hi: v128, a: usize): v128 {
  const s = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 80), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 96), hi));
  return i32x4.extadd_pairwise_i16x8_s(s);
}

/** legacy.as chainTile4 for Q4_0 with the relaxed dot. */
// @ts-ignore: decorator
@inline function tileQ4_0R(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const step = <usize>tP << 2, sOff = <usize>nb * step;
  const m = i8x16.splat(15);
  let c0 = f64x2.splat(0), c1 = c0;
  for (let b = 0; b < nb; b++, w += 18, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    const v = v128.load(w, 2);
    const lo = v128.and(v, m), hi = i8x16.shr_u(v, 4);
    const is = i32x4.sub(hsum4(dotQ4R(lo, hi, a0), dotQ4R(lo, hi, a1), dotQ4R(lo, hi, a2), dotQ4R(lo, hi, a3)), i32x4.shl(v128.load(sd + sOff), 3));
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd));
    const p0 = f64x2.mul(f64x2.convert_low_i32x4_s(is), lo64(d));
    const p1 = f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(is, is, 2, 3, 0, 1)), hi64(d));
    const s0 = f64x2.add(p0, c0), s1 = f64x2.add(p1, c1);
    let r0 = round2(s0), r1 = round2(s1);
    if (v128.any_true(v128.or(suspectMid(s0), suspectMid(s1)))) { // as legacy.as chainTile4
      r0 = fixV(p0, c0, s0, r0); r1 = fixV(p1, c1, s1, r1); }
    c0 = r0; c1 = r1;
  }
  return pack4(c0, c1);
}

class KQ4_0R { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void { rowScales<DQ4_0>(w, nb, scr); } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ4_0R(w, a0, a1, a2, a3, sd, tP, nb, scr); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return tileQ4_0R(w, a0, a1, a0, a0, sd, tP, nb, scr); }
}

export function chainQ4_0R(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<KQ4_0R>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }

/**
 * Exactness self-check at `p` (needs ~64 KiB): 3 weight rows x 5 tokens x 256 elements, with
 * nibbles 0..15 and activations hitting ±127. Returns the number of outputs where the relaxed
 * kernel differs from its baseline twin (0 = usable).
 */
export function selfCheck(p: usize): i32 {
  const n = 256, rows = 3, toks = 5, nb = n >> 5, tP = 8;
  const x = p, blk = x + 4 * n * toks, act = blk + 1024, w4 = act + A8 * nb * toks;
  const o1 = w4 + 18 * nb * rows + 64, o2 = o1 + 4 * rows * toks, sd = o2 + 4 * rows * toks + 64;
  let s: u32 = 12345;
  for (let i = 0; i < n * toks; i++) {
    s = s * 1103515245 + 12345;
    let v = <f32>((s >>> 8) & 0xffff) / 32768 - 1;
    if ((i & 31) == 7) v = (i & 64) ? 5 : -5; // block extremes -> ±127
    store<f32>(x + (<usize>i << 2), v);
  }
  for (let r = 0; r < rows * nb; r++) {
    store<u16>(w4 + 18 * r, 0x3800 + <u16>(r & 0xff));
    for (let j = 0; j < 16; j++) { s = s * 1103515245 + 12345; store<u8>(w4 + 18 * r + 2 + j, <u8>(j == 0 ? 0xff : s >>> 24)); }
  }
  prepareActivations(x, toks, n, 0, blk, act, A8 * nb, sd, tP, 0);
  let bad = 0;
  const scr = sd + 8 * nb * tP; // rowScales scratch (8·nb bytes) after the scale table
  chainQ4_0(w4, 18 * nb, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0);
  chainQ4_0R(w4, 18 * nb, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0);
  for (let i = 0; i < rows * toks; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
  return bad;
}

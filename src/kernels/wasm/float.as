// AssemblyScript. F16 / F32 / BF16 weight kernels, in the reference's exact f32 orders:
//   F16 (AMX tinygemm_kernel_avx, matmul-amx.ts amxDotF16; and the CPU path's tinyBLAS<16, fp16>,
//     matmul-cpu.ts sgemmDotF16, fed an fp16-rounded activation): 16 lanes, lane j = fma32 chain
//     over k ≡ j (mod 16), then reduceAdd16.                                  -> f16Sgemm
//   F32 tinyBLAS<16, f32> (matmul-cpu.ts, M >= 2, K % 16 == 0, N % 4 == 0): the same 16 lanes
//     with fma32 lanes (fmaMul).                                              -> f32Sgemm
//   F32 ggml_vec_dot_f32 (ggml-order.ts vecDotF32): 4×16 lanes over 64-element steps, folded
//     (0+2, 1+3, 0+1), reduceAdd16, then the tail rule.                      -> f32VecDot
//   BF16 tinyBLAS<32, bf16> (sgemmDotBF16): 16 VDPBF16PS lanes over steps of 32, lane j takes
//     the pair (2j, 2j+1): odd product first, each add rounded to f32 with FTZ; DAZ inputs.
//                                                                            -> bf16Sgemm
// F16/F32 activations arrive as f64 (quantize.as prepareFloatActivations: promoted once, so the
// products are formed exactly with one f64x2.mul); BF16 activations as DAZ'd f32.
// A 2x2 tile walks the 16 lanes a quarter (4 lanes) at a time: 8 f64x2 accumulators.
import { accA, accB, drive2x2, f16x4 } from "./common";
import { fixV, fma1, hi64, lo64, fmaMul, pack4, reduce16, round2, suspect, vecTail8 } from "./fma";

const TINY: f64 = 1.1754943508222875e-38; // 2^-126

/** Four fp16 weights at p as f32x4. */
// @ts-ignore: decorator
@inline function h4(p: usize): v128 {
  return f16x4(i32x4.extend_low_i16x8_u(v128.load64_zero(p)));
}

// One quarter q (lanes 4q..4q+3) of a 16-lane F16 or F32 tile (exact fma32 lanes); the eight
// products share one suspect check per step (fma.as). Leaves the 4 outputs' lanes as f32x4
// in qAa qAb qBa qBb (row A token a, row A token b, row B token a, row B token b).
let qAa: v128 = f64x2.splat(0), qAb: v128 = qAa, qBa: v128 = qAa, qBb: v128 = qAa;

// @ts-ignore: decorator
@inline function quarter16(wA: usize, wB: usize, xa: usize, xb: usize, k: i32, q: i32, f16w: bool): void {
  let c0 = f64x2.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let i = q << 2; i < k; i += 16) {
    const va = f16w ? h4(wA + (<usize>i << 1)) : v128.load(wA + (<usize>i << 2));
    const vb = f16w ? h4(wB + (<usize>i << 1)) : v128.load(wB + (<usize>i << 2));
    const a0 = lo64(va), a1 = hi64(va), b0 = lo64(vb), b1 = hi64(vb);
    const pa = xa + (<usize>i << 3), pb = xb + (<usize>i << 3);
    const u0 = v128.load(pa), u1 = v128.load(pa, 16), v0 = v128.load(pb), v1 = v128.load(pb, 16);
    const p0 = f64x2.mul(u0, a0), p1 = f64x2.mul(u1, a1), p2 = f64x2.mul(v0, a0), p3 = f64x2.mul(v1, a1);
    const p4 = f64x2.mul(u0, b0), p5 = f64x2.mul(u1, b1), p6 = f64x2.mul(v0, b0), p7 = f64x2.mul(v1, b1);
    const s0 = f64x2.add(p0, c0), s1 = f64x2.add(p1, c1), s2 = f64x2.add(p2, c2), s3 = f64x2.add(p3, c3);
    const s4 = f64x2.add(p4, c4), s5 = f64x2.add(p5, c5), s6 = f64x2.add(p6, c6), s7 = f64x2.add(p7, c7);
    let r0 = round2(s0), r1 = round2(s1), r2 = round2(s2), r3 = round2(s3);
    let r4 = round2(s4), r5 = round2(s5), r6 = round2(s6), r7 = round2(s7);
    const sus = v128.or(v128.or(v128.or(suspect(s0), suspect(s1)), v128.or(suspect(s2), suspect(s3))),
      v128.or(v128.or(suspect(s4), suspect(s5)), v128.or(suspect(s6), suspect(s7))));
    if (v128.any_true(sus)) { // rare (fma.as): the reference's fix-up on every lane
      r0 = fixV(p0, c0, s0, r0); r1 = fixV(p1, c1, s1, r1); r2 = fixV(p2, c2, s2, r2); r3 = fixV(p3, c3, s3, r3);
      r4 = fixV(p4, c4, s4, r4); r5 = fixV(p5, c5, s5, r5); r6 = fixV(p6, c6, s6, r6); r7 = fixV(p7, c7, s7, r7);
    }
    c0 = r0; c1 = r1; c2 = r2; c3 = r3; c4 = r4; c5 = r5; c6 = r6; c7 = r7;
  }
  qAa = pack4(c0, c1); qAb = pack4(c2, c3); qBa = pack4(c4, c5); qBb = pack4(c6, c7);
}

/** The 16-lane 2x2 tile. */
// @ts-ignore: decorator
@inline function tile16(wA: usize, wB: usize, xa: usize, xb: usize, k: i32, f16w: bool): void {
  quarter16(wA, wB, xa, xb, k, 0, f16w);
  const a0 = qAa, b0 = qAb, c0 = qBa, d0 = qBb;
  quarter16(wA, wB, xa, xb, k, 1, f16w);
  const a1 = qAa, b1 = qAb, c1 = qBa, d1 = qBb;
  quarter16(wA, wB, xa, xb, k, 2, f16w);
  const a2 = qAa, b2 = qAb, c2 = qBa, d2 = qBb;
  quarter16(wA, wB, xa, xb, k, 3, f16w);
  accA = f64x2.replace_lane(f64x2.splat(<f64>reduce16(a0, a1, a2, qAa)), 1, <f64>reduce16(b0, b1, b2, qAb));
  accB = f64x2.replace_lane(f64x2.splat(<f64>reduce16(c0, c1, c2, qBa)), 1, <f64>reduce16(d0, d1, d2, qBb));
}

/** One group of 4 lanes (g: lanes 4g..4g+3) of ggml_vec_dot_f32's 64 lanes over np elements. */
// @ts-ignore: decorator
@inline function group64(w: usize, x: usize, np: i32, g: i32): v128 {
  let c0 = f64x2.splat(0), c1 = c0;
  for (let i = g << 2; i < np; i += 64) {
    const v = v128.load(w + (<usize>i << 2)), p = x + (<usize>i << 3);
    c0 = fmaMul(lo64(v), v128.load(p), c0);
    c1 = fmaMul(hi64(v), v128.load(p, 16), c1);
  }
  return pack4(c0, c1);
}

/** Folded lanes j4·4 .. j4·4+3: (acc[j] + acc[32+j]) + (acc[16+j] + acc[48+j]). */
// @ts-ignore: decorator
@inline function fold64(w: usize, x: usize, np: i32, j4: i32): v128 {
  const g0 = group64(w, x, np, j4), g1 = group64(w, x, np, j4 + 4), g2 = group64(w, x, np, j4 + 8), g3 = group64(w, x, np, j4 + 12);
  return f32x4.add(f32x4.add(g0, g2), f32x4.add(g1, g3));
}

/** ggml_vec_dot_f32 (ggml-order.ts vecDotF32) of an f32 weight row and an f64 activation row. */
function vecDotF32(w: usize, x: usize, n: i32): f32 {
  const np = n & ~63;
  let sum = reduce16(fold64(w, x, np, 0), fold64(w, x, np, 1), fold64(w, x, np, 2), fold64(w, x, np, 3));
  const tail8 = vecTail8(n);
  let i = np;
  for (; i < tail8; i++) sum = sum + load<f32>(w + (<usize>i << 2)) * <f32>load<f64>(x + (<usize>i << 3));
  for (; i < n; i++) sum = fma1(<f64>load<f32>(w + (<usize>i << 2)), load<f64>(x + (<usize>i << 3)), <f64>sum);
  return sum;
}

// --------------------------------------------------------------------------------------- BF16

/** 8 bf16 weights at p, DAZ (exponent 0 -> +0), as f32x4 of the odd and even elements. */
// @ts-ignore: decorator
@inline function bf16Daz(v: v128): v128 {
  const f = i32x4.shl(v, 16);
  return v128.andnot(f, i32x4.eq(v128.and(f, i32x4.splat(0x7f800000)), i32x4.splat(0)));
}

/** ftz(fround(s)) on two lanes: results below 2^-126 in magnitude become 0·r (sign kept). */
// @ts-ignore: decorator
@inline function ftzRound(s: v128): v128 {
  const r = round2(s);
  return v128.bitselect(f64x2.mul(r, f64x2.splat(0)), r, f64x2.lt(f64x2.abs(r), f64x2.splat(TINY)));
}

/** One VDPBF16PS step on lanes (2 of them): acc = ftz(ftz(acc + w1·x1) + w0·x0), all in f64 as the reference. */
// @ts-ignore: decorator
@inline function dp2(acc: v128, w1: v128, x1: v128, w0: v128, x0: v128): v128 {
  return ftzRound(f64x2.add(ftzRound(f64x2.add(acc, f64x2.mul(w1, x1))), f64x2.mul(w0, x0)));
}

/** Quarter q (lanes 4q..4q+3 = elements 8q..8q+7 of every 32) of the BF16 2x2 tile. */
// @ts-ignore: decorator
@inline function quarterBF16(wA: usize, wB: usize, xa: usize, xb: usize, k: i32, q: i32): void {
  let c0 = f64x2.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let e = q << 3; e < k; e += 32) {
    const wa = v128.load(wA + (<usize>e << 1)), wb = v128.load(wB + (<usize>e << 1));
    const aLo = bf16Daz(i32x4.extend_low_i16x8_u(wa)), aHi = bf16Daz(i32x4.extend_high_i16x8_u(wa));
    const bLo = bf16Daz(i32x4.extend_low_i16x8_u(wb)), bHi = bf16Daz(i32x4.extend_high_i16x8_u(wb));
    const aOdd = i32x4.shuffle(aLo, aHi, 1, 3, 5, 7), aEven = i32x4.shuffle(aLo, aHi, 0, 2, 4, 6);
    const bOdd = i32x4.shuffle(bLo, bHi, 1, 3, 5, 7), bEven = i32x4.shuffle(bLo, bHi, 0, 2, 4, 6);
    const ua = xa + (<usize>e << 2), ub = xb + (<usize>e << 2);
    const uLo = v128.load(ua), uHi = v128.load(ua, 16), vLo = v128.load(ub), vHi = v128.load(ub, 16);
    const uOdd = i32x4.shuffle(uLo, uHi, 1, 3, 5, 7), uEven = i32x4.shuffle(uLo, uHi, 0, 2, 4, 6);
    const vOdd = i32x4.shuffle(vLo, vHi, 1, 3, 5, 7), vEven = i32x4.shuffle(vLo, vHi, 0, 2, 4, 6);
    c0 = dp2(c0, lo64(aOdd), lo64(uOdd), lo64(aEven), lo64(uEven));
    c1 = dp2(c1, hi64(aOdd), hi64(uOdd), hi64(aEven), hi64(uEven));
    c2 = dp2(c2, lo64(aOdd), lo64(vOdd), lo64(aEven), lo64(vEven));
    c3 = dp2(c3, hi64(aOdd), hi64(vOdd), hi64(aEven), hi64(vEven));
    c4 = dp2(c4, lo64(bOdd), lo64(uOdd), lo64(bEven), lo64(uEven));
    c5 = dp2(c5, hi64(bOdd), hi64(uOdd), hi64(bEven), hi64(uEven));
    c6 = dp2(c6, lo64(bOdd), lo64(vOdd), lo64(bEven), lo64(vEven));
    c7 = dp2(c7, hi64(bOdd), hi64(vOdd), hi64(bEven), hi64(vEven));
  }
  qAa = pack4(c0, c1); qAb = pack4(c2, c3); qBa = pack4(c4, c5); qBb = pack4(c6, c7);
}

class KF16 { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, n: i32): void { tile16(wA, wB, aA, aB, n, true); }
}
class KF32 { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, n: i32): void { tile16(wA, wB, aA, aB, n, false); }
}
class KF32V {
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, n: i32): void {
    const r0 = vecDotF32(wA, aA, n), r1 = aB == aA ? r0 : vecDotF32(wA, aB, n);
    const r2 = wB == wA ? r0 : vecDotF32(wB, aA, n), r3 = wB == wA ? r1 : aB == aA ? r2 : vecDotF32(wB, aB, n);
    accA = f64x2.replace_lane(f64x2.splat(<f64>r0), 1, <f64>r1);
    accB = f64x2.replace_lane(f64x2.splat(<f64>r2), 1, <f64>r3);
  }
}
class KBF16 {
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, k: i32): void {
    quarterBF16(wA, wB, aA, aB, k, 0);
    const a0 = qAa, b0 = qAb, c0 = qBa, d0 = qBb;
    quarterBF16(wA, wB, aA, aB, k, 1);
    const a1 = qAa, b1 = qAb, c1 = qBa, d1 = qBb;
    quarterBF16(wA, wB, aA, aB, k, 2);
    const a2 = qAa, b2 = qAb, c2 = qBa, d2 = qBb;
    quarterBF16(wA, wB, aA, aB, k, 3);
    accA = f64x2.replace_lane(f64x2.splat(<f64>reduce16(a0, a1, a2, qAa)), 1, <f64>reduce16(b0, b1, b2, qAb));
    accB = f64x2.replace_lane(f64x2.splat(<f64>reduce16(c0, c1, c2, qBa)), 1, <f64>reduce16(d0, d1, d2, qBb));
  }
}

// nb = ne0 (elements) for the float kernels.
export function f16Sgemm(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KF16>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function f32Sgemm(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KF32>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function f32VecDot(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KF32V>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function bf16Sgemm(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KBF16>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }

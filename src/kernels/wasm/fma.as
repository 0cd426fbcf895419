// AssemblyScript. Exact f32 arithmetic of the reference (src/kernels/ggml-order.ts) on f64x2 lanes.
// Every value held in an f64 lane here is an f32 value (or an exact product of two).
//
// fma2: the reference's fma32(a, b, c) = the correctly rounded f32 fused multiply-add. a·b is
// exact in f64 (24 + 24 bits), so s = f64(a·b + c) is off only by the rounding of that one add,
// and f32(s) is wrong only when s is exactly halfway between two f32 values (double rounding).
// The fast path rounds s (f32.demote) and checks, per lane, whether s is such a midpoint (its
// low 29 mantissa bits are 0x10000000) or lies below the f32 normal range; only then (rare:
// true ties of short sums, or ~2^-29 of the inexact ones) does fixV run the reference's own
// algorithm (TwoSum), vectorized and inline, so the result is the reference's bit for bit. No
// call sits in the hot loops (V8 spills every live value around a call in a loop, which cost 2x).
// relaxed_madd is never used: it is not deterministic.
//
// fmaMul / fma1: fma2 of two f32 factors (vecDotF32, sgemmDotF32: ggml's f32 dot products are
// FMA chains, vfmadd231ps).

const TINY: f64 = 1.1754943508222875e-38; // 2^-126

/** Lanes whose f32 rounding of s might differ from the single-rounded fma (see header). */
// @ts-ignore: decorator
@inline export function suspect(s: v128): v128 {
  return v128.or(i64x2.eq(v128.and(s, i64x2.splat(0x1fffffff)), i64x2.splat(0x10000000)), f64x2.lt(f64x2.abs(s), f64x2.splat(TINY)));
}

/**
 * suspect() without the range test, for sums that provably stay 0 or in the f32 normal range
 * (results above 2^127 are never reached by any kernel here):
 * when every factor pair is built from fp16 values (dw, da, mw, sa of the Q8_0 / Q8_1 types),
 * all products and partial sums are multiples of 2^-71 (fp16 values are multiples of 2^-24,
 * their f32 product of 2^-48, rounding keeps multiples of 2^-71) and far below 2^127.
 */
// @ts-ignore: decorator
@inline export function suspectMid(s: v128): v128 {
  return i64x2.eq(v128.and(s, i64x2.splat(0x1fffffff)), i64x2.splat(0x10000000));
}

/**
 * Lanes where s = p + c (rounded to f64) is not the exact sum: (s − c) − p or (s − p) − c is
 * nonzero (Fast2Sum: one of them is the exact error, whichever operand is larger; an exact sum
 * makes both zero). Only an inexact s can have been rounded ONTO a midpoint: an exact midpoint is
 * a true tie, which f32.demote resolves to even just like the single rounding.
 */
// @ts-ignore: decorator
@inline export function inexact(p: v128, c: v128, s: v128): v128 {
  const z = f64x2.splat(0);
  return v128.or(f64x2.ne(f64x2.sub(f64x2.sub(s, c), p), z), f64x2.ne(f64x2.sub(f64x2.sub(s, p), c), z));
}

/** Lanes the fast path cannot round alone: an inexact sum on an f32 midpoint (fp16-scaled types). */
// @ts-ignore: decorator
@inline export function needsFixM(p: v128, c: v128, s: v128): v128 {
  return v128.and(suspectMid(s), inexact(p, c, s));
}

/** f64x2 lanes rounded to f32 and widened back. */
// @ts-ignore: decorator
@inline export function round2(s: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(s));
}

/**
 * The reference's fma32 fix-up (ggml-order.ts fma32) on two lanes, given p = a·b (exact), c,
 * s = p + c rounded to f64 and r = f32(s): the same steps, lane-wise, so applying it to a lane
 * that needed no fix returns r, as the reference does.
 */
// @ts-ignore: decorator
@inline export function fixV(p: v128, c: v128, s: v128, r: v128): v128 {
  const d = f64x2.sub(s, r);
  const other = f64x2.add(s, d);
  const bv = f64x2.sub(s, p);
  const e = f64x2.add(f64x2.sub(p, f64x2.sub(s, bv)), f64x2.sub(c, bv));
  const zero = f64x2.splat(0);
  const take = v128.and(v128.and(f64x2.eq(round2(other), other), f64x2.ne(d, zero)),
    v128.and(f64x2.ne(e, zero), i64x2.eq(f64x2.gt(e, zero), f64x2.gt(d, zero))));
  return v128.bitselect(other, r, take);
}

/** fma32(a, b, c) on two lanes from p = a·b (exact, f64x2) and c (f64x2 of f32 values). */
// @ts-ignore: decorator
@inline export function fma2(p: v128, c: v128): v128 {
  const s = f64x2.add(p, c);
  const r = round2(s);
  if (v128.any_true(suspect(s))) return fixV(p, c, s, r);
  return r;
}

/**
 * fma2 for the fp16-scaled types (Q8_0 / Q8_1 activations): their sums stay in the f32 normal
 * range (suspectMid) and are short (fp16 × fp16 scale products: ≤ 22 significant bits), so exact
 * sums landing on a midpoint, true ties, are frequent (~1% of the steps on model data): needsFixM
 * leaves those to f32.demote, so the fix-up branch is rarely taken. General operands (fma2: the
 * K-quants, F16) have long sums where ties are rare, and the cheaper suspect() test does.
 */
// @ts-ignore: decorator
@inline export function fma2m(p: v128, c: v128): v128 {
  const s = f64x2.add(p, c);
  const r = round2(s);
  if (v128.any_true(needsFixM(p, c, s))) return fixV(p, c, s, r);
  return r;
}

/** fma32(a, b, c) on two lanes (a, b, c f64x2 of f32 values): fma2 of the exact product. */
// @ts-ignore: decorator
@inline export function fmaMul(a: v128, b: v128, c: v128): v128 {
  return fma2(f64x2.mul(a, b), c);
}

/** Scalar fma32(a, b, c) of f32 values given as f64 (lane 0 of fma2). */
// @ts-ignore: decorator
@inline export function fma1(a: f64, b: f64, c: f64): f32 {
  return <f32>f64x2.extract_lane(fma2(f64x2.splat(a * b), f64x2.splat(c)), 0);
}

/** Lanes 0, 1 of an f32x4 as f64x2. */
// @ts-ignore: decorator
@inline export function lo64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

/** Lanes 2, 3 of an f32x4 as f64x2. */
// @ts-ignore: decorator
@inline export function hi64(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
}

/** fma32 of lanes 0, 1 of two f32x4 factor vectors into c. */
// @ts-ignore: decorator
@inline export function fmaLo(c: v128, x: v128, y: v128): v128 {
  return fma2(f64x2.mul(lo64(x), lo64(y)), c);
}

/** fma32 of lanes 2, 3 of two f32x4 factor vectors into c. */
// @ts-ignore: decorator
@inline export function fmaHi(c: v128, x: v128, y: v128): v128 {
  return fma2(f64x2.mul(hi64(x), hi64(y)), c);
}

/** Two f64x2 of f32 values as one f32x4 [a0, a1, b0, b1] (exact). */
// @ts-ignore: decorator
@inline export function pack4(a: v128, b: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}

/** hsum_float_8 of lanes [a | b] (f32x4 each): (l_i + l_{i+4}), then (0+2) + (1+3), all f32. */
// @ts-ignore: decorator
@inline export function hsum8(a: v128, b: v128): f32 {
  const t = f32x4.add(a, b);
  const u = f32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1));
  return f32x4.extract_lane(u, 0) + f32x4.extract_lane(u, 1);
}

/**
 * ggml_vec_dot_f32's tail split (ggml-order.ts vecDotF32) of n elements: the end of the unfused runs
 * of 16 and then 8 after the 64-element steps; the elements from it to n are fused multiply-adds.
 */
// @ts-ignore: decorator
@inline export function vecTail8(n: i32): i32 {
  const np = n & ~63;
  return np + (((n - np) >> 4) << 4) + ((((n - np) & 15) >> 3) << 3);
}

/**
 * _mm512_reduce_add_ps of 16 f32 lanes given as four f32x4 (lanes 0-3, 4-7, 8-11, 12-15):
 * (i, i+8), then (i, i+4), then (0, 2) and (1, 3), then the last two (ggml-order.ts reduceAdd16).
 */
// @ts-ignore: decorator
@inline export function reduce16(l0: v128, l1: v128, l2: v128, l3: v128): f32 {
  const t0 = f32x4.add(l0, l2), t1 = f32x4.add(l1, l3);
  return hsum8(t0, t1);
}

/** Test hook: out[i] = fma2 of f32 a[i]·b[i] + c[i], for i < n (n even). */
export function fmaCheck(a: usize, b: usize, c: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 2;
    const p = f64x2.mul(lo64(v128.load64_zero(a + o)), lo64(v128.load64_zero(b + o)));
    v128.store64_lane(out + o, f32x4.demote_f64x2_zero(fma2(p, lo64(v128.load64_zero(c + o)))), 0);
  }
}

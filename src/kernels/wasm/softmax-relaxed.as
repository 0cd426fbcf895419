// AssemblyScript, relaxed-SIMD module only: softmax.as softmaxRow (ggml-order.ts softmaxGgml) and
// norm.as swigluRows (silu.ts swiglu) with ggml_v_expf on f32x4 lanes directly: every fma32 of vExpf is one f32x4.relaxed_madd (fused once
// relaxed-check.as selfCheck has passed, so it IS fma32), the roundings fround(·) are plain f32 ops,
// and _mm512_scalef_ps (j·2^n rounded once) is two multiplies of which the first is exact.
// softmax.as softmaxWith supplies softmaxRow's blocks, sums, tail and scaling, so the bits are the
// same (test/helpers/relaxed-child.ts compareSoftmax: rows reaching subnormal and zero results).
import { swigluWith } from "./norm";
import { softmaxWith } from "./softmax";

// @ts-ignore: decorator
@inline function c(bits: u32): v128 { return f32x4.splat(reinterpret<f32>(bits)); }

/** 2^k as f32 bits for integer lanes k in [-126, 127]. */
// @ts-ignore: decorator
@inline function pow2(k: v128): v128 { return i32x4.shl(i32x4.add(k, i32x4.splat(127)), 23); }

/**
 * ggml-order.ts vExpf on four f32 lanes. scalef(j, n) = j·2^n rounded once: n in [-126, 127]
 * gives j·2^n (2^n a normal f32: one rounding); n < -126 gives (j·2^(n+126))·2^-126 and n > 127
 * (j·2^(n-127))·2^127, where the first product only moves j's exponent within the normal range
 * (|n| <= 192 here, j in [0.7, 1.5]), so the second is the one rounding. |n| > 192: 0 or +inf.
 */
// @ts-ignore: decorator
@inline function vexp4R(x: v128): v128 {
  const R = c(0x4b400000); // 0x1.8p23
  const z = f32x4.relaxed_madd(x, c(0x3fb8aa3b), R); // fma(x, log2e, R)
  const n = f32x4.sub(z, R);
  const nn = f32x4.neg(n);
  const hi = f32x4.relaxed_madd(nn, c(0x3f317200), x); // fnmadd(n, ln2_hi, x)
  const b = f32x4.relaxed_madd(nn, c(0x35bfbe8e), hi); // fnmadd(n, ln2_lo, ·)
  const u = f32x4.mul(b, b);
  const t1 = f32x4.relaxed_madd(c(0x3c072010), b, c(0x3d2b9f17)); // fma(C5, b, C4)
  const t2 = f32x4.relaxed_madd(c(0x3e2aaf33), b, c(0x3efffedb)); // fma(C3, b, C2)
  const t4 = f32x4.relaxed_madd(c(0x3f7ffff6), b, f32x4.splat(1)); // fma(C1, b, 1)
  const j = f32x4.relaxed_madd(f32x4.relaxed_madd(t1, u, t2), u, t4);
  const k = i32x4.trunc_sat_f32x4_s(n);
  const lowK = i32x4.lt_s(k, i32x4.splat(-126)), highK = i32x4.gt_s(k, i32x4.splat(127));
  const e = v128.bitselect(i32x4.splat(-126), v128.bitselect(i32x4.splat(127), i32x4.splat(0), highK), lowK);
  const p = f32x4.mul(f32x4.mul(j, pow2(i32x4.sub(k, e))), pow2(e));
  const big = f32x4.gt(f32x4.abs(n), f32x4.splat(192));
  const sat = v128.and(f32x4.splat(Infinity), f32x4.gt(n, f32x4.splat(0))); // n <= 0 ? 0 : inf
  return v128.bitselect(sat, p, big);
}

class ExpR { // @ts-ignore: decorator
  @inline exp4(x: v128): v128 { return vexp4R(x); }
}

/** softmax.as softmaxRow over row[0 .. n) (entries outside [lo, hi) masked) in place with vexp4R, without the f64 copy. */
export function softmaxRowR(row: usize, n: i32, lo: i32, hi: i32): void {
  softmaxWith<ExpR>(row, 0, n, lo, hi);
}

/** norm.as swigluRows with vexp4R: rows [r0, r1) of nc, out = silu(gate) · up. */
export function swigluRowsR(gate: usize, up: usize, out: usize, nc: i32, r0: i32, r1: i32): void {
  swigluWith<ExpR>(gate, up, out, nc, r0, r1);
}

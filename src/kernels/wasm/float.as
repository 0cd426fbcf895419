// AssemblyScript. F32 / F16 / BF16 weight kernels against an f32 activation row (for F16/BF16 the
// activation was already rounded to the weight's type and widened back, quantize.as).
// Twins: vec-dot.ts vecDotF32 (acc += f32(w·x) in f64), vecDotF16 / vecDotBF16 (w·x is exact in
// f32: 11+11 or 8+8 significant bits). Products are formed in f32 exactly as the twins do, then
// accumulated in f64 lanes; only the f64 summation order differs from the twin (8 partial sums),
// which moves the f64 sum by a few f64 ulps and the f32 result essentially never.
import { accA, accB, drive2x2, f16x4 } from "./common";

/** 8 weights at p as two f32x4 (kind 0 F32, 1 F16, 2 BF16). */
// @ts-ignore: decorator
@inline function w8(p: usize, kind: i32, hiHalf: bool): v128 {
  if (kind == 0) return v128.load(p + (hiHalf ? 16 : 0));
  const h = v128.load64_zero(p + (hiHalf ? 8 : 0));
  const u = i32x4.extend_low_i16x8_u(h);
  return kind == 1 ? f16x4(u) : i32x4.shl(u, 16);
}
// @ts-ignore: decorator
@inline function w1(p: usize, kind: i32): f32 {
  if (kind == 0) return load<f32>(p);
  const h = <u32>load<u16>(p);
  if (kind == 2) return reinterpret<f32>(h << 16);
  return f32x4.extract_lane(f16x4(i32x4.splat(h)), 0);
}
// @ts-ignore: decorator
@inline function acc4(acc: v128, p: v128): v128 {
  return f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(p), f64x2.promote_low_f32x4(i32x4.shuffle(p, p, 2, 3, 0, 1))));
}
// @ts-ignore: decorator
@inline function lanes(v: v128): f64 { return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1); }

// @ts-ignore: decorator
@inline function tileFloat(wA: usize, wB: usize, aA: usize, aB: usize, n: i32, kind: i32): void {
  const wsz: usize = kind == 0 ? 4 : 2;
  let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const pa = wA + <usize>i * wsz, pb = wB + <usize>i * wsz;
    const xa = aA + (<usize>i << 2), xb = aB + (<usize>i << 2);
    const a0 = w8(pa, kind, false), a1 = w8(pa, kind, true), b0 = w8(pb, kind, false), b1 = w8(pb, kind, true);
    const u0 = v128.load(xa), u1 = v128.load(xa, 16), v0 = v128.load(xb), v1 = v128.load(xb, 16);
    s0 = acc4(acc4(s0, f32x4.mul(a0, u0)), f32x4.mul(a1, u1));
    s1 = acc4(acc4(s1, f32x4.mul(a0, v0)), f32x4.mul(a1, v1));
    s2 = acc4(acc4(s2, f32x4.mul(b0, u0)), f32x4.mul(b1, u1));
    s3 = acc4(acc4(s3, f32x4.mul(b0, v0)), f32x4.mul(b1, v1));
  }
  let r0 = lanes(s0), r1 = lanes(s1), r2 = lanes(s2), r3 = lanes(s3);
  for (; i < n; i++) { // tail (ne0 not a multiple of 8)
    const a = w1(wA + <usize>i * wsz, kind), b = w1(wB + <usize>i * wsz, kind);
    const u = load<f32>(aA + (<usize>i << 2)), v = load<f32>(aB + (<usize>i << 2));
    r0 += <f64>(a * u); r1 += <f64>(a * v); r2 += <f64>(b * u); r3 += <f64>(b * v);
  }
  accA = f64x2.replace_lane(f64x2.splat(r0), 1, r1);
  accB = f64x2.replace_lane(f64x2.splat(r2), 1, r3);
}

class KF32 { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, n: i32): void { tileFloat(wA, wB, aA, aB, n, 0); }
}
class KF16 { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, n: i32): void { tileFloat(wA, wB, aA, aB, n, 1); }
}
class KBF16 { // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, n: i32): void { tileFloat(wA, wB, aA, aB, n, 2); }
}

// nb = ne0 (elements) for the float kernels.
export function matmulF32(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KF32>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulF16(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KF16>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function matmulBF16(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KBF16>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }

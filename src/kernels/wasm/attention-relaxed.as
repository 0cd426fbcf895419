// AssemblyScript, relaxed-SIMD module only: attention.as with every fma32 lane step as one fused
// f32x4.relaxed_madd (relaxed-check.as selfCheck verifies it is fused: then it IS fma32), on
// f32 data in place: q and k rows are read where they are, v is transposed once (attnPrepR).
// Same lanes, folds, tails and softmax as attention.as / ops.ts attention, so the same bits.
import { reduce16 } from "./fma";
import { softmaxRow } from "./softmax";

/** fma32(a, b, c) for scalars. */
// @ts-ignore: decorator
@inline function fmaS(a: f32, b: f32, c: f32): f32 {
  return f32x4.extract_lane(f32x4.relaxed_madd(f32x4.splat(a), f32x4.splat(b), f32x4.splat(c)), 0);
}

/**
 * ggml-order.ts vecDotF32(x, y, n, lo, hi) of two f32 rows: 64 fma32 lanes over the 64-element
 * steps starting in [lo & ~63, min(n & ~63, hi)), folded (l + l+32) + (l+16 + l+48), reduceAdd16,
 * then the tail rule. Quarter j4 of the fold (lanes 4j4.., 16+4j4.., 32+4j4.., 48+4j4..) is one
 * pass with four accumulators.
 */
export function vecDotR(x: usize, y: usize, n: i32, lo: i32, hi: i32): f32 {
  const np = n & ~63;
  const start = lo & ~63, end = min(np, hi);
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  for (let j4 = 0; j4 < 4; j4++) {
    let g0 = f32x4.splat(0), g1 = g0, g2 = g0, g3 = g0;
    for (let i = start + (j4 << 2); i < end; i += 64) {
      const px = x + (<usize>i << 2), py = y + (<usize>i << 2);
      g0 = f32x4.relaxed_madd(v128.load(px), v128.load(py), g0);
      g1 = f32x4.relaxed_madd(v128.load(px, 64), v128.load(py, 64), g1);
      g2 = f32x4.relaxed_madd(v128.load(px, 128), v128.load(py, 128), g2);
      g3 = f32x4.relaxed_madd(v128.load(px, 192), v128.load(py, 192), g3);
    }
    const f = f32x4.add(f32x4.add(g0, g2), f32x4.add(g1, g3));
    if (j4 == 0) f0 = f; else if (j4 == 1) f1 = f; else if (j4 == 2) f2 = f; else f3 = f;
  }
  let sum = reduce16(f0, f1, f2, f3);
  const tail8 = np + (((n - np) >> 4) << 4) + ((((n - np) & 15) >> 3) << 3);
  for (let i = max(np, lo); i < min(tail8, hi); i++) sum = sum + load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2));
  for (let i = max(tail8, lo); i < min(n, hi); i++) sum = fmaS(load<f32>(x + (<usize>i << 2)), load<f32>(y + (<usize>i << 2)), sum);
  return sum;
}

/** ggml-order.ts sgemmDotF32(x, y, ·, lo, hi) of two f32 rows: 16 fma32 lanes over steps of 16 from lo & ~15. */
export function sgemmR(x: usize, y: usize, lo: i32, hi: i32): f32 {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let l = lo & ~15; l < hi; l += 16) {
    const px = x + (<usize>l << 2), py = y + (<usize>l << 2);
    c0 = f32x4.relaxed_madd(v128.load(px), v128.load(py), c0);
    c1 = f32x4.relaxed_madd(v128.load(px, 16), v128.load(py, 16), c1);
    c2 = f32x4.relaxed_madd(v128.load(px, 32), v128.load(py, 32), c2);
    c3 = f32x4.relaxed_madd(v128.load(px, 48), v128.load(py, 48), c3);
  }
  return reduce16(c0, c1, c2, c3);
}

/** v (T, nHeadKv·hd) transposed into vt (nHeadKv, hd, T), f32, for the key rows [j0, j1). */
export function attnPrepR(v: usize, vt: usize, j0: i32, j1: i32, T: i32, nHeadKv: i32, hd: i32): void {
  const nKV = nHeadKv * hd;
  for (let j = j0; j < j1; j++) {
    for (let h = 0; h < nHeadKv; h++) {
      const src = v + ((<usize>(j * nKV + h * hd)) << 2);
      const dst = vt + ((<usize>(h * hd) * <usize>T + <usize>j) << 2);
      for (let d = 0; d < hd; d++) store<f32>(dst + ((<usize>d * <usize>T) << 2), load<f32>(src + (<usize>d << 2)));
    }
  }
}

/**
 * attention.as attnRows on f32 data: query rows r in [r0, r1) of r = h·T + i. q (T, nHead·hd)
 * and k (T, nHeadKv·hd) as given, vt from attnPrepR. Scratch of this thread (scratch +
 * thread·stride): p64 (T f64, written by softmaxRow, unused here) | kq (T f32: scores, then the
 * probabilities).
 */
export function attnRowsR(q: usize, k: usize, vt: usize, o: usize, r0: i32, r1: i32, T: i32, nHead: i32, nHeadKv: i32, hd: i32,
  window: i32, scaleBits: i32, scratch: usize, stride: usize, thread: i32): void {
  const scale = reinterpret<f32>(scaleBits); // soft_max_ext's scale (kq_scale), f32 bits
  const p64 = scratch + <usize>thread * stride;
  const kq = p64 + (<usize>T << 3);
  const nQ = nHead * hd, nKV = nHeadKv * hd, group = nHead / nHeadKv;
  const sgemm = T >= 2 && (T & 15) == 0 && (hd & 3) == 0;
  for (let r = r0; r < r1; r++) {
    const h = r / T, i = r % T, kvh = h / group;
    const lo = max(0, i - window), hi = min(T, i + window + 1);
    const qo = (<usize>(i * nQ + h * hd)) << 2;
    const kh = k + ((<usize>(kvh * hd)) << 2);
    for (let j = 0; j < lo; j++) store<f32>(kq + (<usize>j << 2), -Infinity);
    for (let j = lo; j < hi; j++) store<f32>(kq + (<usize>j << 2), vecDotR(kh + ((<usize>j * <usize>nKV) << 2), q + qo, hd, 0, hd));
    for (let j = hi; j < T; j++) store<f32>(kq + (<usize>j << 2), -Infinity);
    if (scale != 1) for (let j = lo; j < hi; j++) store<f32>(kq + (<usize>j << 2), load<f32>(kq + (<usize>j << 2)) * scale);
    softmaxRow(kq, p64, T, lo, hi);
    const vh = vt + ((<usize>(kvh * hd) * <usize>T) << 2);
    for (let d = 0; d < hd; d++) {
      const vd = vh + ((<usize>d * <usize>T) << 2);
      store<f32>(o + qo + (<usize>d << 2), sgemm ? sgemmR(vd, kq, lo, hi) : vecDotR(vd, kq, T, lo, hi));
    }
  }
}

// AssemblyScript. Attention for one sequence, bit for bit with src/kernels/ops.ts attention:
//   kq[j]  = ggml_vec_dot_f32(k_j, q_i) over hd (ggml-order.ts vecDotF32: 4×16 lanes over
//            64-element steps, folded 0+2, 1+3, 0+1, reduceAdd16, then the tail rule), for keys
//            in the window [lo, hi); the others are -inf
//   softmax over the whole row of T keys (softmax.as)
//   o[i,d] = tinyBLAS f32 (sgemmDotF32: 16 lanes) of v column d and the probabilities when
//            T % 16 == 0 (and T >= 2, hd % 4 == 0), else vecDotF32; both over [lo, hi) only,
//            exactly as the reference skips (zero products leave every lane unchanged).
// Every lane update is fma32(a, b, lane), exact (fma.as fmaMul: the f64 product, the add, and the
// double-rounding fix-up). k and v are widened to f64 once (attnPrep: k64
// row-major per kv head, v transposed to vt64), q one row at a time.
import { fixV, fma1, fmaMul, pack4, reduce16, round2, suspect, vecTail8 } from "./fma";
import { kqvLanes, kqvTiny, scoresLanesRow, transposeK, valuesLanes } from "./attention-lanes";
import { softmaxRow } from "./softmax";

/** Lanes 4g..4g+3 of vecDotF32's 64 over the 64-element steps starting in [start, end). */
// @ts-ignore: decorator
@inline function group64(x: usize, y: usize, start: i32, end: i32, g: i32): v128 {
  let c0 = f64x2.splat(0), c1 = c0;
  for (let i = start + (g << 2); i < end; i += 64) {
    const px = x + (<usize>i << 3), py = y + (<usize>i << 3);
    c0 = fmaMul(v128.load(px), v128.load(py), c0);
    c1 = fmaMul(v128.load(px, 16), v128.load(py, 16), c1);
  }
  return pack4(c0, c1);
}

/** Folded lanes 4j4 .. 4j4+3: (acc[j] + acc[32+j]) + (acc[16+j] + acc[48+j]). */
// @ts-ignore: decorator
@inline function fold64(x: usize, y: usize, start: i32, end: i32, j4: i32): v128 {
  const g0 = group64(x, y, start, end, j4), g1 = group64(x, y, start, end, j4 + 4);
  const g2 = group64(x, y, start, end, j4 + 8), g3 = group64(x, y, start, end, j4 + 12);
  return f32x4.add(f32x4.add(g0, g2), f32x4.add(g1, g3));
}

/** vecDotF32(x, y, n, lo, hi) of two f64 rows (f32 values). */
export function vecDot64(x: usize, y: usize, n: i32, lo: i32, hi: i32): f32 {
  const np = n & ~63;
  const start = lo & ~63, end = min(np, hi);
  let sum = reduce16(fold64(x, y, start, end, 0), fold64(x, y, start, end, 1), fold64(x, y, start, end, 2), fold64(x, y, start, end, 3));
  const tail8 = vecTail8(n);
  for (let i = max(np, lo); i < min(tail8, hi); i++) {
    sum = sum + <f32>load<f64>(x + (<usize>i << 3)) * <f32>load<f64>(y + (<usize>i << 3));
  }
  for (let i = max(tail8, lo); i < min(n, hi); i++) {
    sum = fma1(load<f64>(x + (<usize>i << 3)), load<f64>(y + (<usize>i << 3)), <f64>sum);
  }
  return sum;
}

/**
 * vecDot64 of four f64 rows x, x + xs, x + 2·xs, x + 3·xs against one row y, results to out[0..3]
 * (f32). Same per-row operations and order as vecDot64; the four rows' lane chains run
 * interleaved (8 independent accumulators instead of 2), which hides the add → round latency
 * each chain step carries. lanes: 4 × 64 f32 scratch for the unfolded accumulator lanes.
 */
export function vecDot64x4(x: usize, xs: usize, y: usize, n: i32, lo: i32, hi: i32, out: usize, lanes: usize): void {
  const np = n & ~63;
  const start = lo & ~63, end = min(np, hi);
  const x1 = x + xs, x2 = x1 + xs, x3 = x2 + xs;
  for (let g = 0; g < 16; g++) {
    let a0 = f64x2.splat(0), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
    for (let i = start + (g << 2); i < end; i += 64) {
      const o = <usize>i << 3;
      const y0 = v128.load(y + o), y1 = v128.load(y + o, 16);
      // eight fma32 steps (fma.as fma2) sharing one suspect test and branch
      const p0 = f64x2.mul(v128.load(x + o), y0), p1 = f64x2.mul(v128.load(x + o, 16), y1);
      const p2 = f64x2.mul(v128.load(x1 + o), y0), p3 = f64x2.mul(v128.load(x1 + o, 16), y1);
      const p4 = f64x2.mul(v128.load(x2 + o), y0), p5 = f64x2.mul(v128.load(x2 + o, 16), y1);
      const p6 = f64x2.mul(v128.load(x3 + o), y0), p7 = f64x2.mul(v128.load(x3 + o, 16), y1);
      const s0 = f64x2.add(p0, a0), s1 = f64x2.add(p1, a1), s2 = f64x2.add(p2, b0), s3 = f64x2.add(p3, b1);
      const s4 = f64x2.add(p4, c0), s5 = f64x2.add(p5, c1), s6 = f64x2.add(p6, d0), s7 = f64x2.add(p7, d1);
      let r0 = round2(s0), r1 = round2(s1), r2 = round2(s2), r3 = round2(s3);
      let r4 = round2(s4), r5 = round2(s5), r6 = round2(s6), r7 = round2(s7);
      if (v128.any_true(v128.or(v128.or(v128.or(suspect(s0), suspect(s1)), v128.or(suspect(s2), suspect(s3))),
        v128.or(v128.or(suspect(s4), suspect(s5)), v128.or(suspect(s6), suspect(s7)))))) {
        r0 = fixV(p0, a0, s0, r0); r1 = fixV(p1, a1, s1, r1); r2 = fixV(p2, b0, s2, r2); r3 = fixV(p3, b1, s3, r3);
        r4 = fixV(p4, c0, s4, r4); r5 = fixV(p5, c1, s5, r5); r6 = fixV(p6, d0, s6, r6); r7 = fixV(p7, d1, s7, r7);
      }
      a0 = r0; a1 = r1; b0 = r2; b1 = r3; c0 = r4; c1 = r5; d0 = r6; d1 = r7;
    }
    const l = lanes + (<usize>g << 4);
    v128.store(l, pack4(a0, a1)); v128.store(l, pack4(b0, b1), 256);
    v128.store(l, pack4(c0, c1), 512); v128.store(l, pack4(d0, d1), 768);
  }
  const tail8 = vecTail8(n);
  for (let r = 0; r < 4; r++) {
    const xr = x + <usize>r * xs, l = lanes + (<usize>r << 8);
    // fold64: lanes j of (g0 + g2) + (g1 + g3), g_k = lanes 16k .. 16k+15
    const f0 = f32x4.add(f32x4.add(v128.load(l), v128.load(l, 128)), f32x4.add(v128.load(l, 64), v128.load(l, 192)));
    const f1 = f32x4.add(f32x4.add(v128.load(l, 16), v128.load(l, 144)), f32x4.add(v128.load(l, 80), v128.load(l, 208)));
    const f2 = f32x4.add(f32x4.add(v128.load(l, 32), v128.load(l, 160)), f32x4.add(v128.load(l, 96), v128.load(l, 224)));
    const f3 = f32x4.add(f32x4.add(v128.load(l, 48), v128.load(l, 176)), f32x4.add(v128.load(l, 112), v128.load(l, 240)));
    let sum = reduce16(f0, f1, f2, f3);
    for (let i = max(np, lo); i < min(tail8, hi); i++) {
      sum = sum + <f32>load<f64>(xr + (<usize>i << 3)) * <f32>load<f64>(y + (<usize>i << 3));
    }
    for (let i = max(tail8, lo); i < min(n, hi); i++) {
      sum = fma1(load<f64>(xr + (<usize>i << 3)), load<f64>(y + (<usize>i << 3)), <f64>sum);
    }
    store<f32>(out + (<usize>r << 2), sum);
  }
}

/** sgemmDotF32(x, y, ·, lo, hi) of two f64 rows: 16 lanes over steps of 16 from lo & ~15. */
export function sgemm64(x: usize, y: usize, lo: i32, hi: i32): f32 {
  let c0 = f64x2.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let l = lo & ~15; l < hi; l += 16) {
    const px = x + (<usize>l << 3), py = y + (<usize>l << 3);
    const p0 = f64x2.mul(v128.load(px), v128.load(py)), p1 = f64x2.mul(v128.load(px, 16), v128.load(py, 16));
    const p2 = f64x2.mul(v128.load(px, 32), v128.load(py, 32)), p3 = f64x2.mul(v128.load(px, 48), v128.load(py, 48));
    const p4 = f64x2.mul(v128.load(px, 64), v128.load(py, 64)), p5 = f64x2.mul(v128.load(px, 80), v128.load(py, 80));
    const p6 = f64x2.mul(v128.load(px, 96), v128.load(py, 96)), p7 = f64x2.mul(v128.load(px, 112), v128.load(py, 112));
    const s0 = f64x2.add(p0, c0), s1 = f64x2.add(p1, c1), s2 = f64x2.add(p2, c2), s3 = f64x2.add(p3, c3);
    const s4 = f64x2.add(p4, c4), s5 = f64x2.add(p5, c5), s6 = f64x2.add(p6, c6), s7 = f64x2.add(p7, c7);
    let r0 = round2(s0), r1 = round2(s1), r2 = round2(s2), r3 = round2(s3);
    let r4 = round2(s4), r5 = round2(s5), r6 = round2(s6), r7 = round2(s7);
    if (v128.any_true(v128.or(v128.or(v128.or(suspect(s0), suspect(s1)), v128.or(suspect(s2), suspect(s3))),
      v128.or(v128.or(suspect(s4), suspect(s5)), v128.or(suspect(s6), suspect(s7)))))) {
      r0 = fixV(p0, c0, s0, r0); r1 = fixV(p1, c1, s1, r1); r2 = fixV(p2, c2, s2, r2); r3 = fixV(p3, c3, s3, r3);
      r4 = fixV(p4, c4, s4, r4); r5 = fixV(p5, c5, s5, r5); r6 = fixV(p6, c6, s6, r6); r7 = fixV(p7, c7, s7, r7);
    }
    c0 = r0; c1 = r1; c2 = r2; c3 = r3; c4 = r4; c5 = r5; c6 = r6; c7 = r7;
  }
  return reduce16(pack4(c0, c1), pack4(c2, c3), pack4(c4, c5), pack4(c6, c7));
}

/**
 * Widen k (T, nHeadKv·hd) into k64 (nHeadKv, T, hd) and v into vt64 (nHeadKv, hd, T), f64,
 * for the key rows [j0, j1); for hd < 64 also k transposed into kt (nHeadKv, hd, Tp), f32
 * (attention-lanes.as).
 */
export function attnPrep(k: usize, v: usize, k64: usize, vt64: usize, j0: i32, j1: i32, T: i32, nHeadKv: i32, hd: i32, kt: usize, Tp: i32): void {
  const nKV = nHeadKv * hd;
  for (let j = j0; j < j1; j++) {
    for (let h = 0; h < nHeadKv; h++) {
      const src = (<usize>(j * nKV + h * hd)) << 2;
      const kd = k64 + ((<usize>(h * T + j) * <usize>hd) << 3);
      const vd = vt64 + ((<usize>(h * hd) * <usize>T + <usize>j) << 3);
      for (let d = 0; d < hd; d++) {
        store<f64>(kd + (<usize>d << 3), <f64>load<f32>(k + src + (<usize>d << 2)));
        store<f64>(vd + ((<usize>d * <usize>T) << 3), <f64>load<f32>(v + src + (<usize>d << 2)));
      }
    }
    if (hd < 64) transposeK(k, kt, j, Tp, nHeadKv, hd);
  }
}

/**
 * Query rows r in [r0, r1) of the flattened (head, token) index r = h·T + i: scores, softmax,
 * output row o[i, h·hd ..]. window: max |i − j| attended (>= T means all); scaleBits: the f32 bits
 * of soft_max_ext's scale, each score rounded as f32(kq·scale) before the softmax. Scratch of this
 * thread: q64 (hd f64) | p64 (T f64) | kq (Tp f32) | lanes (256 f32, vecDot64x4) | 4 f32, at
 * scratch + thread·stride. Keys and output columns go four at a time through vecDot64x4; heads
 * narrower than 64 take attention-lanes.as for the scores (kt from attnPrep) and, for T < 64 off the
 * tinyBLAS order, for the values (v as given).
 */
export function attnRows(q: usize, k64: usize, vt64: usize, o: usize, r0: i32, r1: i32, T: i32, nHead: i32, nHeadKv: i32, hd: i32,
  window: i32, scaleBits: i32, scratch: usize, stride: usize, v: usize, kt: usize, Tp: i32, thread: i32): void {
  const scale = reinterpret<f32>(scaleBits); // soft_max_ext's scale (kq_scale), f32 bits
  const q64 = scratch + <usize>thread * stride;
  const p64 = q64 + (<usize>hd << 3);
  const kq = p64 + (<usize>T << 3);
  const lanes = (kq + (<usize>Tp << 2) + 15) & ~15, four = lanes + 1024;
  const nQ = nHead * hd, group = nHead / nHeadKv;
  const sgemm = kqvTiny(T, hd);
  for (let r = r0; r < r1; r++) {
    const h = r / T, i = r % T, kvh = h / group;
    const lo = max(0, i - window), hi = min(T, i + window + 1);
    const qo = (<usize>(i * nQ + h * hd)) << 2;
    for (let d = 0; d < hd; d++) store<f64>(q64 + (<usize>d << 3), <f64>load<f32>(q + qo + (<usize>d << 2)));
    const kh = k64 + ((<usize>(kvh * T) * <usize>hd) << 3);
    if (hd < 64) scoresLanesRow(kt + ((<usize>(kvh * hd) * <usize>Tp) << 2), Tp, q + qo, hd, T, lo, hi, kq);
    else {
      for (let j = 0; j < lo; j++) store<f32>(kq + (<usize>j << 2), -Infinity);
      let j = lo;
      for (; j + 4 <= hi; j += 4) vecDot64x4(kh + ((<usize>j * <usize>hd) << 3), <usize>hd << 3, q64, hd, 0, hd, kq + (<usize>j << 2), lanes);
      for (; j < hi; j++) store<f32>(kq + (<usize>j << 2), vecDot64(kh + ((<usize>j * <usize>hd) << 3), q64, hd, 0, hd));
      for (let j = hi; j < T; j++) store<f32>(kq + (<usize>j << 2), -Infinity);
    }
    if (scale != 1) for (let j = lo; j < hi; j++) store<f32>(kq + (<usize>j << 2), load<f32>(kq + (<usize>j << 2)) * scale);
    softmaxRow(kq, p64, T, lo, hi);
    if (kqvLanes(T, hd)) {
      valuesLanes(v + ((<usize>(kvh * hd)) << 2), nHeadKv * hd, kq, T, lo, hi, hd, o + qo);
      continue;
    }
    const vh = vt64 + ((<usize>(kvh * hd) * <usize>T) << 3);
    let d = 0;
    if (!sgemm) {
      for (; d + 4 <= hd; d += 4) {
        vecDot64x4(vh + ((<usize>d * <usize>T) << 3), <usize>T << 3, p64, T, lo, hi, four, lanes);
        v128.store(o + qo + (<usize>d << 2), v128.load(four));
      }
    }
    for (; d < hd; d++) {
      const vd = vh + ((<usize>d * <usize>T) << 3);
      store<f32>(o + qo + (<usize>d << 2), sgemm ? sgemm64(vd, p64, lo, hi) : vecDot64(vd, p64, T, lo, hi));
    }
  }
}

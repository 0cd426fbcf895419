// AssemblyScript, relaxed-SIMD module only: attention.as with every fma32 lane step as one fused
// f32x4.relaxed_madd (relaxed-check.as selfCheck verifies it is fused: then it IS fma32), on
// f32 data in place: q and k rows are read where they are, v is transposed once (attnPrepR).
// Same lanes, folds, tails and softmax as attention.as / ops.ts attention, so the same bits.
// attnRowsR takes two queries at a time: 2 keys × 2 queries for the scores and 2 dims × 2 queries
// for the weighted values (4 dims × 2 queries where the values take tinyBLAS's order), each tile's
// outputs running their own lane chains side by side (8 accumulators per pass, each load feeding
// two or four fused steps). What a tile cannot take (keys at a window's edge, dims of two queries
// whose step ranges differ, the last ones) runs the one-output code. Heads narrower than 64
// (MiniLM's 32) have no 64-element step: their whole dot is ggml's tail rule, a sequential chain per output, so there the lanes hold 8
// outputs instead (8 keys for the scores, 8 dims for the values of short texts), each lane running
// its own output's steps. Which code computes an output never changes its operations.
import { reduce16, vecTail8 } from "./fma";
import { kqvLanes, kqvTiny, maskScores, scoresLanesPair, scoresLanesRow, transposeK, valuesLanes } from "./attention-lanes";
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
  return tailR(reduce16(f0, f1, f2, f3), x, y, n, lo, hi);
}

/** vecDotF32's tail rule after the folded lanes' sum: elements [np, n) ∩ [lo, hi), runs of 16 and 8 unfused, the rest fused. */
// @ts-ignore: decorator
@inline function tailR(sum: f32, x: usize, y: usize, n: i32, lo: i32, hi: i32): f32 {
  const np = n & ~63, tail8 = vecTail8(n);
  for (let i = max(np, lo); i < min(tail8, hi); i++) sum = sum + load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2));
  for (let i = max(tail8, lo); i < min(n, hi); i++) sum = fmaS(load<f32>(x + (<usize>i << 2)), load<f32>(y + (<usize>i << 2)), sum);
  return sum;
}

/**
 * One lane chain of 4 × 2 outputs: x rows x + r·xs (r < 4) against y0, y1, the f32x4 at byte offset
 * off of every step of `step` elements from first while < end; output o = 2r + c (x_r · y_c) to
 * dst + 64·o. 8 accumulators, 6 loads per 8 fused steps: V8 keeps them all in registers (a 2×2
 * tile's two chains per output spill one accumulator through the stack on every step).
 */
// @ts-ignore: decorator
@inline function chain4x2(x: usize, xs: usize, y0: usize, y1: usize, first: i32, end: i32, step: i32, off: usize, dst: usize): void {
  const x1 = x + xs, x2 = x1 + xs, x3 = x2 + xs;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (let i = first; i < end; i += step) {
    const o = (<usize>i << 2) + off;
    const ya = v128.load(y0 + o), yb = v128.load(y1 + o);
    let xr = v128.load(x + o);
    a0 = f32x4.relaxed_madd(xr, ya, a0); b0 = f32x4.relaxed_madd(xr, yb, b0);
    xr = v128.load(x1 + o);
    a1 = f32x4.relaxed_madd(xr, ya, a1); b1 = f32x4.relaxed_madd(xr, yb, b1);
    xr = v128.load(x2 + o);
    a2 = f32x4.relaxed_madd(xr, ya, a2); b2 = f32x4.relaxed_madd(xr, yb, b2);
    xr = v128.load(x3 + o);
    a3 = f32x4.relaxed_madd(xr, ya, a3); b3 = f32x4.relaxed_madd(xr, yb, b3);
  }
  v128.store(dst, a0); v128.store(dst, b0, 64); v128.store(dst, a1, 128); v128.store(dst, b1, 192);
  v128.store(dst, a2, 256); v128.store(dst, b2, 320); v128.store(dst, a3, 384); v128.store(dst, b3, 448);
}

/**
 * vecDotR's 64-element steps [start, end) for the four outputs x0·y0, x0·y1, x1·y0, x1·y1 at once,
 * up to the fold: quarter j4 of output o (its f_j4, before reduce16) goes to fold + 64·o + 16·j4.
 * Per quarter, half A sums lane groups +0 and +32 (g0 + g2), half B +16 and +48 (g1 + g3), then
 * f = A + B: vecDotR's (g0 + g2) + (g1 + g3), every lane chain's steps in vecDotR's order.
 */
// @ts-ignore: decorator
@inline function fold2x2(x0: usize, x1: usize, y0: usize, y1: usize, start: i32, end: i32, fold: usize): void {
  for (let j4 = 0; j4 < 4; j4++) {
    for (let half = 0; half < 2; half++) {
      const off = <usize>half << 6; // bytes: half A +0 / +128, half B +64 / +192
      let a0 = f32x4.splat(0), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
      for (let i = start + (j4 << 2); i < end; i += 64) {
        const o = (<usize>i << 2) + off;
        const xa = v128.load(x0 + o), xb = v128.load(x0 + o, 128);
        const ya = v128.load(y0 + o), yb = v128.load(y0 + o, 128);
        const za = v128.load(y1 + o), zb = v128.load(y1 + o, 128);
        a0 = f32x4.relaxed_madd(xa, ya, a0); b0 = f32x4.relaxed_madd(xb, yb, b0);
        a1 = f32x4.relaxed_madd(xa, za, a1); b1 = f32x4.relaxed_madd(xb, zb, b1);
        const wa = v128.load(x1 + o), wb = v128.load(x1 + o, 128);
        a2 = f32x4.relaxed_madd(wa, ya, a2); b2 = f32x4.relaxed_madd(wb, yb, b2);
        a3 = f32x4.relaxed_madd(wa, za, a3); b3 = f32x4.relaxed_madd(wb, zb, b3);
      }
      const p = fold + (<usize>j4 << 4);
      if (half == 0) {
        v128.store(p, f32x4.add(a0, b0)); v128.store(p, f32x4.add(a1, b1), 64);
        v128.store(p, f32x4.add(a2, b2), 128); v128.store(p, f32x4.add(a3, b3), 192);
      } else {
        v128.store(p, f32x4.add(v128.load(p), f32x4.add(a0, b0)));
        v128.store(p, f32x4.add(v128.load(p, 64), f32x4.add(a1, b1)), 64);
        v128.store(p, f32x4.add(v128.load(p, 128), f32x4.add(a2, b2)), 128);
        v128.store(p, f32x4.add(v128.load(p, 192), f32x4.add(a3, b3)), 192);
      }
    }
  }
}

/**
 * sgemmR over [lo & ~15, hi) for the 8 outputs x_r · y_c (x rows x + r·xs, r < 4) at once: output
 * o = 2r + c's lane vectors c0..c3 to fold + 64·o + 16·k (k = 0..3), one chain4x2 pass per k.
 */
// @ts-ignore: decorator
@inline function sgemm4x2(x: usize, xs: usize, y0: usize, y1: usize, lo: i32, hi: i32, fold: usize): void {
  for (let k = 0; k < 4; k++) chain4x2(x, xs, y0, y1, lo & ~15, hi, 16, <usize>k << 4, fold + (<usize>k << 4));
}

/** Output o = 2r + c (x_r · y_c) of a 2×2 or 4×2 tile (fold2x2, sgemm4x2): reduce16 of its four stored vectors. */
// @ts-ignore: decorator
@inline function folded(fold: usize, o: i32): f32 {
  const p = fold + (<usize>o << 6);
  return reduce16(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48));
}

/** The 64-element steps vecDotR's quarter j4 runs over [start, end). */
// @ts-ignore: decorator
@inline function quarterSteps(start: i32, end: i32, j4: i32): i32 {
  const first = start + (j4 << 2);
  return end > first ? (end - first + 63) >> 6 : 0;
}

/** True when vecDotR runs the same steps over [start, e0) and over [start, e1), in every quarter. */
// @ts-ignore: decorator
@inline function sameSteps(start: i32, e0: i32, e1: i32): bool {
  for (let j4 = 0; j4 < 4; j4++) if (quarterSteps(start, e0, j4) != quarterSteps(start, e1, j4)) return false;
  return true;
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

/**
 * v (T, nHeadKv·hd) transposed into vt (nHeadKv, hd, T), f32, for the key rows [j0, j1); for
 * hd < 64 also k transposed into kt (nHeadKv, hd, Tp), the layout of scoresLanes.
 */
export function attnPrepR(k: usize, v: usize, vt: usize, kt: usize, j0: i32, j1: i32, T: i32, Tp: i32, nHeadKv: i32, hd: i32): void {
  const nKV = nHeadKv * hd;
  for (let j = j0; j < j1; j++) {
    for (let h = 0; h < nHeadKv; h++) {
      const src = v + ((<usize>(j * nKV + h * hd)) << 2);
      const dst = vt + ((<usize>(h * hd) * <usize>T + <usize>j) << 2);
      for (let d = 0; d < hd; d++) store<f32>(dst + ((<usize>d * <usize>T) << 2), load<f32>(src + (<usize>d << 2)));
    }
    if (hd < 64) transposeK(k, kt, j, Tp, nHeadKv, hd);
  }
}

/**
 * attention.as attnRows on f32 data: query rows r in [r0, r1) of r = h·T + i, two at a time where
 * i + 1 is in the same head and range (queryPair), else one (queryOne). q (T, nHead·hd) and
 * k (T, nHeadKv·hd) as given, vt from attnPrepR; v as given and kt (attnPrepR, for hd < 64) for
 * the small-head paths, whose lanes hold 8 keys (scoresLanes, hd < 64) or 8 dims (valuesLanes,
 * T < 64 off the tinyBLAS order) instead of 4 lanes of one output. Scratch of this thread
 * (scratch + thread·stride, stride >= 8·Tp + 528 bytes): the kq rows of the two queries (Tp f32
 * each: scores, then the probabilities) | the tiles' fold area (512 bytes, 16-aligned).
 */
export function attnRowsR(q: usize, k: usize, vt: usize, o: usize, r0: i32, r1: i32, T: i32, nHead: i32, nHeadKv: i32, hd: i32,
  window: i32, scaleBits: i32, scratch: usize, stride: usize, v: usize, kt: usize, Tp: i32, thread: i32): void {
  const kqA = scratch + <usize>thread * stride, kqB = kqA + (<usize>Tp << 2);
  const fold = (kqB + (<usize>Tp << 2) + 15) & ~15;
  for (let r = r0; r < r1; ) {
    const h = r / T, i = r % T;
    if (r + 1 < r1 && i + 1 < T) {
      queryPair(q, k, vt, o, T, nHead, nHeadKv, hd, window, scaleBits, h, i, kqA, kqB, fold, v, kt, Tp);
      r += 2;
    } else {
      queryOne(q, k, vt, o, T, nHead, nHeadKv, hd, window, scaleBits, h, i, kqA, v, kt, Tp);
      r++;
    }
  }
}

/** Query i of head h alone: vecDotR scores, the softmax, then sgemmR or vecDotR for every dim. */
function queryOne(q: usize, k: usize, vt: usize, o: usize, T: i32, nHead: i32, nHeadKv: i32, hd: i32, window: i32, scaleBits: i32,
  h: i32, i: i32, kq: usize, v: usize, kt: usize, Tp: i32): void {
  const nKV = nHeadKv * hd, kvh = h / (nHead / nHeadKv);
  const lo = max(0, i - window), hi = min(T, i + window + 1);
  const qi = q + ((<usize>(i * nHead * hd + h * hd)) << 2), kh = k + ((<usize>(kvh * hd)) << 2);
  if (hd < 64) scoresLanesRow(kt + ((<usize>(kvh * hd) * <usize>Tp) << 2), Tp, qi, hd, T, lo, hi, kq);
  else {
    for (let j = 0; j < T; j++) {
      store<f32>(kq + (<usize>j << 2), j >= lo && j < hi ? vecDotR(kh + ((<usize>j * <usize>nKV) << 2), qi, hd, 0, hd) : -Infinity);
    }
  }
  finishScores(kq, T, lo, hi, scaleBits);
  if (kqvLanes(T, hd)) valuesLanes(v + ((<usize>(kvh * hd)) << 2), nKV, kq, T, lo, hi, hd, o + (qi - q));
  else values(vt, T, hd, o + (qi - q), kq, kvh, lo, hi, 0);
}

/** soft_max_ext on one kq row: the scale (if not 1) on [lo, hi), then softmaxRow (its relaxed exp; no f64 copy). */
function finishScores(kq: usize, T: i32, lo: i32, hi: i32, scaleBits: i32): void {
  const scale = reinterpret<f32>(scaleBits); // soft_max_ext's scale (kq_scale), f32 bits
  if (scale != 1) for (let j = lo; j < hi; j++) store<f32>(kq + (<usize>j << 2), load<f32>(kq + (<usize>j << 2)) * scale);
  softmaxRow(kq, 0, T, lo, hi);
}

/** Outputs oi[d] for dims [d0, hd) of one query (probabilities kq, window [lo, hi)), one at a time. */
function values(vt: usize, T: i32, hd: i32, oi: usize, kq: usize, kvh: i32, lo: i32, hi: i32, d0: i32): void {
  const sgemm = kqvTiny(T, hd);
  const vh = vt + ((<usize>(kvh * hd) * <usize>T) << 2);
  for (let d = d0; d < hd; d++) {
    const vd = vh + ((<usize>d * <usize>T) << 2);
    store<f32>(oi + (<usize>d << 2), sgemm ? sgemmR(vd, kq, lo, hi) : vecDotR(vd, kq, T, lo, hi));
  }
}

/** Queries i and i + 1 (< T) of head h: scores in 2×2 tiles of keys, then values in 4×2 (tinyBLAS order) or 2×2 tiles of dims. */
function queryPair(q: usize, k: usize, vt: usize, o: usize, T: i32, nHead: i32, nHeadKv: i32, hd: i32, window: i32, scaleBits: i32,
  h: i32, i: i32, kqA: usize, kqB: usize, fold: usize, v: usize, kt: usize, Tp: i32): void {
  const nQ = nHead * hd, nKV = nHeadKv * hd, kvh = h / (nHead / nHeadKv);
  const lo0 = max(0, i - window), hi0 = min(T, i + window + 1);
  const lo1 = max(0, i + 1 - window), hi1 = min(T, i + 1 + window + 1);
  const q0 = q + ((<usize>(i * nQ + h * hd)) << 2), q1 = q0 + (<usize>nQ << 2);
  const kh = k + ((<usize>(kvh * hd)) << 2), ks = <usize>nKV << 2;
  // scores: keys in both windows [c0, c1) in 2×2 tiles, the others (and an odd last one) alone
  const c0 = max(lo0, lo1), c1 = min(hi0, hi1), np = hd & ~63;
  if (hd < 64) {
    const kth = kt + ((<usize>(kvh * hd) * <usize>Tp) << 2);
    if ((lo0 & ~7) == (lo1 & ~7) && ((hi0 + 7) & ~7) == ((hi1 + 7) & ~7)) { // the same key blocks: both at once
      scoresLanesPair(kth, Tp, q0, q1, hd, lo0, hi0, kqA, kqB);
      maskScores(kqA, T, lo0, hi0);
      maskScores(kqB, T, lo1, hi1);
    } else {
      scoresLanesRow(kth, Tp, q0, hd, T, lo0, hi0, kqA);
      scoresLanesRow(kth, Tp, q1, hd, T, lo1, hi1, kqB);
    }
  } else {
    for (let j = 0; j < T; j++) {
      const kj = kh + <usize>j * ks, inner = j >= c0 && j < c1 - ((c1 - c0) & 1);
      if (!inner) {
        store<f32>(kqA + (<usize>j << 2), j >= lo0 && j < hi0 ? vecDotR(kj, q0, hd, 0, hd) : -Infinity);
        store<f32>(kqB + (<usize>j << 2), j >= lo1 && j < hi1 ? vecDotR(kj, q1, hd, 0, hd) : -Infinity);
      } else if (((j - c0) & 1) == 0) {
        fold2x2(kj, kj + ks, q0, q1, 0, np, fold);
        const jo = <usize>j << 2;
        store<f32>(kqA + jo, tailR(folded(fold, 0), kj, q0, hd, 0, hd));
        store<f32>(kqB + jo, tailR(folded(fold, 1), kj, q1, hd, 0, hd));
        store<f32>(kqA + jo, tailR(folded(fold, 2), kj + ks, q0, hd, 0, hd), 4);
        store<f32>(kqB + jo, tailR(folded(fold, 3), kj + ks, q1, hd, 0, hd), 4);
      }
    }
  }
  finishScores(kqA, T, lo0, hi0, scaleBits);
  finishScores(kqB, T, lo1, hi1, scaleBits);
  // values: 4×2 (sgemm) or 2×2 tiles of dims when both queries run the same steps, else one output at a time
  const oA = o + (q0 - q), oB = oA + (<usize>nQ << 2);
  if (kqvLanes(T, hd)) {
    valuesLanes(v + ((<usize>(kvh * hd)) << 2), nKV, kqA, T, lo0, hi0, hd, oA);
    valuesLanes(v + ((<usize>(kvh * hd)) << 2), nKV, kqB, T, lo1, hi1, hd, oB);
    return;
  }
  const sgemm = kqvTiny(T, hd), s0 = lo0 & ~15, npT = T & ~63;
  const tile = sgemm
    ? s0 == (lo1 & ~15) && (hi0 - s0 + 15) >> 4 == (hi1 - s0 + 15) >> 4
    : (lo0 & ~63) == (lo1 & ~63) && sameSteps(lo0 & ~63, min(npT, hi0), min(npT, hi1));
  let d = 0;
  if (tile) {
    const vh = vt + ((<usize>(kvh * hd) * <usize>T) << 2), vs = <usize>T << 2;
    if (sgemm) {
      for (; d + 3 < hd; d += 4) {
        sgemm4x2(vh + <usize>d * vs, vs, kqA, kqB, lo0, hi0, fold);
        for (let r = 0; r < 4; r++) {
          store<f32>(oA + (<usize>(d + r) << 2), folded(fold, 2 * r));
          store<f32>(oB + (<usize>(d + r) << 2), folded(fold, 2 * r + 1));
        }
      }
    } else {
      for (; d + 1 < hd; d += 2) {
        const v0 = vh + <usize>d * vs, v1 = v0 + vs, od = <usize>d << 2;
        fold2x2(v0, v1, kqA, kqB, lo0 & ~63, min(npT, hi0), fold);
        store<f32>(oA + od, tailR(folded(fold, 0), v0, kqA, T, lo0, hi0));
        store<f32>(oB + od, tailR(folded(fold, 1), v0, kqB, T, lo1, hi1));
        store<f32>(oA + od, tailR(folded(fold, 2), v1, kqA, T, lo0, hi0), 4);
        store<f32>(oB + od, tailR(folded(fold, 3), v1, kqB, T, lo1, hi1), 4);
      }
    }
  }
  values(vt, T, hd, oA, kqA, kvh, lo0, hi0, d);
  values(vt, T, hd, oB, kqB, kvh, lo1, hi1, d);
}

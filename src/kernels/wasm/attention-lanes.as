// AssemblyScript, both modules: the attention paths for small heads, shared by attention.as
// (baseline) and attention-relaxed.as. ggml's f32 dot (ggml-order.ts vecDotF32) of n < 64 elements
// has no 64-element step: the whole dot is its tail rule from +0, a rounded product added in order
// for the elements below tail8 (runs of 16 and 8), then fused multiply-adds for the rest, one
// sequential chain per output. Here the four lanes hold four outputs instead of four lanes of one:
// 16 keys for the scores (hd < 64; k transposed once per call, transposeK; 16 keys × 2 queries in
// scoresLanesPair, so that eight chains hide the add's latency) or 8 dims for the
// weighted values (T < 64 off the tinyBLAS order; v read as given), each lane running its own
// output's steps in order, so the bits are the one-output code's. The unfused steps are plain
// f32x4 mul and add; a fused step is f32x4.relaxed_madd in the relaxed module (fused there, or the
// module is not used) and fma.as's exact emulation on f64 lanes in the baseline one.
import { fmaHi, fmaLo, pack4, vecTail8 } from "./fma";

/** fma32(x, q, s) on four lanes. */
// @ts-ignore: decorator
@inline function fused(x: v128, q: v128, s: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, q, s);
  return pack4(fmaLo(f64x2.promote_low_f32x4(s), x, q), fmaHi(f64x2.promote_low_f32x4(i32x4.shuffle(s, s, 2, 3, 0, 1)), x, q));
}

/** T >= 2, T % 16 == 0 and hd % 4 == 0: kqv takes tinyBLAS's 16-lane order (sgemm64 / sgemmR), else ggml_vec_dot_f32's. */
// @ts-ignore: decorator
@inline export function kqvTiny(T: i32, hd: i32): bool {
  return T >= 2 && (T & 15) == 0 && (hd & 3) == 0;
}

/** kqv by valuesLanes: ggml_vec_dot_f32's path with no 64-element step (T < 64), dims in groups of 8. */
// @ts-ignore: decorator
@inline export function kqvLanes(T: i32, hd: i32): bool {
  return !kqvTiny(T, hd) && T < 64 && (hd & 7) == 0;
}

/** Key row j of k (T, nHeadKv·hd) into kt (nHeadKv, hd, Tp): column j of every kv head's (hd, Tp) block. */
export function transposeK(k: usize, kt: usize, j: i32, Tp: i32, nHeadKv: i32, hd: i32): void {
  const nKV = nHeadKv * hd;
  for (let h = 0; h < nHeadKv; h++) {
    const ks = k + ((<usize>(j * nKV + h * hd)) << 2);
    const kd = kt + ((<usize>(h * hd) * <usize>Tp + <usize>j) << 2);
    for (let d = 0; d < hd; d++) store<f32>(kd + ((<usize>d * <usize>Tp) << 2), load<f32>(ks + (<usize>d << 2)));
  }
}

/**
 * 16 outputs side by side, one per lane, as the tail rule from +0: step e in [e0, e1) reads the 16
 * f32 at base + e·rs and multiplies them by vec[e]; a rounded product added for e < tail8, fused
 * after. Four independent chains (one chain's adds wait on each other). To dst[0 .. 16).
 */
// @ts-ignore: decorator
@inline function lanes16(base: usize, rs: usize, vec: usize, e0: i32, e1: i32, tail8: i32, dst: usize): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  for (let e = e0; e < min(tail8, e1); e++) {
    const x = base + <usize>e * rs, q = v128.load32_splat(vec + (<usize>e << 2));
    s0 = f32x4.add(s0, f32x4.mul(v128.load(x), q)); s1 = f32x4.add(s1, f32x4.mul(v128.load(x, 16), q));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(x, 32), q)); s3 = f32x4.add(s3, f32x4.mul(v128.load(x, 48), q));
  }
  for (let e = max(tail8, e0); e < e1; e++) {
    const x = base + <usize>e * rs, q = v128.load32_splat(vec + (<usize>e << 2));
    s0 = fused(v128.load(x), q, s0); s1 = fused(v128.load(x, 16), q, s1);
    s2 = fused(v128.load(x, 32), q, s2); s3 = fused(v128.load(x, 48), q, s3);
  }
  v128.store(dst, s0); v128.store(dst, s1, 16); v128.store(dst, s2, 32); v128.store(dst, s3, 48);
}

/** lanes16 for 8 outputs (two chains). */
// @ts-ignore: decorator
@inline function lanes8(base: usize, rs: usize, vec: usize, e0: i32, e1: i32, tail8: i32, dst: usize): void {
  let s0 = f32x4.splat(0), s1 = s0;
  for (let e = e0; e < min(tail8, e1); e++) {
    const x = base + <usize>e * rs, q = v128.load32_splat(vec + (<usize>e << 2));
    s0 = f32x4.add(s0, f32x4.mul(v128.load(x), q));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(x, 16), q));
  }
  for (let e = max(tail8, e0); e < e1; e++) {
    const x = base + <usize>e * rs, q = v128.load32_splat(vec + (<usize>e << 2));
    s0 = fused(v128.load(x), q, s0);
    s1 = fused(v128.load(x, 16), q, s1);
  }
  v128.store(dst, s0); v128.store(dst, s1, 16);
}

/**
 * Scores of query row y against keys [j0, j1) for hd < 64, where vecDotR has no 64-element step
 * and the whole dot is its tail rule from +0 (lanes16 / lanes8 over the hd elements). One key per
 * lane (kt: the kv head's (hd, Tp) keys transposed), so every lane runs one key's steps in
 * vecDotR's order; 16 keys per pass, the last 8 alone. Writes kq[j] for j from j0 & ~7 up to j1
 * rounded up to 8 (kq holds Tp entries; the caller masks what lies outside).
 */
export function scoresLanes(kt: usize, Tp: i32, y: usize, hd: i32, j0: i32, j1: i32, kq: usize): void {
  const tail8 = vecTail8(hd); // hd < 64: no 64-element step
  const rs = <usize>Tp << 2;
  let j = j0 & ~7;
  for (; j + 8 < j1; j += 16) lanes16(kt + (<usize>j << 2), rs, y, 0, hd, tail8, kq + (<usize>j << 2)); // >= 9 keys left: j + 16 <= Tp
  if (j < j1) lanes8(kt + (<usize>j << 2), rs, y, 0, hd, tail8, kq + (<usize>j << 2));
}

/**
 * scoresLanes for two queries y0, y1 over the same keys [j0, j1) at once: 16 keys × 2 queries per
 * pass (eight chains, each key load feeding both queries), the last 8 keys per query alone; to kq0, kq1.
 */
export function scoresLanesPair(kt: usize, Tp: i32, y0: usize, y1: usize, hd: i32, j0: i32, j1: i32, kq0: usize, kq1: usize): void {
  const tail8 = vecTail8(hd);
  const rs = <usize>Tp << 2;
  let j = j0 & ~7;
  for (; j + 8 < j1; j += 16) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    let p = kt + (<usize>j << 2);
    for (let e = 0; e < hd; e++, p += rs) {
      const q = v128.load32_splat(y0 + (<usize>e << 2)), r = v128.load32_splat(y1 + (<usize>e << 2));
      const k0 = v128.load(p), k1 = v128.load(p, 16), k2 = v128.load(p, 32), k3 = v128.load(p, 48);
      if (e < tail8) {
        a0 = f32x4.add(a0, f32x4.mul(k0, q)); a1 = f32x4.add(a1, f32x4.mul(k1, q));
        a2 = f32x4.add(a2, f32x4.mul(k2, q)); a3 = f32x4.add(a3, f32x4.mul(k3, q));
        b0 = f32x4.add(b0, f32x4.mul(k0, r)); b1 = f32x4.add(b1, f32x4.mul(k1, r));
        b2 = f32x4.add(b2, f32x4.mul(k2, r)); b3 = f32x4.add(b3, f32x4.mul(k3, r));
      } else {
        a0 = fused(k0, q, a0); a1 = fused(k1, q, a1); a2 = fused(k2, q, a2); a3 = fused(k3, q, a3);
        b0 = fused(k0, r, b0); b1 = fused(k1, r, b1); b2 = fused(k2, r, b2); b3 = fused(k3, r, b3);
      }
    }
    const o0 = kq0 + (<usize>j << 2), o1 = kq1 + (<usize>j << 2);
    v128.store(o0, a0); v128.store(o0, a1, 16); v128.store(o0, a2, 32); v128.store(o0, a3, 48);
    v128.store(o1, b0); v128.store(o1, b1, 16); v128.store(o1, b2, 32); v128.store(o1, b3, 48);
  }
  if (j < j1) {
    lanes8(kt + (<usize>j << 2), rs, y0, 0, hd, tail8, kq0 + (<usize>j << 2));
    lanes8(kt + (<usize>j << 2), rs, y1, 0, hd, tail8, kq1 + (<usize>j << 2));
  }
}

/**
 * Outputs oi[0 .. hd) of one query for T < 64 on the vecDotR path (no 64-element step: the tail
 * rule over keys [lo, hi) from +0: lanes16, then lanes8), sixteen (then eight) dims per pass, one
 * per lane: vh = the kv head's v as given (T rows of nKV), whose row e holds dims d .. d + 15 side
 * by side. hd % 8 == 0.
 */
export function valuesLanes(vh: usize, nKV: i32, p: usize, T: i32, lo: i32, hi: i32, hd: i32, oi: usize): void {
  const tail8 = vecTail8(T); // T < 64: no 64-element step
  const rs = <usize>nKV << 2;
  let d = 0;
  for (; d + 16 <= hd; d += 16) lanes16(vh + (<usize>d << 2), rs, p, lo, hi, tail8, oi + (<usize>d << 2));
  for (; d < hd; d += 8) lanes8(vh + (<usize>d << 2), rs, p, lo, hi, tail8, oi + (<usize>d << 2));
}

/** kq[0 .. T) of one query from scoresLanes: its keys [lo, hi) computed, the others -inf. */
export function scoresLanesRow(kt: usize, Tp: i32, y: usize, hd: i32, T: i32, lo: i32, hi: i32, kq: usize): void {
  scoresLanes(kt, Tp, y, hd, lo, hi, kq);
  maskScores(kq, T, lo, hi);
}

/** kq[j] = -inf for the keys outside the query's window [lo, hi) of 0 .. T. */
export function maskScores(kq: usize, T: i32, lo: i32, hi: i32): void {
  for (let j = 0; j < lo; j++) store<f32>(kq + (<usize>j << 2), -Infinity);
  for (let j = hi; j < T; j++) store<f32>(kq + (<usize>j << 2), -Infinity);
}

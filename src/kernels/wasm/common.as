// AssemblyScript (compiled by scripts/build-wasm.ts; not part of the tsc build).
// Shared helpers for every kernel family: exact fp16 widening, integer reductions, the 2x2 tile
// bookkeeping and the generic tile driver. The float numerics live in fma.as.

/** Prepared activation layouts (quantize.as): bytes per 32-element A8 block (from Q8_0 / Q8_1) and
 *  per 256-element AK super-block (from Q8_K). Mirrored by wasm-plan.ts (checked by a test). */
export const A8_BYTES: usize = 112;
export const AK_BYTES: usize = 576;

/** fp16 bits -> f32, exact. (h & 0x7fff) << 13 read as f32 is the value / 2^112 for normals and
 *  subnormals alike (an f16 subnormal becomes an f32 subnormal), so one multiply by 2^112 (exact)
 *  rescales; exponent 31 (inf/NaN) is rebuilt with an all-ones f32 exponent. Sign is bit 15. */
// @ts-ignore: decorator
@inline export function f16(h: u32): f32 {
  const m = (h & 0x7fff) << 13;
  let v = reinterpret<f32>(m) * reinterpret<f32>(0x77800000); // 2^112
  v = select<f32>(reinterpret<f32>(m | 0x7f800000), v, (h & 0x7c00) == 0x7c00);
  return reinterpret<f32>(reinterpret<u32>(v) | ((h & 0x8000) << 16));
}

/**
 * Scale span of a set of block scales for the exact fast lanes tiles (lanes.as): given the running
 * Σ|d| (or max |d|) of nonzero finite scales and the least 2-adic valuation among them (v2f32),
 * returns that magnitude / 2^minV2 (0 for no nonzero scale; +inf for an inf/NaN scale).
 */
// @ts-ignore: decorator
@inline export function span(mag: f64, minV2: i32): f64 {
  return mag == 0 ? 0 : mag * reinterpret<f64>(<u64>(1023 - minV2) << 52);
}

/** 2-adic valuation of a nonzero finite f32 given its bits without the sign: x = odd · 2^v2. */
// @ts-ignore: decorator
@inline export function v2f32(u: u32): i32 {
  const e = u >>> 23;
  return (e != 0 ? <i32>e : 1) - 150 + <i32>ctz(e != 0 ? (u & 0x7fffff) | 0x800000 : u);
}

/**
 * Σ|d| / 2^min v2(d) over the nb A8 block scales of one prepared activation row at a (blocks of
 * A8_BYTES, d at byte 64): the token's factor of the lanes fast path's exactness bound (lanes.as).
 */
export function a8Span(a: usize, nb: i32): f64 {
  let s: f64 = 0, g: i32 = 1 << 20;
  for (let b = 0; b < nb; b++, a += A8_BYTES) {
    const u = reinterpret<u32>(load<f32>(a, 64)) & 0x7fffffff;
    if (u == 0) continue;
    if (u >= 0x7f800000) return Infinity;
    s += <f64>reinterpret<f32>(u);
    g = min(g, v2f32(u));
  }
  return span(s, g);
}

/** max|dw| / 2^min v2(dw) over the nb block scales (f32) at sc: the weight row's span. */
// @ts-ignore: decorator
@inline export function rowSpan(sc: usize, nb: i32): f64 {
  let m: f32 = 0, g: i32 = 1 << 20;
  for (let b = 0; b < nb; b++, sc += 4) {
    const u = reinterpret<u32>(load<f32>(sc)) & 0x7fffffff;
    if (u == 0) continue;
    if (u >= 0x7f800000) return Infinity;
    m = max(m, reinterpret<f32>(u));
    g = min(g, v2f32(u));
  }
  return span(<f64>m, g);
}

/** Same as f16() on four i32 lanes each holding a u16 pattern; returns f32x4. */
// @ts-ignore: decorator
@inline export function f16x4(h: v128): v128 {
  const m = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const v = f32x4.mul(m, f32x4.splat(reinterpret<f32>(0x77800000)));
  const inf = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  const r = v128.bitselect(v128.or(m, i32x4.splat(0x7f800000)), v, inf);
  return v128.or(r, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** 4x4 transpose-add: returns [Σa, Σb, Σc, Σd] (i32 lanes). */
// @ts-ignore: decorator
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

// Two tile shapes: 1 weight row × 4 tokens (drive1x4: the chain kernels) and 2 × 2 (drive2x2:
// the lanes and float kernels, whose many accumulators per output leave no registers for more).
// A 2x2 tile computes outputs (row A, token A) (row A, token B) (row B, token A) (row B, token B),
// always in that lane order.

/** Output of a 2x2 tile (f64x2 lanes holding f32 values). Tile state lives in these module
 *  globals between a kernel's tile() and the driver's store (functions return one value). */
export let accA: v128 = f64x2.splat(0); // (row A, token A), (row A, token B)
export let accB: v128 = f64x2.splat(0); // (row B, token A), (row B, token B)

/**
 * Generic driver. out (nTok, ne1) f32 row-major; rows [r0, r1) of the weight at w (wStride bytes
 * per row); prepared activation rows at a (aStride bytes per token). Token chunks of 64 keep the
 * activation working set in L2 while each pair of weight rows stays in L1. An odd last row or
 * token is computed as a duplicate pair and stored once. Every output's value depends only on
 * its own row and token, so neither the tiling nor the thread split changes any bit.
 */
// @ts-ignore: decorator
@inline export function drive2x2<K>(w: usize, wStride: usize, r0: i32, r1: i32, a: usize, aStride: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void {
  const k = changetype<K>(0);
  for (let tc = 0; tc < nTok; tc += 64) {
    const tEnd = min(nTok, tc + 64);
    for (let r = r0; r < r1; r += 2) {
      const wA = w + <usize>r * wStride;
      const hasB = r + 1 < r1;
      const wB = hasB ? wA + wStride : wA;
      for (let t = tc; t < tEnd; t += 2) {
        const aA = a + <usize>t * aStride;
        const hasTB = t + 1 < tEnd;
        const aB = hasTB ? aA + aStride : aA;
        k.tile(wA, wB, aA, aB, nb);
        const o = out + ((<usize>t * <usize>ne1 + <usize>r) << 2);
        const oT = o + (<usize>ne1 << 2);
        store<f32>(o, <f32>f64x2.extract_lane(accA, 0));
        if (hasTB) store<f32>(oT, <f32>f64x2.extract_lane(accA, 1));
        if (hasB) {
          store<f32>(o + 4, <f32>f64x2.extract_lane(accB, 0));
          if (hasTB) store<f32>(oT + 4, <f32>f64x2.extract_lane(accB, 1));
        }
      }
    }
  }
}

/**
 * Driver of 1 weight row × 4 token tiles: K.rowPrep(w, nb, scr) once per weight row (the legacy
 * types decode the row's fp16 block scales into scr, this thread's scratch), then
 * K.tile4(w, a0, a1, a2, a3, sdCol, tP, nb, scr) returns each tile's 4 outputs as f32x4; a last
 * group of 1 or 2 tokens goes to K.tile2(w, a0, a1, …) (lanes 0, 1; the same per-output steps). out (nTok, ne1) f32; rows [r0, r1) of the weight at w (wStride
 * bytes per row); prepared activation rows at a (aStride bytes per token); sd / tP: the A8
 * scale table (quantize.as; unused by the K-quants). Token chunks of 64 keep the activations in
 * L2 while a weight row stays in L1; missing tokens of a last group of 4 are computed as
 * duplicates of its first and not stored. Every output depends only on its own row and token,
 * so neither the tiling nor the thread split changes any bit.
 */
// @ts-ignore: decorator
@inline export function drive1x4<K>(w: usize, wStride: usize, r0: i32, r1: i32, a: usize, aStride: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize): void {
  const k = changetype<K>(0);
  const st = <usize>ne1 << 2;
  for (let tc = 0; tc < nTok; tc += 64) {
    const tEnd = min(nTok, tc + 64);
    for (let r = r0; r < r1; r++) {
      const wr = w + <usize>r * wStride;
      k.rowPrep(wr, nb, scr);
      for (let t = tc; t < tEnd; t += 4) {
        const n = min(4, tEnd - t);
        const a0 = a + <usize>t * aStride;
        const a1 = n > 1 ? a0 + aStride : a0, a2 = n > 2 ? a1 + aStride : a0, a3 = n > 3 ? a2 + aStride : a0;
        const v = n <= 2 ? k.tile2(wr, a0, a1, sd + (<usize>t << 2), tP, nb, scr) : k.tile4(wr, a0, a1, a2, a3, sd + (<usize>t << 2), tP, nb, scr);
        const o = out + ((<usize>t * <usize>ne1 + <usize>r) << 2);
        store<f32>(o, f32x4.extract_lane(v, 0));
        if (n > 1) store<f32>(o + st, f32x4.extract_lane(v, 1));
        if (n > 2) store<f32>(o + 2 * st, f32x4.extract_lane(v, 2));
        if (n > 3) store<f32>(o + 3 * st, f32x4.extract_lane(v, 3));
      }
    }
  }
}

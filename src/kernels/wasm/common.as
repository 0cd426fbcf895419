// AssemblyScript (compiled by scripts/build-wasm.ts; not part of the tsc build).
// Shared helpers for every kernel family: exact fp16 widening, 2x2 tile bookkeeping, and the
// generic tile driver. The numerics contract is src/kernels/vec-dot.ts's header: per block an
// exact integer isum, acc (f64) += f64(f32(dw*da)) * isum in block order, result f32(acc).

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

/** Horizontal i32 sum of one vector. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): i32 {
  v = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  v = i32x4.add(v, i32x4.shuffle(v, v, 1, 0, 3, 2));
  return i32x4.extract_lane(v, 0);
}

// A 2x2 tile computes outputs (row A, token A) (row A, token B) (row B, token A) (row B, token B),
// always in that lane order. Per block the four f32 scale products are one f32x4.mul (each lane
// rounded once, like fround(dw*da)) and the f64 accumulation stays per lane, in block order.

/** [dwA*daA, dwA*daB, dwB*daA, dwB*daB] as f32x4. */
// @ts-ignore: decorator
@inline export function scales2x2(dwA: f32, dwB: f32, daA: f32, daB: f32): v128 {
  const w = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(dwA), 2, dwB), 3, dwB);
  const a = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(daA), 1, daB), 3, daB);
  return f32x4.mul(w, a);
}

/** acc (row A lanes) + f64(d) * f64(is) for lanes 0, 1. */
// @ts-ignore: decorator
@inline export function madLo(acc: v128, d: v128, is: v128): v128 {
  return f64x2.add(acc, f64x2.mul(f64x2.promote_low_f32x4(d), f64x2.convert_low_i32x4_s(is)));
}

/** acc (row B lanes) + f64(d) * f64(is) for lanes 2, 3. */
// @ts-ignore: decorator
@inline export function madHi(acc: v128, d: v128, is: v128): v128 {
  return f64x2.add(acc, f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(d, d, 2, 3, 0, 1)), f64x2.convert_low_i32x4_s(i32x4.shuffle(is, is, 2, 3, 0, 1))));
}

/** Same with a subtraction (the -dmin*msum term of Q2_K/Q4_K/Q5_K). */
// @ts-ignore: decorator
@inline export function msbLo(acc: v128, d: v128, is: v128): v128 {
  return f64x2.sub(acc, f64x2.mul(f64x2.promote_low_f32x4(d), f64x2.convert_low_i32x4_s(is)));
}
// @ts-ignore: decorator
@inline export function msbHi(acc: v128, d: v128, is: v128): v128 {
  return f64x2.sub(acc, f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(d, d, 2, 3, 0, 1)), f64x2.convert_low_i32x4_s(i32x4.shuffle(is, is, 2, 3, 0, 1))));
}

/** Plain f32 additions for the Q4_1/Q5_1 min term (acc += f32(mw*s)): lanes as scales2x2. */
// @ts-ignore: decorator
@inline export function addLo(acc: v128, m: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(m));
}
// @ts-ignore: decorator
@inline export function addHi(acc: v128, m: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(i32x4.shuffle(m, m, 2, 3, 0, 1)));
}

/** Output of a 2x2 tile. Tile state lives in these module globals between a kernel's tile()
 *  and the driver's store (AssemblyScript functions return one value). */
export let accA: v128 = f64x2.splat(0); // (row A, token A), (row A, token B)
export let accB: v128 = f64x2.splat(0); // (row B, token A), (row B, token B)

/**
 * Generic driver. out (nTok, ne1) f32 row-major; rows [r0, r1) of the weight at w (wStride bytes
 * per row); prepared activation rows at a (aStride bytes per token). Token chunks of 64 keep the
 * activation working set in L2 while each pair of weight rows stays in L1. An odd last row or
 * token is computed as a duplicate pair and stored once.
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
